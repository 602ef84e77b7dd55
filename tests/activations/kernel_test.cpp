// The vector kernels of every instruction-set level this CPU has agree with the scalar reference
// loop, forward and backward, including the masked tail of a length that is not a multiple of the
// lanes and the threaded path; the vector math of every level stays within its stated accuracy.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "actlab/activations/activation.h"
#include "actlab/activations/pointwise.h"
#include "actlab/activations/simd.h"
#include "actlab/core/cpu.h"
#include "actlab/nn/functional.h"

namespace actlab {
namespace {

struct ForwardBackward {
  std::vector<float> value, grad;
};

ForwardBackward run(ActivationFunction& act, const Tensor& x0, const Tensor& g) {
  Tensor x = x0.detach().requires_grad_();
  Tensor y = act.forward(x);
  y.backward(g);
  return {y.to_vector<float>(), x.grad().to_vector<float>()};
}

class VectorKernel : public testing::TestWithParam<std::tuple<std::string, Isa>> {};

TEST_P(VectorKernel, MatchesScalarReference) {
  const auto& [name, isa] = GetParam();
  const IsaGuard level(isa);
  auto act = make_activation(name);
  act->set_training(false);
  for (std::int64_t n : {std::int64_t{1000003}, std::int64_t{37}}) {
    // Values over [-25, 25] plus random gradients.
    const Tensor x = (arange(0.0, static_cast<double>(n), 1.0) * (50.0 / static_cast<double>(n)) - 25.0).reshape({1, n});
    Generator gen(3);
    const Tensor g = randn({1, n}, gen);
    const ForwardBackward vec = run(*act, x, g);
    ForwardBackward ref;
    {
      ReferenceKernelsGuard reference;
      ref = run(*act, x, g);
    }
    for (std::size_t i = 0; i < vec.value.size(); ++i) {
      ASSERT_NEAR(vec.value[i], ref.value[i], 1e-6 + 4e-6 * std::fabs(ref.value[i])) << name << " at " << i;
      ASSERT_NEAR(vec.grad[i], ref.grad[i], 1e-6 + 4e-6 * std::fabs(ref.grad[i])) << name << " at " << i;
    }
  }
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const ActivationInfo* info : registered_activations()) out.push_back(info->name);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Activations, VectorKernel, testing::Combine(testing::ValuesIn(names()), testing::ValuesIn(available_isas())),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::string(isa_name(std::get<1>(info.param)));
                         });

// The direct Conv2d kernels (forward, input and weight gradients, bias gradient) of every level
// agree with the baseline level's, for padded 3x3 and dilated 5x5 kernels on rows that are not a
// multiple of any vector width.
TEST(ConvKernel, EveryLevelMatchesTheBaseline) {
  Generator gen(5);
  const Tensor x0 = randn({3, 4, 11, 13}, gen), w0 = randn({6, 4, 3, 3}, gen), b0 = randn({6}, gen);
  const Tensor w5 = randn({6, 4, 5, 5}, gen);
  for (const auto& [w_init, params] : {std::pair{w0, nn::functional::Conv2dParams{.padding = {1, 1}}},
                                       std::pair{w5, nn::functional::Conv2dParams{.padding = {2, 3}, .dilation = {1, 2}}}}) {
    std::vector<std::vector<float>> baseline;
    for (const Isa isa : available_isas()) {
      const IsaGuard level(isa);
      Tensor x = x0.detach().requires_grad_(), w = w_init.detach().requires_grad_(), b = b0.detach().requires_grad_();
      const Tensor y = nn::functional::conv2d(x, w, b, params);
      y.backward(full_like(y, 0.5) + y * 0.25);
      const std::vector<std::vector<float>> got = {y.to_vector<float>(), x.grad().to_vector<float>(),
                                                   w.grad().to_vector<float>(), b.grad().to_vector<float>()};
      if (baseline.empty()) baseline = got;
      for (std::size_t t = 0; t < got.size(); ++t)
        for (std::size_t i = 0; i < got[t].size(); ++i)
          ASSERT_NEAR(got[t][i], baseline[t][i], 1e-4 * (1 + std::fabs(baseline[t][i])))
              << isa_name(isa) << " tensor " << t << " at " << i;
    }
  }
}

