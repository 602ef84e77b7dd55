// float32 forward and derivative against a long-double reference on a dense grid over [-50, 50]
// plus special values (+-0, tiny, huge, +-inf, NaN). Errors are in float ulps of the reference
// (the ulp of the smallest normal float below it). The measured worst errors are in
// docs/ACTIVATIONS.md; the bounds here are a little above them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <functional>
#include <limits>

#include "actlab/activations/activation.h"
#include "actlab/activations/functional.h"

namespace actlab {
namespace {

using L = long double;
using Ref = std::function<L(L)>;

// Where f or f' is a sum whose terms cancel (near a zero of f'), error is measured relative to
// the size of the terms (`f_scale`, `df_scale`) rather than to the tiny result.
struct Case {
  std::string spec;
  Ref f, df;
  double forward_ulps, derivative_ulps;
  Ref f_scale = nullptr, df_scale = nullptr;
};

L sigmoid(L x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }
L softplus(L x) { return (x > 0 ? x : 0) + std::log1p(std::exp(-std::fabs(x))); }
L phi(L x) { return std::exp(-x * x / 2) / std::sqrt(2 * 3.14159265358979323846264338327950288L); }
L cdf(L x) { return std::erfc(-x / std::sqrt(2.0L)) / 2; }
L finite_times(L x, L f) { return f == 0 ? 0 : x * f; }
const L kSelu = 1.6732632423543772848170429916717L, kScale = 1.0507009873554804934193349852946L;
const L kK = 0.79788456080286535587989211986876L, kC = 0.044715L;
const L kPade[10] = {0.0380201644L, 0.906490488L, 3.16384406L, 3.83883820L, 1.79431694L,
                     0.291027975L,  3.97394499L,  1.95954933L, 2.98213965L, 0.0664747733L};
L pade_p(L x) { L p = 0; for (int j = 5; j >= 0; --j) p = p * x + kPade[j]; return p; }
L pade_s(L x) { L s = 0; for (int k = 9; k >= 6; --k) s = s * x + kPade[k]; return s * x; }
L pade_dp(L x) { L p = 0; for (int j = 5; j >= 1; --j) p = p * x + j * kPade[j]; return p; }
// The size of the terms of P, S and their derivatives: rounding errors scale with these.
L pade_scale(L x, bool derivative) {
  L p = 0, s = 0, dp = 0, ds = 0;
  for (int j = 0; j <= 5; ++j) p += std::fabs(kPade[j] * std::pow(x, j));
  for (int j = 1; j <= 5; ++j) dp += std::fabs(j * kPade[j] * std::pow(x, j - 1));
  for (int k = 1; k <= 4; ++k) s += std::fabs(kPade[5 + k] * std::pow(x, k));
  for (int k = 1; k <= 4; ++k) ds += std::fabs(k * kPade[5 + k] * std::pow(x, k - 1));
  const L q = 1 + std::fabs(pade_s(x)), f = std::fabs(pade_p(x)) / q;
  return derivative ? (dp + f * ds + (p + f * s) / q * ds + (dp + f * ds) / q * s) / q : (p + f * s) / q;
}
L pade_ds(L x) { L s = 0; for (int k = 9; k >= 6; --k) s = s * x + (k - 5) * kPade[k]; return s; }

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"identity", [](L x) { return x; }, [](L) { return 1.0L; }, 0, 0},
      {"sigmoid", sigmoid, [](L x) { return sigmoid(x) * sigmoid(-x); }, 3, 4},
      {"tanh", [](L x) { return std::tanh(x); }, [](L x) { L c = std::cosh(x); return std::isinf(c) ? 0 : 1 / (c * c); }, 3, 5},
      {"relu", [](L x) { return x > 0 ? x : 0; }, [](L x) { return x > 0 ? 1.0L : 0.0L; }, 0, 0},
      {"leaky_relu:0.1", [](L x) { return x > 0 ? x : 0.1L * x; }, [](L x) { return x > 0 ? 1.0L : 0.1L; }, 1, 1},
      {"elu", [](L x) { return x > 0 ? x : std::expm1(x); }, [](L x) { return x > 0 ? 1 : std::exp(x); }, 2, 2},
      {"selu", [](L x) { return kScale * (x > 0 ? x : kSelu * std::expm1(x)); },
       [](L x) { return x > 0 ? kScale : kScale * kSelu * std::exp(x); }, 3, 3},
      {"celu:0.5", [](L x) { return x > 0 ? x : 0.5L * std::expm1(x / 0.5L); },
       [](L x) { return x > 0 ? 1 : std::exp(x / 0.5L); }, 2, 2},
      {"gelu", [](L x) { return finite_times(x, cdf(x)); }, [](L x) { return cdf(x) + finite_times(x, phi(x)); }, 96, 96,
       nullptr, [](L x) { return cdf(x) + std::fabs(x) * phi(x); }},
      {"gelu_tanh", [](L x) { return finite_times(x, sigmoid(2 * kK * (x + kC * x * x * x))); },
       [](L x) {
         const L u2 = 2 * kK * (x + kC * x * x * x);
         return sigmoid(u2) + finite_times(2 * kK * x * (1 + 3 * kC * x * x), sigmoid(u2) * sigmoid(-u2));
       }, 256, 256, nullptr, [](L x) {
         const L u2 = 2 * kK * (x + kC * x * x * x);
         return sigmoid(u2) + std::fabs(2 * kK * x * (1 + 3 * kC * x * x)) * sigmoid(u2) * sigmoid(-u2);
       }},
      {"silu", [](L x) { return finite_times(x, sigmoid(x)); },
       [](L x) { return sigmoid(x) + finite_times(x, sigmoid(x) * sigmoid(-x)); }, 3, 5, nullptr,
       [](L x) { return sigmoid(x) + std::fabs(x) * sigmoid(x) * sigmoid(-x); }},
      {"mish", [](L x) { return finite_times(x, std::tanh(softplus(x))); },
       [](L x) {
         const L t = std::tanh(softplus(x)), c = std::cosh(softplus(x));
         return t + (std::isinf(c) ? 0 : finite_times(x, sigmoid(x) / (c * c)));
       }, 4, 6, nullptr, [](L x) {
         const L c = std::cosh(softplus(x));
         return std::tanh(softplus(x)) + (std::isinf(c) ? 0 : std::fabs(x) * sigmoid(x) / (c * c));
       }},
      {"softplus", softplus, sigmoid, 3, 3},
      {"softplus:beta=2,threshold=10", [](L x) { return 2 * x > 10 ? x : softplus(2 * x) / 2; },
       [](L x) { return 2 * x > 10 ? 1 : sigmoid(2 * x); }, 3, 3},
      {"softsign", [](L x) { return std::isinf(x) ? std::copysign(1.0L, x) : x / (1 + std::fabs(x)); },
       [](L x) { return 1 / ((1 + std::fabs(x)) * (1 + std::fabs(x))); }, 2, 4},
      {"hardtanh", [](L x) { return std::min(1.0L, std::max(-1.0L, x)); },
       [](L x) { return x > -1 && x < 1 ? 1.0L : 0.0L; }, 0, 0},
      {"relu6", [](L x) { return std::min(6.0L, std::max(0.0L, x)); }, [](L x) { return x > 0 && x < 6 ? 1.0L : 0.0L; }, 0, 0},
      {"hardsigmoid", [](L x) { return std::min(1.0L, std::max(0.0L, x / 6 + 0.5L)); },
       [](L x) { return x > -3 && x < 3 ? 1.0L / 6 : 0.0L; }, 2, 1},
      {"hardswish", [](L x) { return x <= -3 ? 0 : x >= 3 ? x : x * (x + 3) / 6; },
       [](L x) { return x < -3 ? 0 : x > 3 ? 1 : x / 3 + 0.5L; }, 3, 3},
      {"logsigmoid", [](L x) { return -softplus(-x); }, [](L x) { return sigmoid(-x); }, 3, 3},
      {"rrelu", [](L x) { return x >= 0 ? x : x * (1.0L / 8 + 1.0L / 3) / 2; },
       [](L x) { return x > 0 ? 1 : (1.0L / 8 + 1.0L / 3) / 2; }, 1, 1},
      {"prelu", [](L x) { return x >= 0 ? x : 0.25L * x; }, [](L x) { return x >= 0 ? 1 : 0.25L; }, 0.5, 0},
      {"learnable_swish", [](L x) { return finite_times(x, sigmoid(x)); },
       [](L x) { return sigmoid(x) + finite_times(x, sigmoid(x) * sigmoid(-x)); }, 3, 5, nullptr,
       [](L x) { return sigmoid(x) + std::fabs(x) * sigmoid(x) * sigmoid(-x); }},
      {"rational", [](L x) { return pade_p(x) / (1 + std::fabs(pade_s(x))); },
       [](L x) {
         const L q = 1 + std::fabs(pade_s(x)), sign = pade_s(x) < 0 ? -1 : 1;
         return (pade_dp(x) - pade_p(x) / q * sign * pade_ds(x)) / q;
       }, 4, 4,
       [](L x) { return pade_scale(x, false); }, [](L x) { return pade_scale(x, true); }},
  };
  return all;
}

