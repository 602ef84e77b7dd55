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

// Data-parallel training exchanges a gradient as soon as backward has finished it: each leaf is
// reported once, with its whole gradient, the later layer before the earlier one.
TEST(Autograd, GradientReadyReportsEachLeafOnceWithItsCompleteGradient) {
  Tensor w1 = from_vector<double>({0.5, -1.0}).requires_grad_();
  Tensor w2 = from_vector<double>({2.0, 3.0}).requires_grad_();
  const Tensor x = from_vector<double>({1.0, 2.0});  // needs no gradient: never reported
  std::vector<std::pair<const TensorImpl*, std::vector<double>>> reported;
  {
    autograd::GradientReadyGuard guard([&](const Tensor& leaf) {
      reported.emplace_back(leaf.impl().get(), leaf.grad().to_vector<double>());
    });
    const Tensor h = x * w1;
    // w2 is used twice, in different ops, so its gradient arrives in two parts.
    ((h * w2).sum() + (w2 * w2).sum()).backward();
  }
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_EQ(reported[0].first, w2.impl().get());
  EXPECT_EQ(reported[0].second, w2.grad().to_vector<double>());
  EXPECT_EQ(reported[0].second, (std::vector<double>{0.5 + 4.0, -2.0 + 6.0}));  // h + 2 w2
  EXPECT_EQ(reported[1].first, w1.impl().get());
  EXPECT_EQ(reported[1].second, (std::vector<double>{2.0, 6.0}));  // x w2
  // Outside the guard nothing is reported.
  (w1 * w1).sum().backward();
  EXPECT_EQ(reported.size(), 2u);
}

TEST(Autograd, GradientReadyGuardsDoNotNest) {
  const autograd::GradientReadyGuard outer([](const Tensor&) {});
  EXPECT_THROW(autograd::GradientReadyGuard([](const Tensor&) {}), Error);
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

// ---- version counter: a tensor saved for backward and then modified in place ----

TEST(AutogradVersion, InPlaceUpdateOfASavedInputIsAnErrorNamingTheOp) {
  Tensor w = from_vector<double>({1, 2}).requires_grad_();
  Tensor x = from_vector<double>({3, 3});
  const Tensor y = (w * x).sum();
  x.add_(100.0);
  const std::string message = error_of([&] { y.backward(); });
  EXPECT_NE(message.find("needed by 'mul'"), std::string::npos) << message;
  EXPECT_NE(message.find("input 1"), std::string::npos) << message;
  EXPECT_NE(message.find("version 0 -> 1"), std::string::npos) << message;
  EXPECT_NE(message.find("clone()"), std::string::npos) << message;
  EXPECT_FALSE(w.grad().defined());  // no gradient of 103 slipped through
}

TEST(AutogradVersion, EveryInPlaceOpCountsOneWrite) {
  Tensor t = zeros({2, 2}, kFloat64);
  const std::vector<std::function<void()>> updates = {
      [&] { t.add_(1.0); },        [&] { t.add_(t, 2.0); }, [&] { t.sub_(t); },
      [&] { t.mul_(3.0); },        [&] { t.div_(ones({2}, kFloat64)); },
      [&] { t.copy_(ones({2, 2})); }, [&] { t.fill_(4.0); }, [&] { t.zero_(); }};
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const std::uint64_t before = t.version();
    updates[i]();
    EXPECT_EQ(t.version(), before + 1) << "update " << i;
  }
  const std::uint64_t before = t.version();
  (void)(t * 2.0 + t.exp()).sum();  // out-of-place ops leave it alone
  EXPECT_EQ(t.version(), before);
}

TEST(AutogradVersion, TheCounterBelongsToTheBufferSoWritesThroughViewsCount) {
  Tensor w = ones({2, 3}, kFloat64).requires_grad_();
  Tensor x = arange(0.0, 6.0, 1.0, kFloat64).reshape({2, 3});
  const Tensor view = x.t();
  EXPECT_EQ(view.version(), x.version());
  const Tensor y = (w * x).sum();
  view.select(0, 1).fill_(7.0);
  EXPECT_EQ(x.version(), 1u);
  EXPECT_NE(error_of([&] { y.backward(); }).find("'mul'"), std::string::npos);

  // The saved tensor may itself be the view, and the write go through the base.
  Tensor base = arange(0.0, 6.0, 1.0, kFloat64);
  const Tensor z = (w * base.view({2, 3})).sum();
  base.mul_(2.0);
  EXPECT_NE(error_of([&] { z.backward(); }).find("modified in place"), std::string::npos);
}

TEST(AutogradVersion, InPlaceUpdateOfATensorNoBackwardReadsIsFine) {
  // add's and a view's backward read no tensor, so changing the operand afterwards is harmless.
  Tensor w = ones({2}, kFloat64).requires_grad_();
  Tensor x = ones({2}, kFloat64);
  const Tensor y = (w + x.view({2})).sum();
  x.add_(5.0);
  y.backward();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{1, 1}));
}

TEST(AutogradVersion, InPlaceUpdateAfterBackwardFreedTheGraphIsFine) {
  Tensor w = from_vector<double>({1, 2}).requires_grad_();
  Tensor x = from_vector<double>({3, 3});
  (w * x).sum().backward();
  x.add_(100.0);
  {
    NoGradGuard no_grad;
    w.sub_(w.grad());
  }
  w.set_grad(Tensor());
  (w * x).sum().backward();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{103, 103}));
}

TEST(AutogradVersion, OptimizerStepsKeepWorkingAndARetainedGraphNoticesThem) {
  Tensor w = from_vector<double>({1, 2}).requires_grad_();
  const Tensor x = from_vector<double>({3, 4});
  optim::SGD sgd({w}, {.lr = 0.5});
  for (int step = 0; step < 2; ++step) {
    sgd.zero_grad();
    (w * x).sum().backward();
    sgd.step();
  }
  EXPECT_EQ(w.to_vector<double>(), (std::vector<double>{-2, -2}));

  // A graph kept past the update would differentiate at the old weights: PyTorch refuses it too.
  const Tensor y = (w * x).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  sgd.step();
  EXPECT_NE(error_of([&] { y.backward(); }).find("needed by 'mul'"), std::string::npos);
}

TEST(AutogradVersion, BatchNormRunningStatisticsAreNoFalsePositive) {
  nn::BatchNorm1d bn(3);
  Tensor x = randn({4, 3}, default_generator(), kFloat64).requires_grad_();
  bn.to(kFloat64);
  const Tensor first = bn.forward(x).square().sum();
  const Tensor second = bn.forward(x * 2.0).square().sum();  // updates the running statistics again
  first.backward();
  second.backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_TRUE(autograd::all_finite(x.grad()));
}

}  // namespace
}  // namespace actlab
