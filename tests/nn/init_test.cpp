#include <gtest/gtest.h>

#include <cmath>

#include "actlab/actlab.h"
#include "actlab/nn/init.h"

using namespace actlab;
namespace init = actlab::nn::init;

namespace {
double std_of(const Tensor& t) { return t.std().item(); }
}  // namespace

TEST(Init, FansFollowPyTorch) {
  const auto conv = init::compute_fans(empty({16, 8, 3, 3}));
  EXPECT_EQ(conv.fan_in, 72);
  EXPECT_EQ(conv.fan_out, 144);
  const auto linear = init::compute_fans(empty({10, 784}));
  EXPECT_EQ(linear.fan_in, 784);
  EXPECT_EQ(linear.fan_out, 10);
}

TEST(Init, SpreadsMatchTheirFormulas) {
  Generator gen(3);
  Tensor w = empty({400, 300});
  init::kaiming_normal_(w, std::sqrt(2.0), init::FanMode::FanIn, gen);
  EXPECT_NEAR(std_of(w), std::sqrt(2.0 / 300), 0.01 * std::sqrt(2.0 / 300) * 3);
  init::kaiming_normal_(w, 1.0, init::FanMode::FanOut, gen);
  EXPECT_NEAR(std_of(w), std::sqrt(1.0 / 400), 0.03 * std::sqrt(1.0 / 400));
  init::xavier_uniform_(w, 1.0, gen);
  const double bound = std::sqrt(6.0 / 700);
  EXPECT_LE(w.abs().max().item(), bound);
  EXPECT_NEAR(std_of(w), bound / std::sqrt(3.0), 0.03 * bound);
  init::xavier_normal_(w, 2.0, gen);
  EXPECT_NEAR(std_of(w), 2.0 * std::sqrt(2.0 / 700), 0.03 * 2.0 * std::sqrt(2.0 / 700));
  init::lecun_normal_(w, gen);
  EXPECT_NEAR(std_of(w), std::sqrt(1.0 / 300), 0.03 * std::sqrt(1.0 / 300));
  init::kaiming_uniform_(w, 1.0, init::FanMode::FanIn, gen);
  EXPECT_LE(w.abs().max().item(), std::sqrt(3.0 / 300));
  init::standard_(w, 300, gen);
  EXPECT_LE(w.abs().max().item(), 1 / std::sqrt(300.0));
  EXPECT_GT(w.abs().max().item(), 0.95 / std::sqrt(300.0));
}

TEST(Init, OrthogonalRowsOrColumnsAreOrthonormal) {
  for (const Shape& shape : {Shape{6, 10}, Shape{10, 6}, Shape{4, 2, 3, 3}}) {
    Tensor w = empty(shape, kFloat64);
    init::orthogonal_(w, 2.0);
    const Tensor m = w.reshape({shape[0], -1});
    const bool wide = m.size(0) <= m.size(1);
    const Tensor gram = wide ? m.matmul(m.t()) : m.t().matmul(m);
    const std::int64_t n = gram.size(0);
    const Tensor eye = arange(n, kInt64).unsqueeze(1).eq(arange(n, kInt64).unsqueeze(0)).to(kFloat64) * 4.0;
    EXPECT_TRUE(allclose(gram, eye, 1e-10, 1e-10)) << shape_str(shape);
  }
}

TEST(Init, ByNameAcceptsAliasesAndListsChoicesOnError) {
  Tensor w = empty({5, 4});
  init::by_name("he_normal", w, std::sqrt(2.0));
  init::by_name("zeros", w);
  EXPECT_EQ(w.abs().max().item(), 0.0);
  try {
    init::by_name("kaiming", w);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("kaiming_normal"), std::string::npos) << e.what();
  }
  EXPECT_THROW(init::xavier_uniform_(empty({5})), Error);
}
