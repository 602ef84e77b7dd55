// Every layer kernel and loss against finite differences (float64), alone and behind another
// layer, in all of its differentiable inputs.
#include <gtest/gtest.h>

#include "actlab/actlab.h"
#include "actlab/autograd/node.h"
#include "actlab/nn/functional.h"
#include "actlab/nn/loss.h"

using namespace actlab;
namespace F = actlab::nn::functional;

namespace {

Tensor leaf(const Shape& shape, std::uint64_t seed, double scale = 1.0) {
  Generator gen(seed);
  Tensor t = randn(shape, gen, kFloat64) * scale;
  t.requires_grad_();
  return t;
}

Tensor constant(const Shape& shape, std::uint64_t seed) {
  Generator gen(seed);
  return randn(shape, gen, kFloat64);
}

void expect_gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs) {
  const GradcheckResult r = gradcheck(f, inputs);
  EXPECT_TRUE(r.ok) << r.message;
}

}  // namespace

TEST(Gradcheck, Linear) {
  expect_gradcheck([](auto& in) { return F::linear(in[0], in[1], in[2]); },
                   {leaf({4, 5}, 1), leaf({3, 5}, 2), leaf({3}, 3)});
  expect_gradcheck([](auto& in) { return F::linear(in[0], in[1]); }, {leaf({2, 3, 5}, 4), leaf({3, 5}, 5)});
}

TEST(Gradcheck, Conv2d) {
  // Grouped, strided, padded.
  expect_gradcheck(
      [](auto& in) { return F::conv2d(in[0], in[1], in[2], {.stride = {2, 1}, .padding = {1, 1}, .groups = 2}); },
      {leaf({2, 4, 5, 5}, 1), leaf({6, 2, 3, 3}, 2), leaf({6}, 3)});
  // Dilated, non-square kernel, no bias.
  expect_gradcheck([](auto& in) { return F::conv2d(in[0], in[1], Tensor(), {.padding = {2, 1}, .dilation = {2, 1}}); },
                   {leaf({1, 3, 6, 5}, 4), leaf({2, 3, 3, 2}, 5)});
  // Stride 1 (the direct kernels) with output channels and taps that leave remainder blocks, over
  // several vector tiles.
  expect_gradcheck([](auto& in) { return F::conv2d(in[0], in[1], in[2], {.padding = {1, 0}}); },
                   {leaf({2, 3, 9, 11}, 9), leaf({11, 3, 3, 2}, 10), leaf({11}, 11)});
  // Padding wider than the kernel reaches: direct forward, im2col input gradient.
  expect_gradcheck([](auto& in) { return F::conv2d(in[0], in[1], in[2], {.padding = {1, 1}}); },
                   {leaf({1, 2, 4, 3}, 12), leaf({3, 2, 1, 1}, 13), leaf({3}, 14)});
  // 1x1 (the path without im2col).
  expect_gradcheck([](auto& in) { return F::conv2d(in[0], in[1], in[2]); },
                   {leaf({2, 3, 4, 4}, 6), leaf({5, 3, 1, 1}, 7), leaf({5}, 8)});
}

TEST(Gradcheck, Pooling) {
  expect_gradcheck([](auto& in) { return F::max_pool2d(in[0], {}); }, {leaf({2, 3, 6, 6}, 1)});
  expect_gradcheck([](auto& in) { return F::max_pool2d(in[0], {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}}); },
                   {leaf({1, 2, 7, 5}, 2)});
  expect_gradcheck([](auto& in) { return F::avg_pool2d(in[0], {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}}); },
                   {leaf({2, 2, 5, 6}, 3)});
  expect_gradcheck([](auto& in) { return F::adaptive_avg_pool2d(in[0], {3, 2}); }, {leaf({2, 2, 5, 7}, 4)});
}

