// Sequence models of the model catalog (rnn:, lstm:, gru:), their recurrent inits, and the tasks
// of sequence data.
#include <gtest/gtest.h>

#include <cmath>

#include "actlab/experiment/training.h"
#include "actlab/nn/loss.h"
#include "actlab/nn/models.h"
#include "actlab/train/task.h"
#include "test_util.h"

namespace actlab {
namespace {

using testing::error_of;

experiment::Settings settings_for(const std::string& data, const std::string& model, const std::string& init = "default") {
  experiment::Settings s;
  s.data = data;
  s.model = model;
  s.activations = {"tanh"};
  s.init = init;
  return s;
}

double parameter_count(nn::Module& model) {
  double count = 0;
  for (const Tensor& p : model.parameters()) count += static_cast<double>(p.numel());
  return count;
}

TEST(SequenceModels, CountTheirParametersFromTheSpecAsBuilt) {
  for (const std::string spec : {"rnn:16", "lstm:16x2", "gru:8", "lstm:128", "gru:128"}) {
    const experiment::Settings s = settings_for("temporal-order:12", spec);
    const auto model = experiment::make_model(s, {12, 6}, 4, 1);
    EXPECT_EQ(experiment::model_size(s, {12, 6}, 4).parameters, parameter_count(*model)) << spec;
  }
  // lstm:128 on seq-mnist: 4 * 128 * (28 + 128 + 2) + 129 * 10, as torch.nn.LSTM(28, 128) + Linear(128, 10).
  EXPECT_EQ(experiment::model_size(settings_for("seq-mnist", "lstm:128"), {1, 28, 28}, 10).parameters,
            4.0 * 128 * (28 + 128 + 2) + 129 * 10);
}

TEST(SequenceModels, HeadOnTheLastStepOrOnEveryStep) {
  const auto last = experiment::make_model(settings_for("seq-mnist", "gru:8"), {1, 28, 28}, 10, 1);
  EXPECT_EQ((*last)(randn({3, 1, 28, 28})).shape(), (Shape{3, 10}));
  const auto per_step = experiment::make_model(settings_for("copy:5", "lstm:8"), {25, 10}, 10, 1);
  EXPECT_EQ((*per_step)(randn({3, 25, 10})).shape(), (Shape{3, 25, 10}));
  const auto regression = experiment::make_model(settings_for("adding:10", "rnn:8x2"), {10, 2}, 1, 1);
  EXPECT_EQ((*regression)(randn({4, 10, 2})).shape(), (Shape{4, 1}));
}

TEST(SequenceModels, RejectNonSequenceDataAndBadSpecs) {
  EXPECT_NE(error_of([] { experiment::make_model(settings_for("cifar10", "lstm:8"), {3, 32, 32}, 10, 0); })
                .find("seq-mnist"),
            std::string::npos);
  EXPECT_NE(error_of([] { experiment::make_model(settings_for("adding:10", "lstm"), {10, 2}, 1, 0); })
                .find("lstm:128"),
            std::string::npos);
  EXPECT_NE(error_of([] { experiment::make_model(settings_for("adding:10", "gru:8,8"), {10, 2}, 1, 0); })
                .find("gru:128x2"),
            std::string::npos);
}

TEST(SequenceModels, TheLastStepHeadSeesTheStackOutputAtTheLastStep) {
  nn::SequenceModelShape shape{nn::RecurrentBase::Cell::lstm, 3, 5, 2, 2, false};
  const auto model = nn::sequence_model(shape, {.activation = "tanh", .seed = 4});
  const Tensor x = randn({2, 6, 3});
  const auto [hidden, h_n, c_n] = model->run_stack(x);
  const Tensor expected = model->head_of(hidden);
  EXPECT_EQ((*model)(x).to_vector<float>(), expected.to_vector<float>());
  EXPECT_EQ(hidden.select(1, 5).to_vector<float>(), h_n.select(0, 1).to_vector<float>());
}

TEST(SequenceModels, IdentityInitGivesIrnnAndOrthogonalGivesOrthogonalGateBlocks) {
  const auto irnn = experiment::make_model(settings_for("adding:10", "rnn:6", "identity"), {10, 2}, 1, 0);
  auto& rnn = static_cast<nn::SequenceModel&>(*irnn).recurrent();
  const auto w = rnn.layers[0].weight_hh.to_vector<float>();
  for (std::int64_t i = 0; i < 6; ++i)
    for (std::int64_t j = 0; j < 6; ++j) EXPECT_EQ(w[i * 6 + j], i == j ? 1.0f : 0.0f);
  for (const float b : rnn.layers[0].bias_hh.to_vector<float>()) EXPECT_EQ(b, 0.0f);
  const auto lstm = experiment::make_model(settings_for("adding:10", "lstm:4", "orthogonal"), {10, 2}, 1, 0);
  const Tensor hh = static_cast<nn::SequenceModel&>(*lstm).recurrent().layers[0].weight_hh;
  for (std::int64_t g = 0; g < 4; ++g) {
    const Tensor block = hh.narrow(0, g * 4, 4);
    const auto gram = block.matmul(block.transpose(0, 1)).to_vector<float>();
    for (std::int64_t i = 0; i < 4; ++i)
      for (std::int64_t j = 0; j < 4; ++j) EXPECT_NEAR(gram[i * 4 + j], i == j ? 1.0 : 0.0, 1e-5) << "gate " << g;
  }
}

TEST(SequenceModels, ForgetBiasSetsTheForgetGatesTotalBias) {
  experiment::Settings s = settings_for("adding:10", "lstm:4");
  s.forget_bias = 1.0;
  const auto model = experiment::make_model(s, {10, 2}, 1, 0);
  const auto& w = static_cast<nn::SequenceModel&>(*model).recurrent().layers[0];
  const auto b_ih = w.bias_ih.to_vector<float>(), b_hh = w.bias_hh.to_vector<float>();
  for (std::int64_t j = 4; j < 8; ++j) EXPECT_EQ(b_ih[j] + b_hh[j], 1.0f);
  s.model = "gru:4";
  EXPECT_NE(error_of([&] { experiment::make_model(s, {10, 2}, 1, 0); }).find("LSTM cells only"), std::string::npos);
}

TEST(SequenceTasks, PerStepClassificationAveragesOverStepsAndCountsStepsPerSample) {
  const Tensor output = randn({2, 3, 4});
  data::Batch batch{Tensor(), from_vector<std::int64_t>({0, 1, 2, 3, 0, 1}, {2, 3})};
  const train::PerStepClassification task;
  EXPECT_NEAR(task.loss(output, batch).item(),
              nn::cross_entropy(output.reshape({6, 4}), batch.labels.reshape({6})).item(), 1e-6);
  const Tensor argmax = output.argmax(2);
  double matches = 0;
  for (std::int64_t i = 0; i < 6; ++i)
    matches += argmax.to_vector<std::int64_t>()[i] == batch.labels.to_vector<std::int64_t>()[i] ? 1 : 0;
  EXPECT_DOUBLE_EQ(*task.correct(output, batch), matches / 3);
  EXPECT_NE(error_of([&] { task.loss(randn({2, 4}), batch); }).find("[B, T, C]"), std::string::npos);
  EXPECT_EQ(train::make_task(data::Target::ClassPerStep)->name(), "per-step classification");
  EXPECT_EQ(train::make_task(data::Target::Value)->name(), "regression");
  EXPECT_EQ(train::make_task(data::Target::Class)->name(), "classification");
}

}  // namespace
}  // namespace actlab