// Distance in float ulps of max(|r|, scale); below the smallest normal float, in ulps of FLT_MIN.
double ulps(float a, L r, L scale = 0) {
  if (std::isnan(r)) return std::isnan(a) ? 0 : INFINITY;
  const L rf = static_cast<float>(r);  // references beyond FLT_MAX round to +-inf
  if (std::isinf(rf) || std::isinf(a)) return a == rf ? 0 : INFINITY;
  const L magnitude = std::max({std::fabs(r), scale, static_cast<L>(FLT_MIN)});
  const L ulp = std::ldexp(1.0L, std::ilogb(magnitude) - 23);
  return static_cast<double>(std::fabs(static_cast<L>(a) - r) / ulp);
}

std::vector<float> grid() {
  std::vector<float> x;
  const int n = 100000;
  for (int i = 0; i <= n; ++i) x.push_back(static_cast<float>(-50.0L + 100.0L * i / n));
  for (float v : {0.0f, 1e-30f, 1e-45f, 1e-7f, 1e30f, 3e38f, std::numeric_limits<float>::infinity()}) {
    x.push_back(v);
    x.push_back(-v);
  }
  x.push_back(std::numeric_limits<float>::quiet_NaN());
  return x;
}

class Numerics : public testing::TestWithParam<Case> {};

