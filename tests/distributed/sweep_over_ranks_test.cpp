// Sweeps under mpirun (distributed/sweep.h): two ranks give run by run the files of the same
// sweep in one process, and a sweep whose rank 1 is killed resumes, with one process or with two
// ranks, to those files too. Runs `mpirun --oversubscribe -np 2 actlab compare ...` as a child
// process; skipped when actlab is built without MPI.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "child_process.h"
#include "data/data_test_util.h"
#include "distributed/mpirun.h"
#include "experiment/sweep_files.h"

namespace actlab {
namespace {

namespace fs = std::filesystem;
using test::Child;
using test::kAsRoot;
using test::mpirun_two_ranks;
using test::read_text;

// Three arms x two seeds, dropout (its generator must travel with the run), checkpoints every 10 steps.
std::vector<std::string> sweep_args(const fs::path& out) {
  return {"compare", "--data", "spirals", "--model", "mlp:16x2", "--activations", "rrelu,relu,tanh", "--seeds", "2",
          "--dropout", "0.1", "--epochs", "2", "--batch", "64", "--threads", "1", "--checkpoint-every", "10",
          "--log-every", "10", "--out", out.string()};
}

class SweepOverRanks : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::built_with_mpi()) GTEST_SKIP() << test::kWithoutMpi;
    if (!fs::exists(test::actlab_program())) GTEST_SKIP() << test::actlab_program() << " is not built";
    ASSERT_EQ(Child(sweep_args(dir_ / "one-process"), "/dev/null", kAsRoot).wait(std::chrono::minutes(2)), 0);
  }

  void expect_same_sweep(const fs::path& out, const std::string& how) const {
    const fs::path whole = dir_ / "one-process";
    EXPECT_EQ(test::summary_of(out), test::summary_of(whole)) << how;
    EXPECT_EQ(test::metrics_of(out), test::metrics_of(whole)) << how;
    for (const auto& model : fs::directory_iterator(whole / "models"))
      EXPECT_EQ(read_text(out / "models" / model.path().filename()), read_text(model.path()))
          << how << ": " << model.path().filename();
    EXPECT_FALSE(fs::exists(out / "checkpoints")) << how;
    EXPECT_FALSE(fs::exists(out / "run-metrics")) << how;
  }

  test::TempDir dir_;
};

TEST_F(SweepOverRanks, TwoRanksGiveTheOneProcessSweepRunByRun) {
  ASSERT_EQ(mpirun_two_ranks(sweep_args(dir_ / "two-ranks")), 0);
  expect_same_sweep(dir_ / "two-ranks", "two ranks");
}

TEST_F(SweepOverRanks, AKilledRankLeavesASweepThatResumesToTheSameFiles) {
  for (const bool resume_over_ranks : {false, true}) {
    const fs::path out = dir_ / (resume_over_ranks ? "resumed-over-ranks" : "resumed-alone");
    // Rank 1 dies by SIGKILL at its 25th step, in its second run; Open MPI then ends the job.
    EXPECT_NE(mpirun_two_ranks(sweep_args(out), "loop.step-end:25"), 0);
    ASSERT_TRUE(fs::exists(out / "checkpoints")) << "the killed sweep left no checkpoint to resume from";
    const std::vector<std::string> resume = {"compare", "--resume", out.string()};
    if (resume_over_ranks)
      ASSERT_EQ(mpirun_two_ranks(resume), 0);
    else
      ASSERT_EQ(Child(resume, "/dev/null", kAsRoot).wait(std::chrono::minutes(2)), 0);
    expect_same_sweep(out, resume_over_ranks ? "resumed with two ranks" : "resumed in one process");
  }
}

}  // namespace
}  // namespace actlab
