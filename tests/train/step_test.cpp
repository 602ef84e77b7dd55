// Gradient accumulation in the training step (train/step.h): K micro-batches give the gradient,
// loss and accuracy of the whole batch within float32 rounding, K = 1 is the plain step bit for
// bit, a K the batch cannot hold is refused with a message that says how to fix it, and a last
// batch too short for K micro-batches is dropped.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <vector>

#include "actlab/data/synthetic.h"
#include "actlab/experiment/runner.h"
#include "actlab/experiment/settings.h"
#include "actlab/nn/models.h"
#include "actlab/optim/optimizer.h"
#include "actlab/train/step.h"
#include "test_util.h"

namespace actlab {
namespace {

// 101 samples: micro-batches of unequal sizes for most K.
struct Fixture {
  data::Dataset samples = data::make_synthetic("spirals", {.samples = 101, .classes = 3, .seed = 1});
  data::Batch batch = data::DataLoader(samples, data::LoaderOptions().batch_size(101).seed(2)).batch_at(0, 0);
  std::shared_ptr<nn::Sequential> model = nn::mlp(2, {16, 16}, 3, {.activation = "tanh", .seed = 3});
  optim::SGD optimizer{model->parameters(), {.lr = 0.1}};
  train::Classification task;

  // Every gradient, as the step leaves it for the update (after_backward sees them).
  std::vector<float> gradients() const {
    std::vector<float> all;
    for (const Tensor& p : model->parameters())
      for (const float g : p.grad().to_vector<float>()) all.push_back(g);
    return all;
  }
};

train::StepOptions accumulating(std::int64_t micro_batches) {
  train::StepOptions options;
  options.accumulate = micro_batches;
  return options;
}

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(a[i]) * a[i];
  }
  return std::sqrt(diff / norm);
}

TEST(TrainStepAccumulate, MicroBatchesGiveTheWholeBatchGradientLossAndAccuracy) {
  Fixture whole;
  std::vector<float> expected;
  const train::StepResult one = train::train_step(*whole.model, whole.batch, whole.task, whole.optimizer, {},
                                                  [&](const train::StepResult&) { expected = whole.gradients(); });
  for (const std::int64_t k : {2, 3, 7, 101}) {
    Fixture f;
    std::vector<float> accumulated;
    const train::StepResult r = train::train_step(*f.model, f.batch, f.task, f.optimizer, accumulating(k),
                                                  [&](const train::StepResult&) { accumulated = f.gradients(); });
    ASSERT_EQ(accumulated.size(), expected.size());
    EXPECT_LT(relative_difference(expected, accumulated), 1e-6) << "K = " << k;
    EXPECT_NEAR(r.loss, one.loss, 1e-6 * one.loss) << "K = " << k;
    EXPECT_NEAR(r.grad_norm, one.grad_norm, 1e-5 * one.grad_norm) << "K = " << k;
    EXPECT_EQ(r.correct, one.correct) << "K = " << k;
    EXPECT_EQ(r.samples, 101) << "K = " << k;
    EXPECT_TRUE(r.updated) << "K = " << k;
  }
}

TEST(TrainStepAccumulate, OneMicroBatchIsThePlainStepBitForBit) {
  Fixture plain;  // zero_grad, forward, loss, backward by hand
  plain.optimizer.zero_grad();
  const Tensor loss = plain.task.loss((*plain.model)(plain.batch.images), plain.batch);
  loss.backward();
  const std::vector<float> expected = plain.gradients();
  Fixture f;
  std::vector<float> gradients;
  const train::StepResult r = train::train_step(*f.model, f.batch, f.task, f.optimizer, accumulating(1),
                                                [&](const train::StepResult&) { gradients = f.gradients(); });
  EXPECT_EQ(gradients, expected);
  EXPECT_EQ(r.loss, loss.item());
}

TEST(TrainStepAccumulate, AMicroBatchCountTheBatchCannotHoldIsRefused) {
  Fixture f;
  const std::string zero =
      testing::error_of([&] { train::train_step(*f.model, f.batch, f.task, f.optimizer, accumulating(0)); });
  EXPECT_NE(zero.find("--accumulate must be at least 1"), std::string::npos) << zero;
  const std::string more =
      testing::error_of([&] { train::train_step(*f.model, f.batch, f.task, f.optimizer, accumulating(102)); });
  EXPECT_NE(more.find("--accumulate: a batch of 101 samples cannot be split into 102 parts"), std::string::npos) << more;
  EXPECT_NE(more.find("use a larger --batch or a smaller --accumulate"), std::string::npos) << more;
}

TEST(TrainStepAccumulate, TheSettingRefusesZeroAndMoreMicroBatchesThanTheBatch) {
  experiment::Experiment e;
  const std::string zero =
      testing::error_of([&] { experiment::set_setting(e.base, "accumulate", "0", "--accumulate"); });
  EXPECT_NE(zero.find("--accumulate: accumulate must be at least 1, got 0"), std::string::npos) << zero;
  e.base.data = "spirals";
  e.base.model = "mlp:8";
  e.base.activations = {"relu"};
  e.base.batch = 16;
  experiment::set_setting(e.base, "accumulate", "16", "--accumulate");
  experiment::validate(e);
  experiment::set_setting(e.base, "accumulate", "17", "--accumulate");
  const std::string more = testing::error_of([&] { experiment::validate(e); });
  EXPECT_NE(more.find("--accumulate 17 splits each batch of 16 samples"), std::string::npos) << more;
  EXPECT_NE(more.find("at most --batch"), std::string::npos) << more;
}

TEST(TrainStepAccumulate, ALastBatchTooShortForTheMicroBatchesIsDroppedAndSaid) {
  const std::filesystem::path out = std::filesystem::temp_directory_path() / "actlab_accumulate_last_batch";
  std::filesystem::remove_all(out);
  experiment::Experiment e;
  e.base.data = "spirals";  // 3200 training samples = 2 x 1599 + 2: a last batch of 2 for 3 micro-batches
  e.base.model = "mlp:8";
  e.base.activations = {"relu"};
  e.base.batch = 1599;
  e.base.accumulate = 3;
  e.base.epochs = 1;
  e.base.diagnostics_every = 0;
  e.base.out = out.string();
  std::ostringstream log;
  const experiment::Outcome outcome = experiment::run_experiment(e, {.log = &log});
  ASSERT_EQ(outcome.summary.runs.size(), 1u);
  EXPECT_EQ(outcome.summary.runs.front().status, "ok");
  EXPECT_NE(log.str().find("leave a last batch of 2, too few for 3 parts (ranks x --accumulate) of 1 sample(s) or "
                           "more; it is dropped each epoch"), std::string::npos)
      << log.str();
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace actlab