// Error of the vector math against double libm, in float ulps of the exact result (below
// FLT_MIN, in ulps of FLT_MIN), over dense grids and the special values, at every level this CPU
// has.
float ulp_error(float got, double exact) {
  if (std::isnan(exact)) return std::isnan(got) ? 0.0f : INFINITY;
  if (std::isinf(exact)) return got == static_cast<float>(exact) ? 0.0f : INFINITY;
  const float rounded = static_cast<float>(exact);
  if (std::isinf(rounded)) return got == rounded ? 0.0f : INFINITY;
  const double ulp = std::fabs(rounded) < 1.17549435e-38f ? 1.4e-45 : std::nextafter(std::fabs(rounded), INFINITY) - std::fabs(rounded);
  return static_cast<float>(std::fabs(got - exact) / ulp);
}

// The error of `function` over `points` at every level, against bound(x) ulp (0 at +-inf and NaN).
template <class ExactFn, class BoundFn>
void expect_within_ulp(simd::MathFunction function, const std::vector<float>& points, ExactFn exact_fn, BoundFn bound) {
  for (const Isa isa : available_isas()) {
    const IsaGuard level(isa);
    std::vector<float> out(points.size());
    ACTLAB_ISA_DISPATCH(simd, evaluate(function, static_cast<std::int64_t>(points.size()), out.data(), points.data()));
    float worst_excess = -INFINITY, worst_x = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
      const float allowed = std::isfinite(points[i]) ? bound(points[i]) : 0.0f;
      const float excess = ulp_error(out[i], exact_fn(static_cast<double>(points[i]))) - allowed;
      if (excess > worst_excess || std::isnan(excess)) worst_excess = excess, worst_x = points[i];
    }
    EXPECT_LE(worst_excess, 0.0f) << isa_name(isa) << ": ulp error " << worst_excess << " above the bound at x = " << worst_x;
  }
}
// A broadcast constant is the value itself: -0 stays -0 (0 + x would make it +0).
TEST(VectorMath, BroadcastKeepsTheSignOfZero) {
  float lanes[simd::Vec::kLanes];
  simd::Vec(-0.0f).store(lanes);
  for (const float lane : lanes) EXPECT_TRUE(std::signbit(lane));
}

constexpr auto kTwoUlp = [](float) { return 2.0f; };
// The baseline level is SSE2 (no FMA) on x86-64, NEON (with FMA) on aarch64.
#if defined(__aarch64__)
constexpr bool kBaselineHasNoFma = false;
#else
constexpr bool kBaselineHasNoFma = true;
#endif

std::vector<float> grid(float lo, float hi, int count, std::vector<float> specials) {
  for (int i = 0; i <= count; ++i) specials.push_back(lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(count));
  return specials;
}

// The extremes of exp: overflow at 88.72, results below FLT_MIN from -87.3, 0 below -103.9; and
// subnormal arguments, where expm1(x) = x.
const std::vector<float> kExpSpecials = {0.0f,    -0.0f,   1e-30f,  -1e-30f, 1e-45f, -1e-45f,  1e-39f,    -1e-39f, 88.0f,
                                         -88.0f,  88.72f,  88.73f,  -87.3f,  -87.4f, -100.0f,  -103.0f,   -105.0f, 3e38f,
                                         -3e38f,  INFINITY, -INFINITY, NAN};

TEST(VectorMath, ExpWithinTwoUlpAtEveryLevel) {
  expect_within_ulp(simd::MathFunction::exp, grid(-104.0f, 89.0f, 400000, kExpSpecials), [](double x) { return std::exp(x); }, kTwoUlp);
}

TEST(VectorMath, Expm1WithinTwoUlpAtEveryLevel) {
  expect_within_ulp(simd::MathFunction::expm1, grid(-20.0f, 89.0f, 400000, kExpSpecials), [](double x) { return std::expm1(x); }, kTwoUlp);
}

