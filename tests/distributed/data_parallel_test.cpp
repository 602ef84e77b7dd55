// Data-parallel training under mpirun (distributed/data_parallel.h): 2 ranks with batch B train
// the weights 1 process trains with batch 2B, within 1e-5 (relative L2 norm of the weights) after
// 100 steps, and in deterministic mode exactly the weights of 1 process with batch 2B in 2
// accumulated micro-batches; a diverging run stops where one process stops; a deterministic run
// repeats bit for bit; and a run whose rank 1 is killed resumes to the files of the run that was
// not. Every process runs on one thread.
// Skipped when actlab is built without MPI.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "actlab/io/safetensors.h"
#include "child_process.h"
#include "data/data_test_util.h"
#include "distributed/mpirun.h"
#include "experiment/sweep_files.h"

namespace actlab {
namespace {

namespace fs = std::filesystem;

// 3200 spirals training samples: 25 steps per epoch at 128 samples, 100 steps in 4 epochs.
std::vector<std::string> run_args(const fs::path& out, int batch, bool deterministic,
                                  const std::string& activations = "tanh", const std::string& model = "mlp:32x2") {
  std::vector<std::string> args = {"compare", "--data", "spirals", "--model", model, "--activations", activations,
                                   "--epochs", "4", "--threads", "1", "--batch", std::to_string(batch),
                                   "--out", out.string()};
  if (deterministic) args.push_back("--deterministic");
  return args;
}

std::vector<std::string> data_parallel(std::vector<std::string> args) {
  args.push_back("--data-parallel");
  return args;
}

// ||a - b|| / ||a|| over every float32 tensor of two model files, and whether all are identical.
std::pair<double, bool> difference(const fs::path& a, const fs::path& b) {
  const io::SafetensorsContents x = io::load_safetensors(a.string()), y = io::load_safetensors(b.string());
  double diff = 0, norm = 0;
  bool identical = true;
  for (const auto& [name, tensor] : x.tensors) {
    const auto other = std::find_if(y.tensors.begin(), y.tensors.end(), [&](const auto& t) { return t.first == name; });
    EXPECT_NE(other, y.tensors.end()) << name;
    if (other == y.tensors.end() || tensor.dtype() != kFloat32) continue;
    const std::vector<float> u = tensor.to_vector<float>(), v = other->second.to_vector<float>();
    for (std::size_t i = 0; i < u.size(); ++i) {
      diff += (double(u[i]) - v[i]) * (double(u[i]) - v[i]);
      norm += double(u[i]) * u[i];
      identical = identical && u[i] == v[i];
    }
  }
  return {std::sqrt(diff / norm), identical};
}

class DataParallel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::built_with_mpi()) GTEST_SKIP() << test::kWithoutMpi;
    if (!fs::exists(test::actlab_program())) GTEST_SKIP() << test::actlab_program() << " is not built";
  }
  test::TempDir dir_;
};

TEST_F(DataParallel, TwoRanksOfBatchBTrainWhatOneProcessOfBatch2BTrains) {
  for (const bool deterministic : {false, true}) {
    const fs::path alone = dir_ / "alone", ranks = dir_ / "ranks";
    fs::remove_all(alone);
    fs::remove_all(ranks);
    ASSERT_EQ(test::Child(run_args(alone, 128, deterministic), "/dev/null", test::kAsRoot).wait(), 0);
    ASSERT_EQ(test::mpirun_two_ranks(data_parallel(run_args(ranks, 64, deterministic))), 0);
    // The batch's sum is split in two partial sums: float32 rounding, grown over 100 Adam steps
    // (4e-8 measured; a run that trained on other samples or batches differs by far more).
    EXPECT_LT(difference(alone / "models/tanh-seed1.safetensors", ranks / "models/tanh-seed1.safetensors").first, 1e-5)
        << "deterministic " << deterministic;
  }
}

