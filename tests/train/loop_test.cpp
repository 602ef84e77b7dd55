// The training loop runs any task and any observer without an edit: a regression task defined
// here (predict x + y from a 2-D point) trains through train::fit, and an observer defined here
// sees every event in the documented order.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "actlab/autograd/grad_mode.h"
#include "actlab/data/synthetic.h"
#include "actlab/nn/loss.h"
#include "actlab/nn/models.h"
#include "actlab/optim/optimizer.h"
#include "actlab/train/loop.h"

namespace actlab {
namespace {

// Targets computed from the inputs: the sum of the two coordinates.
class SumOfCoordinates final : public train::Task {
 public:
  std::string name() const override { return "sum-of-coordinates"; }
  Tensor loss(const Tensor& output, const data::Batch& batch) const override {
    return nn::mse_loss(output.reshape({-1}), batch.images.sum({1}));
  }
  std::optional<double> correct(const Tensor&, const data::Batch&) const override { return std::nullopt; }
};

// Writes one letter per event: b(egin) s(tep begin) a(fter backward) e(nd of step) E(poch) R(un end).
class EventLog final : public train::Observer {
 public:
  void on_run_begin(train::Run&) override { events += 'b'; }
  void on_step_begin(train::Run&, const data::Batch&) override { events += 's'; }
  void on_after_backward(train::Run&, const data::Batch&, const train::StepResult& r) override {
    events += 'a';
    finite_gradients = finite_gradients && std::isfinite(r.grad_norm);
  }
  void on_step_end(train::Run& run, const train::StepResult& r) override {
    events += 'e';
    EXPECT_TRUE(r.updated);
    EXPECT_FALSE(r.correct.has_value());
    steps_seen = run.state.step;
  }
  void on_epoch_end(train::Run&, const train::EpochMetrics& e) override {
    events += 'E';
    test_losses.push_back(e.test_loss);
  }
  void on_run_end(train::Run&) override { events += 'R'; }
  std::string events;
  std::int64_t steps_seen = 0;
  bool finite_gradients = true;
  std::vector<double> test_losses;
};

struct Fixture {
  data::Dataset train_set = data::make_synthetic("linear", {.samples = 256, .seed = 1});
  data::Dataset test_set = data::make_synthetic("linear", {.samples = 128, .seed = 2});
  std::shared_ptr<nn::Sequential> model = nn::mlp(2, {16}, 1, {.activation = "tanh", .seed = 3});
  optim::Adam optimizer{model->parameters(), {.lr = 0.02}};
  data::DataLoader loader{train_set, data::LoaderOptions().batch_size(32).seed(4)};
  SumOfCoordinates task;
  train::TrainState state;
  train::Run run{*model, optimizer, task, loader, state, 4};
};

TEST(TrainLoop, TestOnlyTaskAndObserverRunThroughTheRealLoop) {
  Fixture f;
  EventLog log;
  train::LoopOptions options;
  options.test = &f.test_set;
  train::fit(f.run, options, {&log});

  const std::string step = "sae";
  std::string expected = "b";
  for (int epoch = 0; epoch < 4; ++epoch) {
    for (int i = 0; i < 8; ++i) expected += step;
    expected += 'E';
  }
  expected += 'R';
  EXPECT_EQ(log.events, expected);
  EXPECT_EQ(log.steps_seen, 32);
  EXPECT_TRUE(log.finite_gradients);
  EXPECT_TRUE(f.state.finished);
  EXPECT_EQ(f.state.status, "ok");
  ASSERT_EQ(f.state.epochs.size(), 4u);
  EXPECT_TRUE(std::isnan(f.state.epochs.back().train_acc)) << "a regression task has no accuracy";
  // It learns: the test MSE of predicting x + y falls well below the variance of x + y.
  const double variance = f.test_set.inputs.sum({1}).square().mean().item();
  EXPECT_LT(log.test_losses.back(), 0.1 * variance);
  EXPECT_LT(log.test_losses.back(), log.test_losses.front());
}

TEST(TrainLoop, StopRequestEndsTheRunWithAStateThatResumesToTheSameModel) {
  Fixture whole;
  train::LoopOptions options;
  options.test = &whole.test_set;
  train::fit(whole.run, options, {});

  // Stop after 13 steps, save the state, rebuild everything and continue from it.
  Fixture first;
  std::int64_t asked = 0;
  options.should_stop = [&] { return ++asked > 13; };
  train::fit(first.run, options, {});
  EXPECT_EQ(first.state.status, "interrupted");
  EXPECT_FALSE(first.state.finished);
  EXPECT_EQ(first.state.step, 13);
  const nlohmann::json saved = train::to_json(first.state);
  EXPECT_EQ(train::to_json(train::state_from_json(saved)).dump(), saved.dump());

  Fixture second;
  second.state = train::state_from_json(saved);
  second.model->load_state_dict(first.model->state_dict());
  second.optimizer.load_state_dict(first.optimizer.state_dict());
  options.should_stop = nullptr;
  train::fit(second.run, options, {});
  EXPECT_EQ(second.state.step, whole.state.step);
  const auto a = second.model->state_dict(), b = whole.model->state_dict();
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].second.to_vector<float>(), b[i].second.to_vector<float>()) << a[i].first;
  auto without_seconds = [](const train::TrainState& state) {
    nlohmann::json epochs = train::to_json(state).at("epochs");
    for (auto& e : epochs) e.erase("seconds");
    return epochs.dump();
  };
  EXPECT_EQ(without_seconds(second.state), without_seconds(whole.state));
}

TEST(TrainLoop, NonFiniteLossMarksTheRunDivergedAndSkipsTheUpdate) {
  Fixture f;
  {
    NoGradGuard no_grad;
    f.model->parameters().front().fill_(NAN);
  }
  EventLog log;
  train::LoopOptions options;
  options.test = &f.test_set;
  train::fit(f.run, options, {&log});
  EXPECT_EQ(f.state.status, "diverged");
  EXPECT_EQ(f.state.diverged_at_step, 1);
  EXPECT_EQ(log.events, "bsaR") << "no step end, no epoch after a diverged first step";
}

}  // namespace
}  // namespace actlab
