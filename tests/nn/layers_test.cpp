// Layer forward values against direct formulas, and train/eval semantics.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "actlab/actlab.h"
#include "actlab/core/cpu.h"
#include "actlab/nn/layers.h"

using namespace actlab;
namespace F = actlab::nn::functional;

namespace {

Tensor random(const Shape& shape, std::uint64_t seed, DType dtype = kFloat64) {
  Generator gen(seed);
  return randn(shape, gen, dtype);
}

// The textbook seven-loop convolution.
Tensor direct_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const F::Conv2dParams& p) {
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const std::int64_t o = w.size(0), cg = w.size(1), kh = w.size(2), kw = w.size(3);
  const std::int64_t oh = (h + 2 * p.padding[0] - p.dilation[0] * (kh - 1) - 1) / p.stride[0] + 1;
  const std::int64_t ow = (wd + 2 * p.padding[1] - p.dilation[1] * (kw - 1) - 1) / p.stride[1] + 1;
  Tensor out = zeros({n, o, oh, ow}, kFloat64);
  const std::int64_t og = o / p.groups;
  (void)c;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t oc = 0; oc < o; ++oc)
      for (std::int64_t y = 0; y < oh; ++y)
        for (std::int64_t xx = 0; xx < ow; ++xx) {
          double s = b.defined() ? b.at<double>({oc}) : 0.0;
          for (std::int64_t ic = 0; ic < cg; ++ic)
            for (std::int64_t u = 0; u < kh; ++u)
              for (std::int64_t v = 0; v < kw; ++v) {
                const std::int64_t iy = y * p.stride[0] - p.padding[0] + u * p.dilation[0];
                const std::int64_t ix = xx * p.stride[1] - p.padding[1] + v * p.dilation[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                s += x.at<double>({i, (oc / og) * cg + ic, iy, ix}) * w.at<double>({oc, ic, u, v});
              }
          out.at<double>({i, oc, y, xx}) = s;
        }
  return out;
}

}  // namespace

TEST(Linear, MatchesMatmulPlusBias) {
  nn::Linear layer(5, 3);
  const Tensor x = random({4, 5}, 1, kFloat32);
  EXPECT_TRUE(allclose(layer(x), x.matmul(layer.weight.t()) + layer.bias, 1e-5, 1e-6));
  EXPECT_EQ(layer.weight.shape(), (Shape{3, 5}));
  const double bound = 1 / std::sqrt(5.0);
  EXPECT_LE(layer.weight.abs().max().item(), bound);
  EXPECT_THROW(layer(random({4, 6}, 2, kFloat32)), Error);
}

// The kernels are compiled per instruction-set level (their tiles differ): every level this CPU
// has runs the cases.
TEST(Conv2d, MatchesDirectConvolutionAtEveryLevel) {
  const std::vector<F::Conv2dParams> cases = {
      {}, {.stride = {2, 2}, .padding = {1, 1}}, {.padding = {2, 1}, .dilation = {2, 1}}, {.groups = 2}};
  for (const Isa isa : available_isas()) {
    const IsaGuard level(isa);
    for (const auto& p : cases) {
      const Tensor x = random({3, 4, 7, 6}, 1), w = random({6, 4 / p.groups, 3, 3}, 2), b = random({6}, 3);
      EXPECT_TRUE(allclose(F::conv2d(x, w, b, p), direct_conv2d(x, w, b, p), 1e-10, 1e-10))
          << isa_name(isa) << ": stride " << p.stride[0] << " padding " << p.padding[0] << " dilation "
          << p.dilation[0] << " groups " << p.groups;
    }
  }
  nn::Conv2d conv(3, 8, 3, {.padding = {1, 1}});
  EXPECT_EQ(conv(zeros({2, 3, 5, 5})).shape(), (Shape{2, 8, 5, 5}));
  EXPECT_THROW(conv(zeros({2, 4, 5, 5})), Error);
}