TEST_P(Numerics, MatchesLongDoubleReference) {
  const Case& c = GetParam();
  const bool rational = c.spec == "rational";  // x^5 overflows float beyond |x| ~ 1e7
  std::vector<float> xs = grid();
  if (rational) std::erase_if(xs, [](float v) { return std::fabs(v) > 1e7f; });
  auto act = make_activation(c.spec);
  act->set_training(false);
  Tensor x = from_vector(xs).requires_grad_();
  Tensor y = act->forward(x);
  y.backward(ones_like(y));
  const std::vector<float> value = y.to_vector<float>(), derivative = x.grad().to_vector<float>();
  double worst_f = 0, worst_d = 0;
  float at_f = 0, at_d = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    // +-inf is checked against the limit: the reference at a huge long double.
    const L xl = std::isinf(xs[i]) ? std::copysign(1e4000L, xs[i]) : static_cast<L>(xs[i]);
    const bool finite = std::isfinite(xs[i]);
    const L f_scale = c.f_scale && finite ? c.f_scale(xl) : 0, df_scale = c.df_scale && finite ? c.df_scale(xl) : 0;
    const double ef = ulps(value[i], c.f(xl), f_scale);
    // The gradient at NaN is NaN, except through identity, which passes the gradient unchanged.
    const double ed = std::isnan(xs[i]) && c.spec != "identity" ? (std::isnan(derivative[i]) ? 0 : INFINITY)
                                                                 : ulps(derivative[i], c.df(xl), df_scale);
    if (ef > worst_f) worst_f = ef, at_f = xs[i];
    if (ed > worst_d) worst_d = ed, at_d = xs[i];
  }
  std::printf("[numerics] %-30s forward %8.2f ulp (x=%g)  derivative %8.2f ulp (x=%g)\n", c.spec.c_str(), worst_f,
              static_cast<double>(at_f), worst_d, static_cast<double>(at_d));
  EXPECT_LE(worst_f, c.forward_ulps) << c.spec << " forward at x=" << at_f;
  EXPECT_LE(worst_d, c.derivative_ulps) << c.spec << " derivative at x=" << at_d;
}

INSTANTIATE_TEST_SUITE_P(Activations, Numerics, testing::ValuesIn(cases()), [](const auto& info) {
  std::string name = info.param.spec;
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
});

