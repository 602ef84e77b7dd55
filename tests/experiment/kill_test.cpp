// Killing a sweep anywhere loses nothing: SIGKILL at every kind of point (failpoints, see
// core/failpoint.h) and at random moments, SIGINT and SIGTERM, each followed by --resume until
// the sweep completes, give byte for byte the models, metrics and summary of the sweep that was
// never interrupted (wall-clock fields aside). The arms draw random numbers (RReLU's slopes,
// Dropout's masks) and record gradient-flow snapshots, so every generator and the diagnostics
// history must survive. Runs the actlab program as a child process.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "child_process.h"
#include "experiment/sweep_files.h"
#include "data/data_test_util.h"

namespace actlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using test::Child;
using test::actlab_program;
using test::metrics_of;
using test::read_text;
using test::summary_of;

// Two arms (rrelu, relu), dropout in both, 3 epochs of 50 steps, a checkpoint every 25 steps
// (so one falls on each epoch's last batch) and a snapshot every 20.
std::vector<std::string> sweep_args(const fs::path& out) {
  return {"compare", "--data", "spirals", "--model", "mlp:16x2", "--activations", "rrelu,relu", "--dropout", "0.2",
          "--epochs", "3", "--batch", "64", "--schedule", "plateau:1", "--threads", "1", "--checkpoint-every", "25",
          "--diagnostics-every", "20", "--log-every", "10", "--out", out.string()};
}

// Starts the sweep in `out`, or continues it when it has begun; `failpoint` (if not empty) goes
// into ACTLAB_FAILPOINT.
std::unique_ptr<Child> continue_sweep(const fs::path& out, const std::string& failpoint = "") {
  const std::vector<std::string> environment = {failpoint.empty() ? "ACTLAB_FAILPOINT" : "ACTLAB_FAILPOINT=" + failpoint};
  if (fs::exists(out / "config.toml"))
    return std::make_unique<Child>(std::vector<std::string>{"compare", "--resume", out.string()}, "/dev/null", environment);
  fs::remove_all(out);
  return std::make_unique<Child>(sweep_args(out), "/dev/null", environment);
}

// Resumes until the sweep completes; false when a resume fails.
bool finish_sweep(const fs::path& out) {
  for (int attempt = 0; attempt < 3; ++attempt)
    if (continue_sweep(out)->wait(std::chrono::minutes(5)) == 0) return true;
  return false;
}

void expect_same_sweep(const fs::path& resumed, const fs::path& whole, const std::string& how) {
  const json a = summary_of(resumed), b = summary_of(whole);
  EXPECT_TRUE(a == b) << how << ": the summaries differ: " << json::diff(b, a).dump().substr(0, 2000);
  EXPECT_EQ(metrics_of(resumed), metrics_of(whole)) << how;
  for (const char* model : {"rrelu-seed1.safetensors", "relu-seed1.safetensors"})
    EXPECT_EQ(read_text(resumed / "models" / model), read_text(whole / "models" / model)) << how << ": " << model;
  EXPECT_FALSE(fs::exists(resumed / "checkpoints")) << how;
}

class KillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(actlab_program())) GTEST_SKIP() << actlab_program() << " is not built";
    ASSERT_EQ(Child(sweep_args(dir_ / "whole"), "/dev/null").wait(std::chrono::minutes(5)), 0);
  }
  test::TempDir dir_;
};

TEST_F(KillTest, SigkillAtEveryKindOfPointResumesToTheSameFiles) {
  // Each failpoint fires at its N-th pass (failpoints.h names them).
  const std::vector<std::pair<std::string, std::string>> points = {
      {"mid-epoch, 10 steps after a checkpoint", "loop.step-end:35"},
      {"right after the checkpoint of an epoch's last batch", "loop.step-end:50"},
      {"during an evaluation", "loop.evaluation:2"},
      {"during the first run's last evaluation", "loop.evaluation:3"},
      {"during a checkpoint write", "atomic-write.before-rename:4"},
      {"during a later checkpoint write", "atomic-write.before-rename:9"},
      {"between a run's final state and its summary", "run.finished:1"},
      {"between a run's summary and the checkpoint's removal", "run.summarized:1"},
      {"after the second run's final state", "run.finished:2"},
  };
  for (const auto& [how, point] : points) {
    const fs::path out = dir_ / ("killed-" + point);
    ASSERT_EQ(continue_sweep(out, point)->wait(std::chrono::minutes(5)), 128 + SIGKILL)
        << how << ": the failpoint " << point << " did not fire";
    ASSERT_TRUE(finish_sweep(out)) << how;
    expect_same_sweep(out, dir_ / "whole", how);
  }
}

TEST_F(KillTest, SigkillAtRandomMomentsResumesToTheSameFiles) {
  const fs::path out = dir_ / "random";
  std::mt19937 random(20261201);
  // How long an uninterrupted sweep takes here sets the range of the kill times: short enough
  // that 24 kills come before the sweep can finish, even when the machine's load changes.
  const auto start = std::chrono::steady_clock::now();
  Child(sweep_args(dir_ / "timed"), "/dev/null").wait(std::chrono::minutes(5));
  const auto sweep_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  std::uniform_int_distribution<int> delay_ms(1, std::max<int>(2, static_cast<int>(sweep_ms.count()) / 20));
  int kills = 0;
  for (int attempt = 0; attempt < 400 && kills < 24; ++attempt) {
    const auto sweep = continue_sweep(out);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    sweep->signal(SIGKILL);
    const int status = sweep->wait();
    if (status == 128 + SIGKILL) ++kills;
    if (status == 0) break;  // finished before the kill
  }
  EXPECT_GE(kills, 20);
  ASSERT_TRUE(finish_sweep(out));
  expect_same_sweep(out, dir_ / "whole", "random kills");
}

TEST_F(KillTest, SigintAndSigtermLeaveAResumableRun) {
  for (const int signal : {SIGINT, SIGTERM}) {
    const fs::path out = dir_ / ("signal-" + std::to_string(signal));
    const auto sweep = continue_sweep(out);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!fs::exists(out / "models" / "rrelu-seed1.safetensors") && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    sweep->signal(signal);
    EXPECT_EQ(sweep->wait(), 128 + signal) << "signal " << signal;
    ASSERT_TRUE(finish_sweep(out)) << "signal " << signal;
    expect_same_sweep(out, dir_ / "whole", "signal " + std::to_string(signal));
  }
}

}  // namespace
}  // namespace actlab