// On [0, 1], the domain softplus and logsigmoid call it on: densely, around the switch at 1/2,
// and down through the subnormals (1.12 ulp measured with FMA, 1.13 on SSE2).
TEST(VectorMath, Log1pOfUnitWithinTwoUlpAtEveryLevel) {
  std::vector<float> specials = {0.0f, 1.0f, 0.5f, std::nextafter(0.5f, 0.0f), std::nextafter(0.5f, 1.0f), 1e-45f, NAN};
  for (float t = 1e-44f; t < 1.0f; t *= 1.37f) specials.push_back(t);
  expect_within_ulp(simd::MathFunction::log1p_of_unit, grid(0.0f, 1.0f, 2000000, specials), [](double x) { return std::log1p(x); },
                    kTwoUlp);
}

// softplus's and logsigmoid's log(1 + e^-a): densely over the table's [0, 8), at its interval
// ends, and with lanes from 8 on (and NaN, inf) mixed into the vectors, which send the whole
// vector to log1p_of_unit(exp(-a)), as SSE2 does throughout. Measured: 1.31 ulp by table, 1.52
// by log1p_of_unit(exp(-a)).
TEST(VectorMath, Log1pOfExpMinusWithinTwoUlpAtEveryLevel) {
  std::vector<float> points = {0.0f, 1e-45f, 1e-30f, 1e-7f, 8.0f, std::nextafter(8.0f, 0.0f), 20.0f, 104.0f, 105.0f,
                               INFINITY, NAN};
  for (int j = 1; j < 8; ++j)
    for (const float end : {std::nextafter(static_cast<float>(j), 0.0f), static_cast<float>(j)}) points.push_back(end);
  const std::vector<float> table = grid(0.0f, 8.0f, 2000000, {}), tail = grid(8.0f, 110.0f, 20000, {});
  points.insert(points.end(), table.begin(), table.end());
  for (std::size_t i = 0; i < tail.size(); ++i) {
    points.push_back(tail[i]);
    points.push_back(table[i * 97]);
  }
  expect_within_ulp(simd::MathFunction::log1p_of_exp_minus, points, [](double a) { return std::log1p(std::exp(-a)); },
                    kTwoUlp);
}

// tanh from expm1 (used by the tanh activation and inside the recurrent cells): q / (-1 - q), q
// half of expm1(-2|x|), adds a division's rounding and the subtraction's to expm1's 1.41 ulp (2.48
// ulp measured at every level).
TEST(VectorMath, TanhWithinThreeUlpAtEveryLevel) {
  expect_within_ulp(simd::MathFunction::tanh,
                    grid(-20.0f, 20.0f, 400000, {0.0f, -0.0f, 1e-45f, -1e-38f, 1e-30f, -1e-7f, 9.0f, -1e30f, INFINITY, -INFINITY, NAN}),
                    [](double x) { return std::tanh(x); }, [](float) { return 3.0f; });
}

// erfc: the fit's 1.2e-7 relative and about 5 roundings where the level has FMA (6.8 ulp measured
// in the Release build, 7.8 in the sanitizer build, which contracts other multiply-adds); FMA
// carries the rounding error of x^2 into e^-x^2. SSE2 has no FMA: that rounding, amplified to up
// to 2 x^2 ulp in the right tail, is left. Up to where erfc leaves the normal
// range (x = 9.1).
TEST(VectorMath, ErfcWithinItsBoundAtEveryLevel) {
  expect_within_ulp(simd::MathFunction::erfc, grid(-6.0f, 9.1f, 400000, {0.0f, -0.0f, 1e-30f, -30.0f, -1e30f, -INFINITY, NAN}),
                    [](double x) { return std::erfc(x); },
                    [](float x) { return active_isa() == Isa::baseline && kBaselineHasNoFma ? 8.5f + 2.0f * x * x : 8.5f; });
}

}  // namespace
}  // namespace actlab