// Rows of logits spanning +-1e4; two tied maxima; one maximum beside a rest of e^-39, whose
// log-probability -log1p(rest) must keep its relative precision; a rest larger than the
// maximum's share.
TEST(Numerics, SoftmaxExactForLogitsSpanningTenThousand) {
  const std::vector<float> logits{-1e4f, -5000.5f, 0.0f,   3.25f, 9999.0f, 1e4f,  -1e4f, 9998.5f, 5.0f,  5.0f, -30.0f,
                                  -40.0f, 40.0f,   -50.0f, 1.0f,  0.0f,    -0.1f, -0.2f, -0.3f,   0.0f};
  const int rows = static_cast<int>(logits.size()) / 4;
  for (bool log : {false, true}) {
    const Tensor x = from_vector(logits).reshape({rows, 4});
    const std::vector<float> y = (log ? log_softmax(x, 1) : softmax(x, 1)).to_vector<float>();
    for (int row = 0; row < rows; ++row) {
      // The reference sums the maxima (ties) apart too: log(1 + e^-39) would round in long double.
      L max = -INFINITY, ties = 0, rest = 0;
      for (int j = 0; j < 4; ++j) max = std::max<L>(max, logits[row * 4 + j]);
      for (int j = 0; j < 4; ++j) {
        const L z = static_cast<L>(logits[row * 4 + j]) - max;
        (z == 0 ? ties : rest) += std::exp(z);
      }
      const L log_sum = std::log(ties) + std::log1p(rest / ties);
      for (int j = 0; j < 4; ++j) {
        const L z = static_cast<L>(logits[row * 4 + j]) - max;
        const L expected = log ? z - log_sum : std::exp(z) / (ties + rest);
        EXPECT_LE(ulps(y[row * 4 + j], expected), 4) << (log ? "log_softmax" : "softmax") << " at " << row << "," << j;
      }
    }
  }
}

// Each row's max and sum are its own although a row's pass also reads the next row: thousands of
// ragged rows (several parallel chunks), each offset far from its neighbours, with rows of all
// -inf, of +inf and of NaN among them. Every row equals that row computed alone, and the finite
// rows are within 4 ulp of a long double reference (log_softmax: of log(sum) where that is larger).
TEST(Numerics, SoftmaxRowsAreIndependentOfTheirNeighbours) {
  const int rows = 3000, n = 37;
  std::vector<float> logits(static_cast<std::size_t>(rows * n));
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < n; ++j)
      logits[static_cast<std::size_t>(r * n + j)] = static_cast<float>((r % 7) * 3000 - 9000) + static_cast<float>((r * 31 + j * 17) % 23) * 0.37f;
  for (int j = 0; j < n; ++j) logits[static_cast<std::size_t>(100 * n + j)] = -INFINITY;
  logits[static_cast<std::size_t>(101 * n + 5)] = INFINITY;
  logits[static_cast<std::size_t>(102 * n + 36)] = NAN;
  const Tensor x = from_vector(logits).reshape({rows, n});
  for (bool log : {false, true}) {
    auto apply = [log](const Tensor& t) { return log ? log_softmax(t, 1) : softmax(t, 1); };
    const std::vector<float> y = apply(x).to_vector<float>();
    for (int r = 0; r < rows; ++r) {
      const std::vector<float> alone = apply(x.narrow(0, r, 1).contiguous()).to_vector<float>();
      const float* row = logits.data() + r * n;
      const bool finite = std::all_of(row, row + n, [](float v) { return std::isfinite(v); });
      // The reference starts from x - max as the kernel forms it, in float: rounding that
      // difference (|x - max| up to 8 here) moves e^(x - max) by up to 4 ulp before any kernel error.
      float max = -INFINITY;
      for (int j = 0; j < n; ++j) max = std::max(max, row[j]);
      L sum = 0;
      for (int j = 0; j < n; ++j) sum += std::exp(static_cast<L>(row[j] - max));
      for (int j = 0; j < n; ++j) {
        const float got = y[static_cast<std::size_t>(r * n + j)];
        ASSERT_TRUE(got == alone[static_cast<std::size_t>(j)] || (std::isnan(got) && std::isnan(alone[static_cast<std::size_t>(j)])))
            << (log ? "log_softmax" : "softmax") << " row " << r << " col " << j << ": " << got << " alone " << alone[static_cast<std::size_t>(j)];
        const L z = static_cast<L>(row[j] - max);
        // log_softmax's (x - max) - log(sum) carries log(sum)'s rounding: in its ulps.
        if (finite) {
          ASSERT_LE(log ? ulps(got, z - std::log(sum), std::log(sum)) : ulps(got, std::exp(z) / sum), 4)
              << (log ? "log_softmax" : "softmax") << " row " << r << " col " << j;
        }
      }
    }
  }
}

TEST(Numerics, SoftmaxPropagatesNaN) {
  const Tensor y = softmax(tensor({1.0, NAN, 2.0}));
  for (float v : y.to_vector<float>()) EXPECT_TRUE(std::isnan(v));
}

}  // namespace
}  // namespace actlab