// float32 runs other vector widths and tile shapes than the float64 gradchecks, threaded over the
// batch; the small layer's batch is one chunk, its weight gradient summed over stacks of 8 and 3 samples.
// At every instruction-set level this CPU has.
TEST(Conv2d, Float32MatchesFloat64WithGradientsAtEveryLevel) {
  for (const Isa isa : available_isas()) {
    const IsaGuard level(isa);
    for (const auto& [input, out_channels] :
         {std::pair{Shape{3, 16, 12, 12}, 20}, std::pair{Shape{11, 3, 9, 10}, 5}}) {
      const Tensor x64 = random(input, 4), w64 = random({out_channels, input[1], 3, 3}, 5);
      const Tensor b64 = random({out_channels}, 6), g64 = random({input[0], out_channels, input[2], input[3]}, 7);
      auto run = [&](DType dtype) {
        Tensor x = x64.to(dtype), w = w64.to(dtype), b = b64.to(dtype);
        for (Tensor* t : {&x, &w, &b}) t->requires_grad_();
        const Tensor y = F::conv2d(x, w, b, {.padding = {1, 1}});
        y.backward(g64.to(dtype));
        return std::vector<Tensor>{y, x.grad(), w.grad(), b.grad()};
      };
      const auto single = run(kFloat32), reference = run(kFloat64);
      const char* names[] = {"output", "input grad", "weight grad", "bias grad"};
      for (std::size_t i = 0; i < single.size(); ++i)
        EXPECT_TRUE(allclose(single[i].to(kFloat64), reference[i], 1e-4, 1e-3))
            << isa_name(isa) << ": " << names[i] << " of " << shape_str(input);
    }
  }
}

TEST(Pooling, SmallExamples) {
  const Tensor x = arange(0, 16, 1, kFloat64).reshape({1, 1, 4, 4});
  EXPECT_EQ(nn::MaxPool2d(2)(x).to_vector<double>(), (std::vector<double>{5, 7, 13, 15}));
  EXPECT_EQ(nn::AvgPool2d(2)(x).to_vector<double>(), (std::vector<double>{2.5, 4.5, 10.5, 12.5}));
  // Padding counts in the divisor: the corner window holds 0 + 1 + 4 + 5 over 9 cells.
  EXPECT_DOUBLE_EQ(nn::AvgPool2d(3, {.stride = 2, .padding = 1})(x).to_vector<double>()[0], 10.0 / 9);
  EXPECT_EQ(nn::AdaptiveAvgPool2d({1, 1})(x).to_vector<double>(), (std::vector<double>{7.5}));
  EXPECT_EQ(nn::Flatten()(zeros({2, 3, 4, 5})).shape(), (Shape{2, 60}));
}

TEST(Pooling, MaxPoolPicksTheFirstMaximumOrTheFirstNan) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Windows: a tie (3 twice), a NaN after a larger value, all -inf, two NaNs.
  const double inf = std::numeric_limits<double>::infinity();
  Tensor x = from_vector<double>({3, 3, 9, nan, -inf, -inf, 1, nan,  //
                                  1, 2, 0, 0, -inf, -inf, nan, 2},
                                 {1, 1, 2, 8});
  x.requires_grad_();
  const Tensor y = F::max_pool2d(x, {.kernel = {2, 2}, .stride = {2, 2}});
  const auto values = y.to_vector<double>();
  EXPECT_EQ(values[0], 3);
  EXPECT_TRUE(std::isnan(values[1]));
  EXPECT_EQ(values[2], -inf);
  EXPECT_TRUE(std::isnan(values[3]));
  y.backward(ones_like(y));
  EXPECT_EQ(x.grad().to_vector<double>(),
            (std::vector<double>{1, 0, 0, 1, 1, 0, 0, 1,  //
                                 0, 0, 0, 0, 0, 0, 0, 0}));
}

// The vectorized 2x2 path, compiled per instruction-set level, on rows longer than a vector with
// many ties and some NaNs, at every level this CPU has, against the rule written out one window at
// a time.
TEST(Pooling, TwoByTwoMaxPoolFollowsTheRuleOnWideRowsAtEveryLevel) {
  const std::int64_t planes = 3, height = 6, width = 41, out_h = 3, out_w = 20;
  std::vector<float> values(static_cast<std::size_t>(planes * height * width));
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = i % 23 == 5 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(i * 7919 % 5);
  std::vector<float> expected(static_cast<std::size_t>(planes * out_h * out_w));
  std::vector<float> expected_grad(values.size(), 0);
  for (std::int64_t p = 0; p < planes; ++p)
    for (std::int64_t r = 0; r < out_h; ++r)
      for (std::int64_t c = 0; c < out_w; ++c) {
        std::int64_t best = -1;
        for (const std::int64_t at : {2 * r * width + 2 * c, 2 * r * width + 2 * c + 1, (2 * r + 1) * width + 2 * c,
                                      (2 * r + 1) * width + 2 * c + 1}) {
          const float v = values[static_cast<std::size_t>(p * height * width + at)];
          const float b = best < 0 ? 0 : values[static_cast<std::size_t>(p * height * width + best)];
          if (best < 0 || (!std::isnan(b) && (std::isnan(v) || v > b))) best = at;
        }
        expected[static_cast<std::size_t>((p * out_h + r) * out_w + c)] =
            values[static_cast<std::size_t>(p * height * width + best)];
        expected_grad[static_cast<std::size_t>(p * height * width + best)] = 1;
      }
  for (const Isa isa : available_isas()) {
    SCOPED_TRACE(isa_name(isa));
    const IsaGuard level(isa);
    Tensor x = from_vector<float>(values, {1, planes, height, width});
    x.requires_grad_();
    const Tensor y = F::max_pool2d(x, {.kernel = {2, 2}, .stride = {2, 2}});
    y.backward(ones_like(y));
    const auto got = y.to_vector<float>();
    for (std::size_t i = 0; i < expected.size(); ++i)
      EXPECT_TRUE(std::isnan(expected[i]) ? std::isnan(got[i]) : got[i] == expected[i]) << "output " << i;
    EXPECT_EQ(x.grad().to_vector<float>(), expected_grad);
  }
}

