// A training set that leaves a last batch of one sample cannot be batch-normalized (its variance
// is 0): the run drops that batch each epoch and says so, instead of aborting the sweep.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "actlab/experiment/runner.h"

namespace actlab::experiment {
namespace {

namespace fs = std::filesystem;

TEST(BatchNormLastBatch, ALastBatchOfOneIsDroppedAndSaid) {
  const fs::path out = fs::temp_directory_path() / "actlab_batchnorm_last_batch";
  fs::remove_all(out);
  Experiment e;
  e.base.data = "spirals";  // 4000 samples, 800 of them for validation: 3200 = 3199 + 1
  e.base.model = "mlp:16";
  e.base.activations = {"relu"};
  e.base.norm = "batch";
  e.base.batch = 3199;
  e.base.epochs = 2;
  e.base.diagnostics_every = 0;
  e.base.out = out.string();
  std::ostringstream log;
  const Outcome outcome = run_experiment(e, {.log = &log});
  ASSERT_EQ(outcome.summary.runs.size(), 1u);
  const RunResult& run = outcome.summary.runs.front();
  EXPECT_EQ(run.status, "ok");
  ASSERT_EQ(run.epochs.size(), 2u);
  EXPECT_TRUE(std::isfinite(run.epochs.back().train_loss));
  EXPECT_NE(log.str().find("leave a last batch of 1, which BatchNorm cannot normalize; it is dropped"), std::string::npos)
      << log.str();
  fs::remove_all(out);
}

}  // namespace
}  // namespace actlab::experiment
