// Gradient-flow diagnostics: recorder statistics against direct computation, verdicts on the
// textbook cases (deep tanh with standard init, dead ReLUs after a too-large step), the NaN locator.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "actlab/actlab.h"
#include "actlab/diagnostics/locator.h"
#include "actlab/diagnostics/recorder.h"
#include "actlab/diagnostics/verdicts.h"
#include "actlab/nn/layers.h"
#include "actlab/nn/loss.h"
#include "actlab/nn/models.h"
#include "actlab/optim/optimizer.h"

using namespace actlab;
using diagnostics::Recorder;

namespace {

data::Batch synthetic_batch(std::int64_t samples, std::int64_t features, std::int64_t classes, std::uint64_t seed) {
  Generator gen(seed);
  return {randn({samples, features}, gen), randint(0, classes, {samples}, gen)};
}

std::vector<std::string> kinds(const nlohmann::json& d) {
  std::vector<std::string> out;
  for (const auto& v : d["verdicts"]) out.push_back(v["kind"]);
  return out;
}

bool has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

nlohmann::json diagnose_at_init(const std::string& activation, const std::string& init) {
  auto model = nn::mlp(32, std::vector<std::int64_t>(20, 64), 4, {.activation = activation, .init = init, .seed = 3});
  Recorder recorder(model, synthetic_batch(128, 32, 4, 7));
  recorder.record(0);
  return diagnostics::to_json(recorder, {});
}

}  // namespace

TEST(Diagnostics, DeepTanhWithStandardInitIsVanishing) {
  const auto d = diagnose_at_init("tanh", "standard");
  EXPECT_TRUE(has(kinds(d), "vanishing")) << diagnostics::format_table(d) << diagnostics::format_verdicts(d);
  // Says where: the first and last weighted layers by name.
  const std::string evidence = d["verdicts"][0]["evidence"];
  EXPECT_NE(evidence.find("first layer '1'"), std::string::npos) << evidence;
  EXPECT_NE(evidence.find("last layer '41'"), std::string::npos) << evidence;
  EXPECT_FALSE(d["verdicts"][0]["remedies"].empty());
}

TEST(Diagnostics, MatchedInitIsNotVanishing) {
  for (const auto& [activation, init] : {std::pair{"tanh", "xavier_normal"}, std::pair{"relu", "kaiming_normal"}}) {
    const auto d = diagnose_at_init(activation, init);
    EXPECT_FALSE(has(kinds(d), "vanishing")) << activation << " " << init << "\n" << diagnostics::format_verdicts(d);
    EXPECT_FALSE(has(kinds(d), "exploding")) << activation << " " << init << "\n" << diagnostics::format_verdicts(d);
  }
}

// Ten Adam steps on a ReLU MLP; the verdicts of its snapshots at init and after training.
static nlohmann::json train_relu(double lr) {
  auto model = nn::mlp(16, {64, 64, 64}, 4, {.activation = "relu", .init = "kaiming_normal", .seed = 1});
  Recorder recorder(model, synthetic_batch(256, 16, 4, 11));
  recorder.record(0);
  optim::Adam adam(model->parameters(), {.lr = lr});
  for (std::int64_t step = 1; step <= 10; ++step) {
    const data::Batch batch = synthetic_batch(64, 16, 4, 100 + static_cast<std::uint64_t>(step));
    adam.zero_grad();
    nn::cross_entropy((*model)(batch.images), batch.labels).backward();
    recorder.before_update();
    adam.step();
  }
  recorder.record(10);
  return diagnostics::to_json(recorder, {});
}

TEST(Diagnostics, TooLargeLearningRateKillsReluUnits) {
  const auto d = train_relu(0.1);
  const auto verdicts = d["verdicts"];
  const auto dead = std::find_if(verdicts.begin(), verdicts.end(), [](const auto& v) { return v["kind"] == "dead"; });
  ASSERT_NE(dead, verdicts.end()) << diagnostics::format_table(d) << diagnostics::format_verdicts(d);
  EXPECT_EQ((*dead)["step"], 10) << "nothing is dead at initialization; training killed the units";
  EXPECT_TRUE(d["snapshots"][1]["layers"][0]["update_ratio"].is_number());
  EXPECT_TRUE(d["snapshots"][0]["layers"][0]["update_ratio"].is_null());
  const auto gentle = train_relu(1e-3);
  EXPECT_FALSE(has(kinds(gentle), "dead")) << diagnostics::format_table(gentle);
}