TEST_F(DataParallel, DeterministicTwoRanksOfBatchBTrainExactlyWhatOneProcessAccumulatingTwoHalvesTrains) {
  // 300 x 3 units: the gradients fill three buckets, each exchanged while backward goes on.
  const std::string model = "mlp:300x3";
  const fs::path alone = dir_ / "accumulated", ranks = dir_ / "ranks";
  std::vector<std::string> accumulate = run_args(alone, 128, true, "tanh", model);
  accumulate.insert(accumulate.end(), {"--accumulate", "2"});
  ASSERT_EQ(test::Child(accumulate, "/dev/null", test::kAsRoot).wait(), 0);
  ASSERT_EQ(test::mpirun_two_ranks(data_parallel(run_args(ranks, 64, true, "tanh", model))), 0);
  // The same two halves, each rank's gradient weighted by its share and summed in rank order.
  const auto [relative, identical] =
      difference(alone / "models/tanh-seed1.safetensors", ranks / "models/tanh-seed1.safetensors");
  EXPECT_TRUE(identical) << "relative difference " << relative;
}

// The whole batch's loss is agreed before backward, so when it overflows every rank skips
// backward and the update at the same step, as one process does, and the job ends normally.
TEST_F(DataParallel, ARunThatDivergesStopsAtTheStepOneProcessStopsAt) {
  // 6 linear layers at lr 1000: the logits overflow within a few steps.
  auto diverging = [](const fs::path& out, int batch) {
    std::vector<std::string> args = run_args(out, batch, false, "identity", "mlp:64x6");
    args.insert(args.end(), {"--optimizer", "sgd", "--lr", "1000"});
    return args;
  };
  const fs::path alone = dir_ / "alone", ranks = dir_ / "ranks";
  ASSERT_EQ(test::Child(diverging(alone, 128), "/dev/null", test::kAsRoot).wait(), 0);
  ASSERT_EQ(test::mpirun_two_ranks(data_parallel(diverging(ranks, 64))), 0);
  const nlohmann::json one = test::summary_of(alone).at("runs").at(0), two = test::summary_of(ranks).at("runs").at(0);
  EXPECT_EQ(one.at("status"), "diverged");
  EXPECT_EQ(two.at("status"), "diverged");
  EXPECT_EQ(two.at("diverged_at_step"), one.at("diverged_at_step"));
}

TEST_F(DataParallel, DeterministicRunsRepeatBitForBit) {
  ASSERT_EQ(test::mpirun_two_ranks(data_parallel(run_args(dir_ / "first", 64, true))), 0);
  ASSERT_EQ(test::mpirun_two_ranks(data_parallel(run_args(dir_ / "second", 64, true))), 0);
  EXPECT_TRUE(difference(dir_ / "first/models/tanh-seed1.safetensors", dir_ / "second/models/tanh-seed1.safetensors").second);
}

TEST_F(DataParallel, AKilledRankLeavesARunThatResumesToTheSameFiles) {
  auto args = [](const fs::path& out) {
    std::vector<std::string> a = data_parallel(run_args(out, 64, false, "tanh,relu"));
    a.insert(a.end(), {"--dropout", "0.1", "--checkpoint-every", "10"});
    return a;
  };
  const fs::path whole = dir_ / "whole", killed = dir_ / "killed";
  ASSERT_EQ(test::mpirun_two_ranks(args(whole)), 0);
  // Rank 1 dies by SIGKILL at its 45th step, in the first run's second epoch; Open MPI ends the job.
  EXPECT_NE(test::mpirun_two_ranks(args(killed), "loop.step-end:45"), 0);
  ASSERT_TRUE(fs::exists(killed / "checkpoints")) << "the killed run left no checkpoint to resume from";
  ASSERT_EQ(test::mpirun_two_ranks({"compare", "--resume", killed.string(), "--data-parallel"}), 0);
  EXPECT_EQ(test::summary_of(killed), test::summary_of(whole));
  EXPECT_EQ(test::metrics_of(killed), test::metrics_of(whole));
  for (const char* model : {"tanh-seed1.safetensors", "relu-seed1.safetensors"})
    EXPECT_EQ(test::read_text(killed / "models" / model), test::read_text(whole / "models" / model)) << model;
}

}  // namespace
}  // namespace actlab