TEST(BatchNorm, TrainingNormalizesAndUpdatesRunningStatistics) {
  nn::BatchNorm2d bn(3, {.momentum = 0.2});
  bn.to(kFloat64);
  const Tensor x = random({4, 3, 2, 5}, 1) * 3.0 + 1.0;
  const Tensor y = bn(x);
  const Tensor mean = x.mean({0, 2, 3}, true), var = x.var({0, 2, 3}, 0, true);
  EXPECT_TRUE(allclose(y, (x - mean) / (var + 1e-5).sqrt(), 1e-9, 1e-9));
  EXPECT_TRUE(allclose(bn.running_mean, mean.flatten() * 0.2, 1e-12, 1e-12));
  EXPECT_TRUE(allclose(bn.running_var, 0.8 + x.var({0, 2, 3}, 1) * 0.2, 1e-12, 1e-12));
}

TEST(BatchNorm, EvalUsesRunningStatistics) {
  nn::BatchNorm1d bn(2);
  bn.to(kFloat64);
  bn.running_mean.copy_(tensor({1.0, -1.0}, kFloat64));
  bn.running_var.copy_(tensor({4.0, 0.25}, kFloat64));
  bn.eval();
  const Tensor x = tensor({3.0, 0.0}, kFloat64).reshape({1, 2});  // batch of one is fine in eval
  const auto y = bn(x).to_vector<double>();
  EXPECT_NEAR(y[0], 2.0 / std::sqrt(4.0 + 1e-5), 1e-12);
  EXPECT_NEAR(y[1], 1.0 / std::sqrt(0.25 + 1e-5), 1e-12);
  bn.train();
  EXPECT_THROW(bn(x), Error);  // one value per channel cannot be normalized in training
}

TEST(LayerNorm, NormalizesEachRow) {
  nn::LayerNorm ln({4});
  ln.to(kFloat64);
  const Tensor x = random({3, 4}, 1);
  const Tensor expected = (x - x.mean({1}, true)) / (x.var({1}, 0, true) + 1e-5).sqrt();
  EXPECT_TRUE(allclose(ln(x), expected, 1e-9, 1e-9));
}

TEST(Dropout, InvertedInTrainingIdentityInEval) {
  nn::Dropout drop(0.25, 7);
  const Tensor x = ones({100000});
  const auto y = drop(x).to_vector<float>();
  std::int64_t zeros_seen = 0;
  for (float v : y) {
    if (v == 0) ++zeros_seen;
    else EXPECT_FLOAT_EQ(v, 1.0f / 0.75f);
  }
  EXPECT_NEAR(static_cast<double>(zeros_seen) / 100000, 0.25, 0.01);
  // Same seed, same mask.
  nn::Dropout again(0.25, 7);
  EXPECT_EQ(again(x).to_vector<float>(), y);
  drop.eval();
  EXPECT_TRUE(drop(x).shares_storage_with(x));
}

TEST(Residual, AddsTheShortcut) {
  auto body = std::make_shared<nn::Linear>(3, 3);
  nn::Residual block(body);
  const Tensor x = random({2, 3}, 1, kFloat32);
  EXPECT_TRUE(allclose(block(x), (*body)(x) + x));
  nn::Residual mismatched(std::make_shared<nn::Linear>(3, 4));
  EXPECT_THROW(mismatched(x), Error);
}
