// Every differentiable core op against float64 central differences: alone, after a linear map,
// feeding a reduction, and on non-contiguous (transposed) inputs.
#include <gtest/gtest.h>

#include "actlab/actlab.h"

namespace actlab {
namespace {

using Inputs = std::vector<Tensor>;

struct OpCase {
  std::string name;
  std::vector<Shape> shapes;
  GradcheckFn fn;
  bool positive = false;  // inputs drawn from (0.5, 2.5) instead of N(0, 1)
};

std::ostream& operator<<(std::ostream& os, const OpCase& c) { return os << c.name; }

std::vector<OpCase> op_cases() {
  return {
      {"add_broadcast", {{3, 4}, {4}}, [](const Inputs& x) { return x[0] + x[1]; }},
      {"sub_broadcast", {{3, 1}, {1, 4}}, [](const Inputs& x) { return x[0] - x[1]; }},
      {"mul_broadcast", {{2, 3, 4}, {3, 1}}, [](const Inputs& x) { return x[0] * x[1]; }},
      {"div", {{3, 4}, {3, 4}}, [](const Inputs& x) { return x[0] / x[1]; }, true},
      {"scalar_arith", {{3, 4}}, [](const Inputs& x) { return (2.0 - x[0]) * 3.0 / 1.5 + 1.0; }},
      {"neg", {{3, 4}}, [](const Inputs& x) { return -x[0]; }},
      {"exp", {{3, 4}}, [](const Inputs& x) { return x[0].exp(); }},
      {"log", {{3, 4}}, [](const Inputs& x) { return x[0].log(); }, true},
      {"sqrt", {{3, 4}}, [](const Inputs& x) { return x[0].sqrt(); }, true},
      {"abs", {{3, 4}}, [](const Inputs& x) { return x[0].abs(); }},
      {"square", {{3, 4}}, [](const Inputs& x) { return x[0].square(); }},
      {"pow_scalar", {{3, 4}}, [](const Inputs& x) { return x[0].pow(2.5); }, true},
      {"pow_tensor", {{3, 4}, {4}}, [](const Inputs& x) { return x[0].pow(x[1]); }, true},
      {"clamp", {{4, 5}}, [](const Inputs& x) { return x[0].clamp(-0.5, 0.7); }},
      {"maximum", {{3, 4}, {4}}, [](const Inputs& x) { return maximum(x[0], x[1]); }},
      {"minimum", {{3, 4}, {3, 1}}, [](const Inputs& x) { return minimum(x[0], x[1]); }},
      {"where", {{3, 4}, {3, 4}}, [](const Inputs& x) { return where(x[0].gt(x[1]), x[0] * 2.0, x[1].exp()); }},
      {"clone", {{3, 4}}, [](const Inputs& x) { return x[0].clone(); }},
      {"reshape", {{3, 4}}, [](const Inputs& x) { return x[0].reshape({2, 6}); }},
      {"flatten", {{2, 3, 4}}, [](const Inputs& x) { return x[0].flatten(1); }},
      {"permute", {{2, 3, 4}}, [](const Inputs& x) { return x[0].permute({2, 0, 1}); }},
      {"transpose_reshape", {{3, 4}}, [](const Inputs& x) { return x[0].t().reshape({12}); }},
      {"narrow", {{5, 4}}, [](const Inputs& x) { return x[0].narrow(0, 1, 3); }},
      {"slice_step", {{6, 4}}, [](const Inputs& x) { return x[0].slice(0, 1, 6, 2); }},
      {"select", {{3, 4}}, [](const Inputs& x) { return x[0].select(1, 2); }},
      {"expand", {{3, 1}}, [](const Inputs& x) { return x[0].expand({2, 3, 4}); }},
      {"squeeze_unsqueeze", {{3, 1, 4}}, [](const Inputs& x) { return x[0].squeeze(1).unsqueeze(0); }},
      {"cat", {{2, 4}, {3, 4}}, [](const Inputs& x) { return cat({x[0], x[1]}, 0); }},
      {"stack", {{3, 4}, {3, 4}}, [](const Inputs& x) { return stack({x[0], x[1]}, 1); }},
      {"index_select", {{4, 3}}, [](const Inputs& x) { return x[0].index_select(0, from_vector<std::int64_t>({3, 0, 3})); }},
      {"gather", {{3, 4}}, [](const Inputs& x) {
         return x[0].gather(1, from_vector<std::int64_t>({0, 3, 1, 1, 2, 0}, {3, 2}));
       }},
      {"sum_all", {{3, 4}}, [](const Inputs& x) { return x[0].sum(); }},
      {"sum_dims", {{2, 3, 4}}, [](const Inputs& x) { return x[0].sum({0, 2}); }},
      {"sum_keepdim", {{2, 3, 4}}, [](const Inputs& x) { return x[0].sum({1}, true); }},
      {"mean", {{3, 4}}, [](const Inputs& x) { return x[0].mean({-1}); }},
      {"var", {{3, 5}}, [](const Inputs& x) { return x[0].var({1}); }},
      {"std", {{3, 5}}, [](const Inputs& x) { return x[0].std({0}, 0, true); }},
      {"logsumexp", {{3, 5}}, [](const Inputs& x) { return x[0].logsumexp({1}); }},
      {"max_dim", {{3, 5}}, [](const Inputs& x) { return x[0].max(1); }},
      {"min_dim", {{3, 5}}, [](const Inputs& x) { return x[0].min(0, true); }},
      {"max_all", {{3, 5}}, [](const Inputs& x) { return x[0].max(); }},
      {"sum_to", {{2, 3, 4}}, [](const Inputs& x) { return x[0].sum_to({3, 1}); }},
      {"matmul_2d", {{3, 4}, {4, 5}}, [](const Inputs& x) { return x[0].matmul(x[1]); }},
      {"matmul_batched_broadcast", {{2, 3, 4}, {4, 5}}, [](const Inputs& x) { return x[0].matmul(x[1]); }},
      {"matmul_vector", {{4}, {4, 3}}, [](const Inputs& x) { return x[0].matmul(x[1]); }},
      {"matmul_transposed", {{4, 3}, {5, 4}}, [](const Inputs& x) { return x[0].t().matmul(x[1].t()); }},
      {"shared_subexpression", {{3, 4}}, [](const Inputs& x) {
         const Tensor y = x[0].exp();
         return y * y + y.sum({1}, true);
       }},
  };
}

Inputs make_inputs(const OpCase& c, Generator& gen, bool transposed) {
  Inputs inputs;
  for (Shape shape : c.shapes) {
    if (transposed && shape.size() >= 2) std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
    Tensor t = randn(shape, gen, kFloat64);
    if (c.positive) t = rand(shape, gen, kFloat64) * 2.0 + 0.5;
    inputs.push_back(t.requires_grad_());
  }
  return inputs;
}

void expect_gradcheck(const GradcheckFn& fn, const Inputs& inputs) {
  const GradcheckResult r = gradcheck(fn, inputs);
  EXPECT_TRUE(r.ok) << r.message;
}

class OpGradcheck : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpGradcheck, Alone) {
  Generator gen(7);
  expect_gradcheck(GetParam().fn, make_inputs(GetParam(), gen, false));
}

TEST_P(OpGradcheck, FeedingAReduction) {
  Generator gen(8);
  const auto fn = GetParam().fn;
  expect_gradcheck([fn](const Inputs& x) { return fn(x).square().sum(); }, make_inputs(GetParam(), gen, false));
}

TEST_P(OpGradcheck, AfterALinearMap) {
  const OpCase& c = GetParam();
  Generator gen(9);
  Inputs inputs = make_inputs(c, gen, false);
  // First input goes through x @ W (W square over the last dim) before the op; for ops on
  // positive inputs W is positive too, so x @ W stays in the op's domain.
  const std::int64_t last = inputs[0].shape().back();
  Tensor w = c.positive ? rand({last, last}, gen, kFloat64) * 0.5 + 0.1 : randn({last, last}, gen, kFloat64);
  w.requires_grad_();
  inputs.push_back(w);
  const auto fn = c.fn;
  expect_gradcheck([fn](const Inputs& x) {
    Inputs mapped(x.begin(), x.end() - 1);
    mapped[0] = x[0].matmul(x.back());
    return fn(mapped);
  }, inputs);
}

TEST_P(OpGradcheck, NonContiguousInputs) {
  const OpCase& c = GetParam();
  Generator gen(10);
  const auto fn = c.fn;
  expect_gradcheck([fn](const Inputs& x) {
    Inputs views;
    for (const auto& t : x) views.push_back(t.dim() >= 2 ? t.transpose(-1, -2) : t);
    return fn(views);
  }, make_inputs(c, gen, true));
}

INSTANTIATE_TEST_SUITE_P(CoreOps, OpGradcheck, ::testing::ValuesIn(op_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Gradcheck, CatchesAWrongBackward) {
  // exp whose backward forgets a factor 2 must be reported.
  const GradcheckFn wrong = [](const Inputs& x) {
    Tensor out = x[0].detach().exp();
    return autograd::record("wrong_exp", out, {x[0]}, [out = out.detach()](const Tensor& g, auto&) {
      return std::vector<Tensor>{g * out * 2.0};
    });
  };
  Generator gen(3);
  const GradcheckResult r = gradcheck(wrong, {randn({3, 2}, gen, kFloat64).requires_grad_()});
  EXPECT_FALSE(r.ok);
  EXPECT_NEAR(r.analytic / r.numeric, 2.0, 1e-6);
  EXPECT_NE(r.message.find("FAILED"), std::string::npos);
}

TEST(Gradcheck, RejectsFloat32Inputs) {
  EXPECT_THROW(gradcheck([](const Inputs& x) { return x[0].exp(); }, {ones({2}).requires_grad_()}), Error);
}

}  // namespace
}  // namespace actlab
