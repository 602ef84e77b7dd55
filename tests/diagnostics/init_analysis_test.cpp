// Dead units counted on many samples, and the Glorot & Bengio analysis of an initialization.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "actlab/actlab.h"
#include "actlab/diagnostics/dead_units.h"
#include "actlab/diagnostics/init_analysis.h"
#include "actlab/nn/init.h"
#include "actlab/nn/layers.h"
#include "actlab/nn/models.h"

using namespace actlab;

TEST(DeadUnits, AUnitIsDeadOnlyWhenZeroOnEverySample) {
  Generator gen(2);
  auto linear = std::make_shared<nn::Linear>(2, 3, nn::LinearOptions{}, gen);
  {
    NoGradGuard no_grad;
    Tensor(linear->weight).copy_(from_vector(std::vector<float>{0, 0, 1, 0, 0, 1}, {3, 2}));
    Tensor(linear->bias).copy_(from_vector(std::vector<float>{-1, 0, 0}, {3}));
  }
  auto model = std::make_shared<nn::Sequential>(
      std::initializer_list<std::shared_ptr<nn::Module>>{linear, std::make_shared<nn::Activation>("relu")});
  // Unit 0 is -1 for every sample; unit 1 is positive for one sample in 3000 only.
  std::vector<float> xy(6000, -1.0f);
  xy[2 * 2999] = 1.0f;
  const auto counts = diagnostics::count_dead_units(*model, from_vector(xy, {3000, 2}), 256);
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].layer, "1");
  EXPECT_EQ(counts[0].units, 3);
  EXPECT_EQ(counts[0].dead, 2) << "units 0 and 2 never fire; unit 1 fires on the last sample";
  EXPECT_EQ(counts[0].samples, 3000);
}

TEST(InitAnalysis, SingularValuesOfAKnownMatrix) {
  // [[3, 0], [4, 5]]: A^T A = [[25, 20], [20, 25]], eigenvalues 45 and 5.
  auto sv = diagnostics::singular_values({3, 0, 4, 5}, 2, 2);
  std::sort(sv.begin(), sv.end());
  EXPECT_NEAR(sv[0], std::sqrt(5.0), 1e-9);
  EXPECT_NEAR(sv[1], std::sqrt(45.0), 1e-9);
  // A wide [2, 3] matrix with orthogonal rows of lengths 2 and 1.
  sv = diagnostics::singular_values({2, 0, 0, 0, 0, 1}, 2, 3);
  std::sort(sv.begin(), sv.end());
  EXPECT_NEAR(sv[0], 1.0, 1e-9);
  EXPECT_NEAR(sv[1], 2.0, 1e-9);
}

// Glorot & Bengio 2010, Fig. 6-7 and section 4.2.1: with tanh, the normalized init keeps the
// Jacobians' mean singular values nearer 1 and the activations' spread from collapsing with depth.
TEST(InitAnalysis, NormalizedInitKeepsTanhLayersNearerUnitGain) {
  Generator gen(3);
  const data::Batch probe{randn({64, 100}, gen), randint(0, 10, {64}, gen)};
  auto analyse = [&](const std::string& init) {
    auto model = nn::mlp(100, std::vector<std::int64_t>(5, 100), 10, {.activation = "tanh", .init = init, .seed = 1});
    return diagnostics::analyse_init(*model, probe);
  };
  const auto standard = analyse("standard"), normalized = analyse("xavier");
  ASSERT_EQ(standard.size(), 6u);
  EXPECT_EQ(standard[0].layer, "1");
  for (std::size_t i = 0; i + 1 < standard.size(); ++i) {
    ASSERT_TRUE(standard[i].jacobian_mean_sv && normalized[i].jacobian_mean_sv);
    EXPECT_LT(*standard[i].jacobian_mean_sv, *normalized[i].jacobian_mean_sv) << standard[i].layer;
    EXPECT_LT(*normalized[i].jacobian_mean_sv, 1.0);
  }
  const auto spread = [](const std::vector<diagnostics::InitLayer>& l) { return l[4].activation_std / l[0].activation_std; };
  EXPECT_LT(spread(standard), spread(normalized));
  EXPECT_GT(standard[0].weight_grad_std, 0.0);
  EXPECT_GT(standard[0].backprop_grad_std, 0.0);
}

// An orthogonal square layer with no activation after it: every singular value is 1.
TEST(InitAnalysis, OrthogonalOutputLayerHasUnitSingularValues) {
  Generator gen(4);
  auto model = nn::mlp(16, {16}, 16, {.activation = "relu", .init = "orthogonal", .seed = 2});
  const auto layers = diagnostics::analyse_init(*model, {randn({8, 16}, gen), randint(0, 16, {8}, gen)});
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_NEAR(*layers[1].jacobian_mean_sv, 1.0, 1e-5);
}

// The measuring passes leave BatchNorm's running statistics, the mode and the gradients alone.
TEST(DeadUnits, CountingLeavesTheModelAsItWas) {
  Generator gen(5);
  auto model = nn::mlp(8, {16, 16}, 3, {.activation = "relu", .init = "he", .norm = nn::Norm::Batch, .seed = 3});
  const data::Batch probe{randn({32, 8}, gen), randint(0, 3, {32}, gen)};
  const Tensor weight = model->parameters().front();
  weight.set_grad(full(weight.shape(), 0.5));
  std::vector<Tensor> before;
  for (const auto& [name, b] : model->named_buffers()) before.push_back(b.clone());
  ASSERT_FALSE(before.empty());
  diagnostics::count_dead_units(*model, probe.images);
  diagnostics::analyse_init(*model, probe);
  std::size_t i = 0;
  for (const auto& [name, b] : model->named_buffers()) EXPECT_TRUE(allclose(b, before[i++], 0, 0)) << name;
  EXPECT_TRUE(model->is_training());
  EXPECT_TRUE(allclose(weight.grad(), full(weight.shape(), 0.5), 0, 0));
}
