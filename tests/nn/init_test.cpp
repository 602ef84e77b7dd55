#include <gtest/gtest.h>

#include <cmath>

#include "actlab/actlab.h"
#include "actlab/experiment/training.h"
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

TEST(Init, SpecsParseToTheirCanonicalForm) {
  EXPECT_EQ(init::parse("glorot").canonical(), "xavier");
  EXPECT_EQ(init::parse("kaiming_normal").canonical(), "he");
  EXPECT_EQ(init::parse("xavier:gain=auto").canonical(), "xavier:gain=auto");
  EXPECT_EQ(init::parse("glorot_uniform:gain=1.5").canonical(), "xavier:gain=1.5");
  EXPECT_EQ(init::parse("default").canonical(), "default");
  EXPECT_DOUBLE_EQ(init::parse("he").parameter(5.0 / 3), std::sqrt(2.0)) << "he's gain is published, not the activation's";
  EXPECT_DOUBLE_EQ(init::parse("he:gain=auto").parameter(5.0 / 3), 5.0 / 3);
  EXPECT_DOUBLE_EQ(init::parse("xavier").parameter(std::sqrt(2.0)), 1.0) << "xavier has gain 1 unless asked";
  for (const char* bad : {"kaiming_he", "xavier:1.5", "xavier:std=2", "default:gain=2", "xavier:gain=-1", "normal:std=auto"}) {
    try {
      init::parse(bad);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string(bad).substr(0, std::string(bad).find(':'))), std::string::npos)
          << e.what();
    }
  }
  try {
    init::parse("kaiming_he");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("xavier[:gain=auto|G]"), std::string::npos) << "lists the choices: " << e.what();
  }
}

// Every registry scheme on a large layer: the weight's std is the formula's within 2%, and the
// bias is as the scheme says.
TEST(Init, RegistrySchemesMatchTheirPublishedFormulas) {
  const double in = 1000, out = 600, gain = 5.0 / 3;
  const double uniform_std = 1 / std::sqrt(3.0);  // of U(-1, 1)
  struct Expected {
    const char* spec;
    double weight_std;
    double bias_bound;  // 0: zero biases
  };
  const Expected cases[] = {
      {"default", uniform_std / std::sqrt(in), 1 / std::sqrt(in)},
      {"standard", uniform_std / std::sqrt(in), 0},
      {"standard:gain=auto", gain * uniform_std / std::sqrt(in), 0},
      {"xavier", std::sqrt(6 / (in + out)) * uniform_std, 0},
      {"xavier:gain=auto", gain * std::sqrt(6 / (in + out)) * uniform_std, 0},
      {"xavier:gain=1.5", 1.5 * std::sqrt(6 / (in + out)) * uniform_std, 0},
      {"xavier_normal", std::sqrt(2 / (in + out)), 0},
      {"he", std::sqrt(2 / in), 0},
      {"he:gain=auto", gain / std::sqrt(in), 0},
      {"he_uniform", std::sqrt(2 / in), 0},
      {"lecun", std::sqrt(1 / in), 0},
      {"orthogonal", 1 / std::sqrt(in), 0},  // orthonormal rows of length in: each entry has variance 1/in
      {"normal", 0.01, 0},
      {"normal:std=0.1", 0.1, 0},
      {"uniform", 0.05 * uniform_std, 0},
  };
  Generator gen(9);
  for (const auto& c : cases) {
    Tensor weight = empty({static_cast<std::int64_t>(out), static_cast<std::int64_t>(in)});
    Tensor bias = full({static_cast<std::int64_t>(out)}, 7.0);
    init::apply(c.spec, weight, bias, gain, gen);
    EXPECT_NEAR(std_of(weight), c.weight_std, 0.02 * c.weight_std) << c.spec;
    EXPECT_NEAR(weight.mean().item(), 0.0, 0.05 * c.weight_std) << c.spec;
    if (c.bias_bound == 0) {
      EXPECT_EQ(bias.abs().max().item(), 0.0) << c.spec;
    } else {
      EXPECT_LE(bias.abs().max().item(), c.bias_bound) << c.spec;
      EXPECT_NEAR(std_of(bias), c.bias_bound * uniform_std, 0.1 * c.bias_bound * uniform_std) << c.spec;
    }
  }
}

// Conv weights use fan_in = in * k * k.
TEST(Init, ConvolutionFansEnterTheFormulas) {
  Generator gen(4);
  Tensor weight = empty({64, 32, 3, 3});
  init::apply("he", weight, Tensor(), 1.0, gen);
  EXPECT_NEAR(std_of(weight), std::sqrt(2.0 / (32 * 9)), 0.02 * std::sqrt(2.0 / (32 * 9)));
}

TEST(Init, RegistryDescribesEveryScheme) {
  ASSERT_EQ(init::names().size(), init::registry().size());
  for (const auto& s : init::registry()) {
    EXPECT_FALSE(s.weight.empty()) << s.name;
    EXPECT_FALSE(s.bias.empty()) << s.name;
    EXPECT_FALSE(s.source.empty()) << s.name;
    EXPECT_EQ(init::parse(s.name).scheme, &s);
    for (const auto& alias : s.aliases) EXPECT_EQ(init::parse(alias).scheme, &s) << alias;
  }
  Tensor zeros = full({3, 4}, 1.0);
  init::apply("zeros", zeros, Tensor(), 1.0);
  EXPECT_EQ(zeros.abs().max().item(), 0.0);
  EXPECT_THROW(init::xavier_uniform_(empty({5})), Error);
}

// The settings' --init goes through the registry: aliases resolve, "default" is accepted.
TEST(Init, SettingsNamesResolveThroughTheRegistry) {
  EXPECT_EQ(actlab::experiment::init_scheme("default"), "default");
  EXPECT_EQ(actlab::experiment::init_scheme("glorot:gain=auto"), "xavier:gain=auto");
  EXPECT_EQ(actlab::experiment::init_scheme("kaiming"), "he");
  EXPECT_THROW(actlab::experiment::init_scheme("heh"), Error);
}