// Linear(3 -> 5) then tanh: every statistic recomputed here from the tensors themselves.
TEST(Diagnostics, RecorderStatisticsMatchDirectComputation) {
  Generator gen(5);
  auto linear = std::make_shared<nn::Linear>(3, 5, nn::LinearOptions{}, gen);
  auto head = std::make_shared<nn::Linear>(5, 2, nn::LinearOptions{}, gen);
  auto model = std::make_shared<nn::Sequential>(
      std::initializer_list<std::shared_ptr<nn::Module>>{linear, std::make_shared<nn::Activation>("tanh"), head});
  const data::Batch probe = synthetic_batch(40, 3, 2, 9);
  Recorder recorder(model, probe);
  ASSERT_EQ(recorder.layers().size(), 3u);
  EXPECT_TRUE(recorder.layers()[0].weighted);
  EXPECT_TRUE(recorder.layers()[1].activation);
  const Tensor weight_before = linear->weight.clone();
  const auto& s = recorder.record(0);
  EXPECT_FALSE(linear->weight.grad().defined()) << "the probe's gradients must be discarded";
  EXPECT_EQ(linear->weight.to_vector<float>(), weight_before.to_vector<float>());

  // Direct: the pre-activation z, a = tanh(z), and dL/da, dL/dz by hand.
  Tensor z = (*linear)(probe.images).detach().requires_grad_();
  Tensor a = make_activation("tanh")->forward(z);
  Tensor a_leaf = a.detach().requires_grad_();
  Tensor logits = head->forward(a_leaf);
  nn::cross_entropy(logits, probe.labels).backward();
  const std::vector<float> av = a.detach().to_vector<float>(), zv = z.detach().to_vector<float>();
  std::vector<float> sorted = av;
  std::sort(sorted.begin(), sorted.end());
  double mean = 0, sq = 0;
  for (float v : av) mean += v;
  mean /= static_cast<double>(av.size());
  for (float v : av) sq += (v - mean) * (v - mean);
  const auto& act = s.layers[1];
  EXPECT_NEAR(act.mean, mean, 1e-5);
  EXPECT_NEAR(act.std, std::sqrt(sq / static_cast<double>(av.size())), 1e-5);
  EXPECT_FLOAT_EQ(act.p50, sorted[static_cast<std::size_t>(std::llround(0.5 * (sorted.size() - 1)))]);
  EXPECT_FLOAT_EQ(act.p5, sorted[static_cast<std::size_t>(std::llround(0.05 * (sorted.size() - 1)))]);
  EXPECT_NEAR(*act.negative_input_fraction,
              static_cast<double>(std::count_if(zv.begin(), zv.end(), [](float v) { return v < 0; })) / zv.size(), 1e-12);
  std::int64_t saturated = 0;  // |tanh'(z)| = 1 - tanh(z)^2 < 1% of its maximum 1
  for (float v : av) saturated += 1 - v * v < 0.01f ? 1 : 0;
  EXPECT_NEAR(*act.saturated_fraction, static_cast<double>(saturated) / av.size(), 1e-12);
  EXPECT_EQ(*act.dead_fraction, 0.0);
  std::int64_t in_histogram = 0;
  for (auto c : act.histogram) in_histogram += c;
  EXPECT_EQ(in_histogram, static_cast<std::int64_t>(av.size()));
  double grad_sq = 0;
  for (float g : a_leaf.grad().to_vector<float>()) grad_sq += static_cast<double>(g) * g;
  EXPECT_NEAR(act.grad_norm, std::sqrt(grad_sq), 1e-6);
  // The gradient reaching the linear layer's output is dL/dz = dL/da * (1 - a^2).
  double z_grad_sq = 0;
  const std::vector<float> ga = a_leaf.grad().to_vector<float>();
  for (std::size_t i = 0; i < ga.size(); ++i) z_grad_sq += std::pow(ga[i] * (1 - av[i] * av[i]), 2.0);
  EXPECT_NEAR(s.layers[0].grad_norm, std::sqrt(z_grad_sq), 1e-6);
  EXPECT_FLOAT_EQ(act.min, sorted.front());
  EXPECT_FLOAT_EQ(act.max, sorted.back());
  // The gradient's histogram spans its range [min, max] in equal bins, the maximum in the last.
  const auto [grad_min, grad_max] = std::minmax_element(ga.begin(), ga.end());
  EXPECT_FLOAT_EQ(act.grad_min, *grad_min);
  EXPECT_FLOAT_EQ(act.grad_max, *grad_max);
  EXPECT_NEAR(act.grad_mean, std::accumulate(ga.begin(), ga.end(), 0.0) / static_cast<double>(ga.size()), 1e-9);
  std::vector<std::int64_t> grad_bins(diagnostics::kHistogramBins, 0);
  const double width = (static_cast<double>(*grad_max) - *grad_min) / diagnostics::kHistogramBins;
  for (float g : ga)
    ++grad_bins[std::min<std::size_t>(static_cast<std::size_t>((g - static_cast<double>(*grad_min)) / width),
                                      diagnostics::kHistogramBins - 1)];
  EXPECT_EQ(act.grad_histogram, grad_bins);
  ASSERT_TRUE(s.layers[0].weight_grad_norm.has_value());
  EXPECT_GT(*s.layers[0].weight_grad_norm, 0);
}

