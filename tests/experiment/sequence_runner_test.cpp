// compare end to end on tiny sequence tasks: regression on adding:10 with two activations, and a
// per-step task, with the through-time diagnostics in the summary.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "actlab/experiment/runner.h"

namespace actlab::experiment {
namespace {

namespace fs = std::filesystem;

Experiment tiny(const std::string& data, const std::string& model, const std::string& out) {
  Experiment e;
  e.base.name = "tiny-sequence";
  e.base.data = data;
  e.base.model = model;
  e.base.activations = {"tanh", "relu"};
  e.base.epochs = 1;
  e.base.batch = 32;
  e.base.lr = 0.01;
  e.base.limit_train = 320;
  e.base.diagnostics_every = 5;
  e.base.threads = 1;
  e.base.out = (fs::temp_directory_path() / ("actlab_sequence_" + out)).string();
  fs::remove_all(e.base.out);
  return e;
}

TEST(SequenceCompare, AddingRegressionRunsEveryArmWithTheGradientThroughTime) {
  const Experiment e = tiny("adding:10", "rnn:8", "adding");
  std::ostringstream log;
  const Outcome outcome = run_experiment(e, {.log = &log});
  ASSERT_EQ(outcome.summary.runs.size(), 2u);
  for (const RunResult& run : outcome.summary.runs) {
    EXPECT_EQ(run.status, "ok") << log.str();
    ASSERT_EQ(run.epochs.size(), 1u);
    EXPECT_TRUE(std::isfinite(run.epochs[0].test_loss));
    EXPECT_LT(run.epochs[0].test_loss, 1.0);  // a sum of two values in [0, 1): an MSE far below its range
    const auto& through_time = run.diagnostics.at("through_time");
    ASSERT_GE(through_time.size(), 2u);  // at initialization and at the end
    EXPECT_EQ(through_time.back().at("grad_norms").size(), 10u);
    EXPECT_EQ(through_time.back().at("spectral_radius").size(), 1u);
  }
  EXPECT_TRUE(fs::exists(fs::path(e.base.out) / "report.html"));
  fs::remove_all(e.base.out);
}

TEST(SequenceCompare, PerStepCopyTaskScoresAFractionOfSteps) {
  Experiment e = tiny("copy:3", "gru:8", "copy");
  e.base.activations = {"tanh"};
  std::ostringstream log;
  const Outcome outcome = run_experiment(e, {.log = &log});
  ASSERT_EQ(outcome.summary.runs.size(), 1u);
  const auto& epoch = outcome.summary.runs[0].epochs.at(0);
  EXPECT_GE(epoch.test_acc, 0.0) << log.str();
  EXPECT_LE(epoch.test_acc, 1.0);
  EXPECT_EQ(outcome.summary.runs[0].diagnostics.at("through_time").back().at("gate_saturation").size(), 2u);
  fs::remove_all(e.base.out);
}

}  // namespace
}  // namespace actlab::experiment
