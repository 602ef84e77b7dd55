// Autograd semantics: accumulation, shared subexpressions, views, graph freeing, grad mode, hooks.
#include <gtest/gtest.h>

#include "test_util.h"

#include "actlab/actlab.h"

namespace actlab {
namespace {

using testing::error_of;

TEST(Autograd, ChainRuleThroughSharedSubexpression) {
  // y = x * x + x: dy/dx = 2x + 1, with x used three times.
  Tensor x = from_vector<double>({1, -2, 3}).requires_grad_();
  const Tensor y = x * x + x;
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, -3, 7}));
}

TEST(Autograd, LeafGradientsAccumulateAcrossBackwardCalls) {
  Tensor x = from_vector<double>({1, 2}).requires_grad_();
  (x * 3.0).sum().backward();
  (x * 3.0).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{6, 6}));
  x.set_grad(Tensor());
  (x * 2.0).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 2}));
}

TEST(Autograd, BroadcastGradientsReduceToInputShape) {
  Tensor w = ones({3, 1}, kFloat64).requires_grad_();
  Tensor b = ones({4}, kFloat64).requires_grad_();
  (w * b).sum().backward();
  EXPECT_EQ(w.grad().shape(), (Shape{3, 1}));
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{4, 4, 4}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{3, 3, 3, 3}));
}

TEST(Autograd, ViewGradientsLandInTheRightPlaces) {
  Tensor x = arange(0.0, 6.0, 1.0, kFloat64).reshape({2, 3}).detach().requires_grad_();
  (x.t().select(0, 2) * from_vector<double>({10, 20})).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 0, 10, 0, 0, 20}));
}

TEST(Autograd, GradientsDoNotAliasEachOther) {
  // add's backward passes the same gradient to both inputs; in-place updates of one .grad()
  // (gradient clipping) must not change the other.
  Tensor a = ones({2}).requires_grad_();
  Tensor b = ones({2}).requires_grad_();
  (a + b).sum().backward();
  a.grad().mul_(10.0);
  EXPECT_EQ(b.grad().to_vector<float>(), (std::vector<float>{1, 1}));
}

TEST(Autograd, SecondBackwardThroughFreedGraphIsAnError) {
  Tensor x = ones({2}, kFloat64).requires_grad_();
  const Tensor y = (x.exp() * 2.0).sum();
  y.backward();
  const std::string message = error_of([&] { y.backward(); });
  EXPECT_NE(message.find("already freed"), std::string::npos) << message;
  EXPECT_NE(message.find("retain_graph"), std::string::npos) << message;
}

TEST(Autograd, RetainGraphAllowsASecondBackward) {
  Tensor x = ones({2}, kFloat64).requires_grad_();
  const Tensor y = (x * x).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{4, 4}));
}

TEST(Autograd, NonScalarNeedsExplicitGradient) {
  Tensor x = ones({2, 2}, kFloat64).requires_grad_();
  const Tensor y = x * 3.0;
  EXPECT_NE(error_of([&] { y.backward(); }).find("needs an explicit gradient"), std::string::npos);
  y.backward(from_vector<double>({1, 2, 3, 4}, {2, 2}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 6, 9, 12}));
}

TEST(Autograd, NoGradGuardAndDetachStopRecording) {
  Tensor x = ones({2}).requires_grad_();
  {
    NoGradGuard no_grad;
    EXPECT_FALSE((x * 2.0).requires_grad());
  }
  EXPECT_TRUE((x * 2.0).requires_grad());
  EXPECT_FALSE(x.detach().requires_grad());
  EXPECT_TRUE(x.detach().shares_storage_with(x));
  EXPECT_NE(error_of([&] { (x.detach() * 2.0).sum().backward(); }).find("does not require grad"), std::string::npos);
  EXPECT_NE(error_of([] { arange(3).requires_grad_(); }).find("only float tensors"), std::string::npos);
  EXPECT_NE(error_of([&] { (x * 2.0).requires_grad_(); }).find("only leaf tensors"), std::string::npos);
}

TEST(Autograd, HooksSeeAndReplaceGradients) {
  Tensor x = from_vector<double>({1, 2}).requires_grad_();
  const Tensor h = x * 3.0;
  Tensor seen;
  h.register_hook([&](const Tensor& g) {
    seen = g.clone();
    return g * 0.5;  // replaces the gradient flowing further back
  });
  (h * h).sum().backward();
  EXPECT_EQ(seen.to_vector<double>(), (std::vector<double>{6, 12}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{9, 18}));
}

TEST(Autograd, GradOfIntegerOpsIsRejectedClearly) {
  Tensor x = from_vector<float>({1.5f, 2.5f}).requires_grad_();
  const Tensor as_int = x.to(kInt64);
  EXPECT_FALSE(as_int.requires_grad());
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Tensor x = ones({1}, kFloat64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 200000; ++i) y = y * 1.0;
  y.sum().backward();
  EXPECT_EQ(x.grad().item(), 1.0);
}

}  // namespace
}  // namespace actlab