TEST(Diagnostics, ProbeLeavesBatchNormStatisticsAndModeAlone) {
  auto model = nn::mlp(8, {16, 16}, 3, {.activation = "sigmoid", .norm = nn::Norm::Batch, .dropout = 0.3, .seed = 2});
  const auto before = model->named_buffers();
  std::vector<std::vector<float>> values;
  for (const auto& [name, b] : before) values.push_back(b.to_vector<float>());
  Recorder recorder(model, synthetic_batch(32, 8, 3, 4));
  recorder.record(0);
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(before[i].second.to_vector<float>(), values[i]) << before[i].first;
  EXPECT_TRUE(model->is_training());
}

TEST(Diagnostics, DeadUnitsAreZeroForEverySample) {
  auto linear = std::make_shared<nn::Linear>(2, 4);
  {
    NoGradGuard no_grad;
    linear->weight.zero_();
    linear->bias.copy_(from_vector<float>({-1, -1, 1, 0.5f}, {4}));  // units 0 and 1 never fire
    linear->weight.select(0, 2).fill_(1);                            // unit 2 fires for some samples only
  }
  auto model = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      linear, std::make_shared<nn::Activation>("relu"), std::make_shared<nn::Linear>(4, 2)});
  Recorder recorder(model, synthetic_batch(64, 2, 2, 1));
  const auto& s = recorder.record(0);
  EXPECT_DOUBLE_EQ(*s.layers[1].dead_fraction, 0.5);
  EXPECT_FALSE(s.layers[1].saturated_fraction.has_value()) << "ReLU keeps its slope for x > 0: dead, not saturated";
}

TEST(Diagnostics, LocatorNamesTheLayerOfAForwardNaN) {
  auto model = nn::mlp(6, {8, 8, 8}, 2, {.activation = "tanh", .seed = 4});
  diagnostics::Locator locator(model);
  const data::Batch batch = synthetic_batch(16, 6, 2, 3);
  EXPECT_NO_THROW(locator.backward(1, nn::cross_entropy(locator.forward(1, batch.images), batch.labels)));
  {
    NoGradGuard no_grad;
    Tensor weight = model->named_parameters()[2].second;  // "3.weight": the second Linear
    ASSERT_EQ(model->named_parameters()[2].first, "3.weight");
    weight.at<float>({1, 2}) = NAN;
  }
  try {
    locator.forward(7, batch.images);
    FAIL() << "the NaN was not reported";
  } catch (const diagnostics::AnomalyError& e) {
    EXPECT_EQ(e.anomaly.step, 7);
    EXPECT_EQ(e.anomaly.phase, "forward");
    EXPECT_EQ(e.anomaly.layer, "3");
    EXPECT_EQ(e.anomaly.layer_type, "Linear");
    ASSERT_EQ(e.anomaly.inputs.size(), 1u);
    EXPECT_EQ(e.anomaly.inputs[0].second.non_finite, 0) << "its input was still finite";
    EXPECT_NE(std::string(e.what()).find("layer 3 (Linear)"), std::string::npos) << e.what();
  }
  // Evaluation outside the locator is not checked.
  EXPECT_NO_THROW((*model)(batch.images));
}

namespace {

// sqrt(|x|): finite forward, infinite gradient at 0.
struct SqrtAbs : nn::Module {
  SqrtAbs() : Module("SqrtAbs") {}
  Tensor forward(const Tensor& x) override { return x.abs().sqrt(); }
};

}  // namespace