TEST(Gradcheck, BatchNormTrainingAndEval) {
  const Tensor running_mean = zeros({3}, kFloat64), running_var = ones({3}, kFloat64);
  for (const Shape& shape : {Shape{6, 3}, Shape{4, 3, 5}, Shape{2, 3, 3, 4}}) {
    expect_gradcheck(
        [&](auto& in) { return F::batch_norm(in[0], running_mean, running_var, in[1], in[2], true); },
        {leaf(shape, 1), leaf({3}, 2), leaf({3}, 3)});
    expect_gradcheck([&](auto& in) { return F::batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
                     {leaf(shape, 4)});
  }
  const Tensor mean = constant({3}, 5), var = constant({3}, 6).abs() + 0.5;
  expect_gradcheck([&](auto& in) { return F::batch_norm(in[0], mean, var, in[1], in[2], false); },
                   {leaf({4, 3, 2, 2}, 7), leaf({3}, 8), leaf({3}, 9)});
}

TEST(Gradcheck, LayerNorm) {
  expect_gradcheck([](auto& in) { return F::layer_norm(in[0], 1, in[1], in[2]); },
                   {leaf({4, 6}, 1), leaf({6}, 2), leaf({6}, 3)});
  expect_gradcheck([](auto& in) { return F::layer_norm(in[0], 2, in[1], in[2]); },
                   {leaf({3, 2, 4}, 4), leaf({2, 4}, 5), leaf({2, 4}, 6)});
  expect_gradcheck([](auto& in) { return F::layer_norm(in[0], 1); }, {leaf({3, 5}, 7)});
}

TEST(Gradcheck, Dropout) {
  expect_gradcheck(
      [](auto& in) {
        Generator gen(42);  // the same mask on every evaluation
        return F::dropout(in[0], 0.4, true, gen);
      },
      {leaf({4, 5}, 1)});
}

TEST(Gradcheck, Losses) {
  const Tensor labels = from_vector<std::int64_t>({2, 0, 1, 2}, {4});
  for (const auto reduction : {nn::Reduction::Mean, nn::Reduction::Sum, nn::Reduction::None}) {
    expect_gradcheck([&](auto& in) { return nn::cross_entropy(in[0], labels, {.reduction = reduction}); },
                     {leaf({4, 3}, 1)});
    expect_gradcheck([&](auto& in) { return nn::nll_loss(in[0], labels, reduction); }, {leaf({4, 3}, 2)});
    expect_gradcheck([&](auto& in) { return nn::mse_loss(in[0], in[1], reduction); }, {leaf({3, 2}, 3), leaf({3, 2}, 4)});
  }
  expect_gradcheck([&](auto& in) { return nn::cross_entropy(in[0], labels, {.label_smoothing = 0.2}); },
                   {leaf({4, 3}, 5)});
  const Tensor targets = rand({3, 2}, default_generator(), kFloat64);
  expect_gradcheck([&](auto& in) { return nn::binary_cross_entropy_with_logits(in[0], targets); }, {leaf({3, 2}, 6, 3.0)});
}

// Each layer behind another one, so the gradient it passes back is checked too.
TEST(Gradcheck, LayersBehindOtherLayers) {
  const Tensor rm = zeros({4}, kFloat64), rv = ones({4}, kFloat64);
  expect_gradcheck([&](auto& in) { return F::batch_norm(F::linear(in[0], in[1], in[2]), rm, rv, in[3], in[4], true); },
                   {leaf({5, 3}, 1), leaf({4, 3}, 2), leaf({4}, 3), leaf({4}, 4), leaf({4}, 5)});
  expect_gradcheck(
      [&](auto& in) {
        const Tensor h = F::batch_norm(F::conv2d(in[0], in[1], Tensor(), {.padding = {1, 1}}), rm, rv, in[2], in[3], true);
        return F::max_pool2d(h, {});
      },
      {leaf({2, 2, 4, 4}, 6), leaf({4, 2, 3, 3}, 7), leaf({4}, 8), leaf({4}, 9)});
  expect_gradcheck([](auto& in) { return F::layer_norm(F::linear(in[0], in[1]), 1, in[2], in[3]); },
                   {leaf({3, 4}, 10), leaf({5, 4}, 11), leaf({5}, 12), leaf({5}, 13)});
  const Tensor labels = from_vector<std::int64_t>({1, 0}, {2});
  expect_gradcheck(
      [&](auto& in) {
        const Tensor pooled = F::avg_pool2d(F::conv2d(in[0], in[1], in[2]), {});
        const Tensor logits = F::linear(pooled.flatten(1), in[3], in[4]);
        Generator gen(3);
        return nn::cross_entropy(F::dropout(logits, 0.3, true, gen), labels,
                                 {.label_smoothing = 0.1});
      },
      {leaf({2, 1, 5, 5}, 14), leaf({3, 1, 2, 2}, 15), leaf({3}, 16), leaf({2, 12}, 17), leaf({2}, 18)});
}

// A BatchNorm whose backward ignores the batch statistics' dependence on x (treating mean and
// variance as constants, a classic mistake) must fail the check.
TEST(Gradcheck, CatchesABatchNormWithAWrongBackward) {
  auto wrong_batch_norm = [](const Tensor& x) {
    const Tensor y = F::batch_norm(x.detach(), Tensor(), Tensor(), Tensor(), Tensor(), true);
    const Tensor invstd = 1.0 / (x.detach().var({0}, 0, true) + 1e-5).sqrt();
    return autograd::record("wrong_batch_norm", y, {x},
                            [invstd](const Tensor& g, auto&) { return std::vector<Tensor>{g * invstd}; });
  };
  const auto r = gradcheck([&](auto& in) { return wrong_batch_norm(F::linear(in[0], in[1])); },
                           {leaf({6, 3}, 1), leaf({4, 3}, 2)});
  EXPECT_FALSE(r.ok) << r.message;
}
