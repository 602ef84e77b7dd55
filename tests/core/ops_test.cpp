// Values of elementwise ops, reductions and matmul against straightforward loops.
#include <gtest/gtest.h>

#include "test_util.h"

#include <cmath>
#include <limits>

#include "actlab/actlab.h"

namespace actlab {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

using testing::error_of;

TEST(Elementwise, BroadcastsLikeNumPy) {
  const Tensor a = from_vector<float>({1, 2, 3}, {3, 1});
  const Tensor b = from_vector<float>({10, 20}, {2});
  const Tensor c = a + b;
  EXPECT_EQ(c.shape(), (Shape{3, 2}));
  EXPECT_EQ(c.to_vector<float>(), (std::vector<float>{11, 21, 12, 22, 13, 23}));
  EXPECT_EQ((a * b - 1.0).to_vector<float>(), (std::vector<float>{9, 19, 19, 39, 29, 59}));
  EXPECT_EQ((b / 4.0).to_vector<float>(), (std::vector<float>{2.5, 5}));
  EXPECT_EQ((1.0 - b).to_vector<float>(), (std::vector<float>{-9, -19}));
  EXPECT_NE(error_of([] { ones({2, 3}) + ones({4}); }).find("add: shapes [2,3] and [4] cannot be broadcast"),
            std::string::npos);
}

TEST(Elementwise, LargeStridedOperandsMatchContiguous) {
  Generator gen(2);
  const Tensor a = randn({300, 500}, gen);
  const Tensor b = randn({500, 300}, gen);
  const Tensor strided = a + b.t();
  const Tensor reference = a + b.t().contiguous();
  EXPECT_TRUE(allclose(strided, reference, 0, 0));
  const Tensor row = randn({500}, gen);
  const Tensor bias = a + row;
  EXPECT_FLOAT_EQ(bias.at<float>({123, 456}), a.at<float>({123, 456}) + row.at<float>({456}));
}

TEST(Elementwise, PromotesDtypes) {
  const Tensor i = arange(3);
  EXPECT_EQ((i + i).dtype(), kInt64);
  EXPECT_EQ((i * 2.0).dtype(), kInt64);
  EXPECT_EQ((i * 0.5).dtype(), kFloat32);
  EXPECT_EQ((i / 2.0).to_vector<float>(), (std::vector<float>{0, 0.5, 1}));
  EXPECT_EQ((ones({2}) + ones({2}, kFloat64)).dtype(), kFloat64);
}

TEST(Elementwise, MathFunctions) {
  const Tensor x = from_vector<double>({0.25, 1.0, 4.0});
  EXPECT_TRUE(allclose(x.sqrt(), from_vector<double>({0.5, 1, 2})));
  EXPECT_TRUE(allclose(x.log().exp(), x));
  EXPECT_TRUE(allclose(x.pow(2.0), x.square()));
  EXPECT_TRUE(allclose(x.pow(from_vector<double>({2, 0, 0.5})), from_vector<double>({0.0625, 1, 2})));
  EXPECT_EQ((-x).abs().to_vector<double>(), x.to_vector<double>());
  EXPECT_EQ(from_vector<float>({-2, 0.5, 3}).clamp(-1, 1).to_vector<float>(), (std::vector<float>{-1, 0.5, 1}));
  EXPECT_TRUE(std::isnan(from_vector<float>({NAN}).clamp(0, 1).item()));
  EXPECT_EQ(maximum(from_vector<float>({1, 5}), from_vector<float>({3, 2})).to_vector<float>(),
            (std::vector<float>{3, 5}));
  EXPECT_TRUE(std::isnan(maximum(from_vector<float>({NAN}), from_vector<float>({1})).item()));
  EXPECT_NE(error_of([] { ones({2}, kInt64).exp(); }).find("exp: needs a float32 or float64 tensor"),
            std::string::npos);
}

TEST(Elementwise, ComparisonsAndWhere) {
  const Tensor a = from_vector<float>({1, 2, 3});
  const Tensor b = from_vector<float>({3, 2, 1});
  EXPECT_EQ(a.lt(b).to_vector<std::uint8_t>(), (std::vector<std::uint8_t>{1, 0, 0}));
  EXPECT_EQ(a.ge(b).to_vector<std::uint8_t>(), (std::vector<std::uint8_t>{0, 1, 1}));
  EXPECT_EQ(a.eq(b).sum().item(), 1.0);
  EXPECT_EQ(where(a.gt(b), a, b).to_vector<float>(), (std::vector<float>{3, 2, 3}));
  // Counting a long uint8 mask does not overflow.
  EXPECT_EQ(ones({1000}).eq(ones({1000})).sum().item(), 1000.0);
}

TEST(InPlace, UpdatesAndBroadcasts) {
  Tensor t = ones({2, 3});
  t.add_(from_vector<float>({1, 2, 3}), 2.0);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{3, 5, 7, 3, 5, 7}));
  t.mul_(0.5).sub_(ones({1}));
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{0.5, 1.5, 2.5, 0.5, 1.5, 2.5}));
  t.clamp_(1, 2);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 1.5, 2, 1, 1.5, 2}));
  t.div_(full({2, 1}, 2.0)).zero_();
  EXPECT_EQ(t.sum().item(), 0.0);
  Tensor w = ones({2}).requires_grad_();
  EXPECT_NE(error_of([&] { w.add_(1.0); }).find("NoGradGuard"), std::string::npos);
  {
    NoGradGuard no_grad;
    w.add_(1.0);
  }
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{2, 2}));
  EXPECT_NE(error_of([&] { ones({2}).add_(ones({3, 2})); }).find("does not broadcast"), std::string::npos);
}