TEST(Diagnostics, LocatorNamesTheLayerAndOpOfABackwardInfinity) {
  auto model = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::Activation>("relu"), std::make_shared<SqrtAbs>(),
      std::make_shared<nn::Linear>(4, 2)});
  diagnostics::Locator locator(model);
  const data::Batch batch = synthetic_batch(8, 3, 2, 5);
  const Tensor logits = locator.forward(3, batch.images);  // relu gives exact zeros: sqrt' is infinite there
  try {
    locator.backward(3, nn::cross_entropy(logits, batch.labels));
    FAIL() << "the infinite gradient was not reported";
  } catch (const diagnostics::AnomalyError& e) {
    EXPECT_EQ(e.anomaly.phase, "backward");
    EXPECT_EQ(e.anomaly.layer, "2");
    EXPECT_EQ(e.anomaly.layer_type, "SqrtAbs");
    EXPECT_EQ(e.anomaly.op, "sqrt");
  }
  EXPECT_FALSE(autograd::anomaly_detection()) << "anomaly detection is restored after the backward pass";
}

TEST(Diagnostics, JudgeReportsNonFiniteAsExploding) {
  diagnostics::Anomaly anomaly{.step = 12, .phase = "backward", .layer = "5", .layer_type = "Linear", .op = "matmul", .inputs = {}};
  const auto verdicts = diagnostics::judge({}, {}, {}, anomaly);
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].kind, "exploding");
  EXPECT_EQ(verdicts[0].step, 12);
  EXPECT_NE(verdicts[0].evidence.find("layer 5 (Linear), op 'matmul'"), std::string::npos) << verdicts[0].evidence;
}

namespace {

// Three weighted layers with an activation after the first two; one snapshot per (step, loss),
// every layer's gradient norm scaled by `grad` and updates of `update` times the weights.
struct Made {
  std::vector<diagnostics::LayerInfo> layers = {{"1", "Linear", true, false},
                                                {"2", "Activation(relu)", false, true},
                                                {"3", "Linear", true, false},
                                                {"4", "Activation(relu)", false, true},
                                                {"5", "Linear", true, false}};
  std::vector<diagnostics::Snapshot> snapshots;

  void add(std::int64_t step, double loss, double grad, std::optional<double> update) {
    diagnostics::Snapshot s;
    s.step = step;
    s.loss = loss;
    for (const auto& l : layers) {
      diagnostics::LayerStats stats;
      stats.std = 1;
      stats.grad_norm = grad;
      if (l.activation) stats.dead_fraction = 0.0;
      if (l.weighted) {
        stats.weight_grad_norm = grad;
        stats.update_ratio = update;
      }
      s.layers.push_back(stats);
    }
    snapshots.push_back(s);
  }
};

diagnostics::RunFacts facts(const std::vector<double>& losses, std::int64_t steps_per_loss = 100) {
  diagnostics::RunFacts f;
  f.classes = 10;
  f.planned_steps = f.steps_done = steps_per_loss * static_cast<std::int64_t>(losses.size());
  for (std::size_t i = 0; i < losses.size(); ++i)
    f.step_losses.emplace_back(static_cast<std::int64_t>(i + 1) * steps_per_loss, losses[i]);
  f.epoch_train_losses = {losses.back()};
  f.settings = {{"data", "mnist", "mnist"}, {"activations", "relu", "sigmoid,tanh"}, {"init", "he", "standard"},
                {"lr", "0.01", "0.001"}, {"out", "runs/x", ""}};
  return f;
}

std::vector<std::string> kinds_of(const std::vector<diagnostics::Verdict>& verdicts) {
  std::vector<std::string> out;
  for (const auto& v : verdicts) out.push_back(v.kind);
  return out;
}

}  // namespace

// The quick-start case: the gradient grows 300-fold from a small start while the loss falls.
TEST(Verdicts, GrowthFromASmallInitialGradientWhileLearningIsNotExplosion) {
  Made m;
  m.add(0, 2.30, 0.001, std::nullopt);
  for (std::int64_t k = 1; k <= 5; ++k) m.add(k * 100, 2.3 / static_cast<double>(k + 1), 0.3, 3e-3);
  const auto verdicts = diagnostics::judge(m.layers, m.snapshots, {}, std::nullopt, facts({1.5, 1.0, 0.7, 0.5, 0.4}));
  EXPECT_TRUE(verdicts.empty()) << verdicts.front().kind << ": " << verdicts.front().evidence;
}

TEST(Verdicts, AGradientSpikeWithALossJumpIsExplosion) {
  Made m;
  m.add(0, 2.30, 0.1, std::nullopt);
  m.add(100, 1.0, 0.1, 3e-3);
  m.add(200, 0.8, 0.1, 3e-3);
  m.add(300, 2.0, 5.0, 3e-3);  // 50 times the running median, loss 2.5 times its best
  const auto verdicts = diagnostics::judge(m.layers, m.snapshots, {}, std::nullopt, facts({1.2, 0.9, 2.0}));
  ASSERT_TRUE(has(kinds_of(verdicts), "exploding"));
  EXPECT_EQ(verdicts.front().step, 300);
  EXPECT_NE(verdicts.front().evidence.find("running median"), std::string::npos) << verdicts.front().evidence;
}

TEST(Verdicts, ARunThatDidNotLearnIsStalledAndNeverHealthy) {
  Made m;
  m.add(0, 2.303, 0.1, std::nullopt);
  for (std::int64_t k = 1; k <= 4; ++k) m.add(k * 100, 2.30, 0.1, 3e-3);
  const auto verdicts = diagnostics::judge(m.layers, m.snapshots, {}, std::nullopt, facts({2.302, 2.301, 2.30, 2.30}));
  ASSERT_EQ(kinds_of(verdicts), std::vector<std::string>{"stalled"});
  EXPECT_NE(verdicts[0].evidence.find("chance (ln 10 = 2.303)"), std::string::npos) << verdicts[0].evidence;
  EXPECT_NE(verdicts[0].evidence.find("no cause found"), std::string::npos) << verdicts[0].evidence;
  // The same run while it learns is healthy.
  EXPECT_TRUE(diagnostics::judge(m.layers, m.snapshots, {}, std::nullopt, facts({2.0, 1.2, 0.6, 0.4})).empty());
}

TEST(Verdicts, StalledNamesTheLearningRateWhenUpdatesAreTiny) {
  Made m;
  m.add(0, 2.303, 0.1, std::nullopt);
  for (std::int64_t k = 1; k <= 4; ++k) m.add(k * 100, 2.30, 0.1, 1e-6);
  const auto verdicts = diagnostics::judge(m.layers, m.snapshots, {}, std::nullopt, facts({2.303, 2.303, 2.303, 2.303}));
  ASSERT_EQ(kinds_of(verdicts), (std::vector<std::string>{"lr_too_small", "stalled"}));
  EXPECT_NE(verdicts[1].evidence.find("most likely cause: lr_too_small"), std::string::npos) << verdicts[1].evidence;
  // lr 0.01 moving the weights 1e-6 per step: 1000 times larger.
  ASSERT_FALSE(verdicts[0].remedies.empty());
  EXPECT_NE(verdicts[0].remedies[0].find("--lr 10"), std::string::npos) << verdicts[0].remedies[0];
}

// Remedies are rerun commands with the arm's settings, and never what is already in effect.
TEST(Verdicts, RemediesAreCommandsAndSkipWhatIsInEffect) {
  Made m;
  m.add(0, 2.303, 0.1, std::nullopt);
  m.snapshots[0].layers[0].grad_norm = 1e-5;  // vanishing at initialization
  const auto f = facts({2.303, 2.303, 2.303, 2.303});
  const auto verdicts = diagnostics::judge(m.layers, m.snapshots, {}, std::nullopt, f);
  ASSERT_TRUE(has(kinds_of(verdicts), "vanishing"));
  for (const auto& v : verdicts)
    for (const auto& remedy : v.remedies) {
      EXPECT_FALSE(remedy.starts_with("the init published")) << "He init is in effect: " << remedy;
      EXPECT_EQ(remedy.find("--out"), std::string::npos) << remedy;
      // The settings not at their defaults, in order, then the change.
      EXPECT_NE(remedy.find("actlab compare --activations relu --init he --lr 0.01"), std::string::npos) << remedy;
    }
  EXPECT_NE(verdicts.front().remedies.front().find("--norm batch"), std::string::npos) << verdicts.front().remedies.front();
  // A recurrent model takes no normalization between layers, so that remedy is left out.
  auto recurrent = f;
  recurrent.settings.push_back({"model", "lstm:128", "mlp:256x4"});
  for (const auto& v : diagnostics::judge(m.layers, m.snapshots, {}, std::nullopt, recurrent))
    for (const auto& remedy : v.remedies) EXPECT_EQ(remedy.find("--norm"), std::string::npos) << remedy;
}

TEST(Verdicts, ANonFiniteTrainingLossIsExplosionEvenWithoutTheLocator) {
  Made m;
  m.add(0, 2.30, 0.1, std::nullopt);
  auto f = facts({2.2});
  f.diverged_at_step = 5;
  const auto verdicts = diagnostics::judge(m.layers, m.snapshots, {}, std::nullopt, f);
  ASSERT_EQ(kinds_of(verdicts), std::vector<std::string>{"exploding"});
  EXPECT_EQ(verdicts[0].step, 5);
}