TEST(Reductions, SumMeanOverAnyDims) {
  const Tensor t = arange(0.0, 24.0, 1.0, kFloat64).reshape({2, 3, 4});
  EXPECT_EQ(t.sum().item(), 276.0);
  EXPECT_EQ(t.sum({0}).to_vector<double>()[5], 5.0 + 17.0);
  EXPECT_EQ(t.sum({0, 2}).to_vector<double>(), (std::vector<double>{60, 92, 124}));
  EXPECT_EQ(t.sum({-1}, true).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(t.mean({1}).at<double>({1, 3}), (15.0 + 19.0 + 23.0) / 3.0);
  EXPECT_EQ(t.permute({2, 0, 1}).sum({1}).to_vector<double>(), t.sum({0}).t().contiguous().to_vector<double>());
  EXPECT_NE(error_of([&] { t.sum({1, 1}); }).find("repeated"), std::string::npos);
}

TEST(Reductions, LongSumIsAccurateAndThreadIndependent) {
  Generator gen(4);
  const Tensor x = rand({5'000'000}, gen);
  double reference = 0;
  for (float v : x.to_vector<float>()) reference += v;
  const int saved = num_threads();
  set_num_threads(1);
  const double one = x.sum().item();
  set_num_threads(2);
  const double two = x.sum().item();
  set_num_threads(saved);
  EXPECT_NEAR(one, reference, 1e-6 * reference);
  EXPECT_EQ(one, two);
}

TEST(Reductions, VarStdLogsumexp) {
  const Tensor x = from_vector<double>({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(x.var().item(), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(x.var({}, 0).item(), 1.25);
  EXPECT_DOUBLE_EQ(x.std({}, 0).item(), std::sqrt(1.25));
  const Tensor big = from_vector<double>({1e4, -1e4, 1e4 - 1});
  EXPECT_NEAR(big.logsumexp({0}).item(), 1e4 + std::log(1 + std::exp(-1.0)), 1e-9);
  EXPECT_EQ(from_vector<double>({-kInf, -kInf}).logsumexp({0}).item(), -kInf);
  EXPECT_EQ(from_vector<double>({kInf, 1}).logsumexp({0}).item(), kInf);
}

TEST(Reductions, MaxMinArgmaxWithNaN) {
  const Tensor t = from_vector<float>({3, 9, 1, 4, 2, 8}, {2, 3});
  EXPECT_EQ(t.max(1).to_vector<float>(), (std::vector<float>{9, 8}));
  EXPECT_EQ(t.min(0).to_vector<float>(), (std::vector<float>{3, 2, 1}));
  EXPECT_EQ(t.argmax(1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(t.argmin(0, true).shape(), (Shape{1, 3}));
  EXPECT_EQ(t.argmax().item(), 1.0);
  EXPECT_EQ(t.max().item(), 9.0);
  const Tensor n = from_vector<float>({1, NAN, 5});
  EXPECT_TRUE(std::isnan(n.max().item()));
  EXPECT_EQ(n.argmax(0).item(), 1.0);
}

TEST(Indexing, IndexSelectGatherCat) {
  const Tensor t = arange(0.0, 6.0, 1.0, kFloat32).reshape({3, 2});
  EXPECT_EQ(t.index_select(0, from_vector<std::int64_t>({2, 0})).to_vector<float>(),
            (std::vector<float>{4, 5, 0, 1}));
  EXPECT_EQ(t.gather(1, from_vector<std::int64_t>({1, 0, 1}, {3, 1})).to_vector<float>(),
            (std::vector<float>{1, 2, 5}));
  EXPECT_NE(error_of([&] { t.gather(1, from_vector<std::int64_t>({2, 0, 1}, {3, 1})); }).find("index 2 is out of range"),
            std::string::npos);
  EXPECT_EQ(cat({t, t}, 1).shape(), (Shape{3, 4}));
  EXPECT_EQ(cat({t, t}, 1).to_vector<float>()[2], 0.0f);
  EXPECT_EQ(stack({t, t}).shape(), (Shape{2, 3, 2}));
  EXPECT_NE(error_of([&] { cat({t, ones({2, 3})}, 0); }).find("differ outside dim 0"), std::string::npos);
}

// Naive reference product of contiguous row-major [n, k] x [k, m].
std::vector<double> naive_matmul(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  const std::int64_t n = a.size(0), k = a.size(1), m = b.size(1);
  std::vector<double> c(static_cast<std::size_t>(n * m), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t p = 0; p < k; ++p)
      for (std::int64_t j = 0; j < m; ++j) c[i * m + j] += va[i * k + p] * vb[p * m + j];
  return c;
}

TEST(Matmul, MatchesNaiveForEveryLayout) {
  Generator gen(11);
  const Tensor a = randn({7, 5}, gen, kFloat64), b = randn({5, 3}, gen, kFloat64);
  const auto expected = from_vector(naive_matmul(a, b), {7, 3});
  EXPECT_TRUE(allclose(a.matmul(b), expected, 1e-12, 1e-12));
  EXPECT_TRUE(allclose(a.t().contiguous().t().matmul(b), expected, 1e-12, 1e-12));   // transposed A
  EXPECT_TRUE(allclose(a.matmul(b.t().contiguous().t()), expected, 1e-12, 1e-12));   // transposed B
  // A column slice has strides BLAS cannot take: the fallback copies.
  const Tensor wide = randn({7, 10}, gen, kFloat64);
  const Tensor sliced = wide.slice(1, 0, 10, 2);
  EXPECT_TRUE(allclose(sliced.matmul(b), from_vector(naive_matmul(sliced.contiguous(), b), {7, 3}), 1e-12, 1e-12));
  // float32 through sgemm.
  EXPECT_TRUE(allclose(a.to(kFloat32).matmul(b.to(kFloat32)), expected.to(kFloat32), 1e-5, 1e-5));
}

TEST(Matmul, BatchedVectorAndErrors) {
  Generator gen(12);
  const Tensor a = randn({4, 3, 5}, gen, kFloat64), b = randn({5, 2}, gen, kFloat64);
  const Tensor c = a.matmul(b);
  EXPECT_EQ(c.shape(), (Shape{4, 3, 2}));
  for (std::int64_t i = 0; i < 4; ++i) EXPECT_TRUE(allclose(c.select(0, i), a.select(0, i).matmul(b), 1e-12, 1e-12));
  const Tensor bb = randn({2, 1, 5, 2}, gen, kFloat64);
  EXPECT_EQ(a.matmul(bb).shape(), (Shape{2, 4, 3, 2}));
  const Tensor v = randn({5}, gen, kFloat64);
  EXPECT_EQ(a.matmul(v).shape(), (Shape{4, 3}));
  EXPECT_EQ(v.matmul(v).dim(), 0);
  EXPECT_EQ(error_of([] { zeros({32, 784}).matmul(zeros({256, 128})); }),
            "matmul: [32,784] x [256,128]: inner dims differ (784 vs 256)");
  EXPECT_NE(error_of([] { zeros({2, 2}).matmul(zeros({2, 2}, kFloat64)); }).find("dtypes differ"), std::string::npos);
  EXPECT_EQ(zeros({3, 0}).matmul(zeros({0, 2})).sum().item(), 0.0);
}

}  // namespace
}  // namespace actlab
