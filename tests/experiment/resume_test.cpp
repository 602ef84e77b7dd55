// Resuming a sweep killed with SIGKILL gives exactly the results of an uninterrupted one; one
// thread makes runs repeat bit for bit, --deterministic makes them independent of the thread
// count, and without it two threads stay within the tolerance docs/CHECKPOINTS.md states. Runs
// the actlab program as a child process.
#include <signal.h>

#include <gtest/gtest.h>

#include <map>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "actlab/io/safetensors.h"
#include "child_process.h"
#include "data/data_test_util.h"

namespace actlab {
namespace {

namespace fs = std::filesystem;

using test::actlab_program;
using test::read_text;

std::vector<std::string> sweep_args(const fs::path& out) {
  return {"compare", "--data", "spirals", "--model", "mlp:32x2", "--activations", "relu,tanh", "--epochs", "6",
          "--batch", "16", "--schedule", "step:2:0.5", "--threads", "1", "--checkpoint-every", "40",
          "--out", out.string()};
}

// The exit status of actlab run with `args`.
int run(const std::vector<std::string>& args) { return test::Child(args, "/dev/null").wait(std::chrono::minutes(5)); }

// Every recorded number of every run but the wall-clock ones and the gradient-flow snapshots
// (compared by snapshots_match, as a resumed run records them from the resume point on).
nlohmann::json results(const fs::path& out) {
  nlohmann::json summary = nlohmann::json::parse(read_text(out / "summary.json"));
  nlohmann::json runs = summary.at("runs");
  for (auto& r : runs) {
    r.erase("wall_seconds");
    r.erase("samples_per_second");
    r.erase("diagnostics");
    for (auto& e : r.at("epochs")) e.erase("seconds");
  }
  return runs;
}

// Each snapshot of the resumed sweep equals the uninterrupted sweep's snapshot at the same step.
void expect_snapshots_match(const fs::path& resumed, const fs::path& whole) {
  const auto a = nlohmann::json::parse(read_text(resumed / "summary.json")).at("runs");
  const auto b = nlohmann::json::parse(read_text(whole / "summary.json")).at("runs");
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t r = 0; r < a.size(); ++r) {
    if (!a[r].contains("diagnostics")) continue;
    std::map<std::int64_t, nlohmann::json> by_step;
    for (const auto& snap : b[r].at("diagnostics").at("snapshots")) by_step[snap.at("step")] = snap;
    const auto& snaps = a[r].at("diagnostics").at("snapshots");
    EXPECT_FALSE(snaps.empty());
    for (const auto& snap : snaps) EXPECT_EQ(snap, by_step[snap.at("step")]) << "run " << r << " step " << snap.at("step");
  }
}

// The step lines of metrics.csv (epoch lines hold timings).
std::string step_lines(const fs::path& out) {
  std::istringstream in(read_text(out / "metrics.csv"));
  std::string lines;
  for (std::string line; std::getline(in, line);)
    if (line.find(",step,") != std::string::npos) lines += line + '\n';
  return lines;
}

std::int64_t checkpoint_step(const fs::path& path) {
  try {
    return std::stoll(io::load_safetensors(path.string()).metadata.at("step"));
  } catch (const Error&) {
    return -1;  // not there (yet, or any more)
  }
}

TEST(Resume, SweepKilledMidRunResumesToTheSameResults) {
  if (!fs::exists(actlab_program())) GTEST_SKIP() << actlab_program() << " is not built";
  test::TempDir dir;
  ASSERT_EQ(run(sweep_args(dir / "whole")), 0);

  // Kill the second run in its fourth epoch, after the schedule has seen three epochs.
  test::Child sweep(sweep_args(dir / "killed"), "/dev/null");
  const fs::path checkpoint = dir / "killed" / "checkpoints" / "tanh-seed1.safetensors";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (checkpoint_step(checkpoint) < 640 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  sweep.signal(SIGKILL);
  ASSERT_EQ(sweep.wait(), 128 + SIGKILL) << "the sweep finished before it could be killed";
  ASSERT_TRUE(fs::exists(checkpoint));
  EXPECT_TRUE(fs::exists(dir / "killed" / "models" / "relu-seed1.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "killed" / "models" / "tanh-seed1.safetensors"));

  ASSERT_EQ(run({"compare", "--resume", (dir / "killed").string()}), 0);
  EXPECT_EQ(results(dir / "killed"), results(dir / "whole"));
  expect_snapshots_match(dir / "killed", dir / "whole");
  EXPECT_EQ(step_lines(dir / "killed"), step_lines(dir / "whole"));
  for (const char* model : {"relu-seed1.safetensors", "tanh-seed1.safetensors"})
    EXPECT_EQ(read_text(dir / "killed" / "models" / model), read_text(dir / "whole" / "models" / model)) << model;
  EXPECT_FALSE(fs::exists(dir / "killed" / "checkpoints"));
}

TEST(Resume, OneThreadRepeatsBitForBit) {
  if (!fs::exists(actlab_program())) GTEST_SKIP() << actlab_program() << " is not built";
  test::TempDir dir;
  const std::vector<std::string> common = {"compare", "--data", "moons", "--model", "mlp:16x2", "--activations", "gelu",
                                           "--epochs", "2", "--dropout", "0.2", "--threads", "1", "--out"};
  auto args = [&](const char* name) {
    auto a = common;
    a.push_back((dir / name).string());
    return a;
  };
  ASSERT_EQ(run(args("first")), 0);
  ASSERT_EQ(run(args("second")), 0);
  EXPECT_EQ(results(dir / "first"), results(dir / "second"));
  EXPECT_EQ(read_text(dir / "first" / "models" / "gelu-seed1.safetensors"),
            read_text(dir / "second" / "models" / "gelu-seed1.safetensors"));
}

// A MNIST workload whose matrix products are large enough for BLAS to split them over threads.
std::vector<std::string> mnist_args(const fs::path& out, const std::string& threads, const std::string& model = "mlp:256x2") {
  return {"compare", "--model", model, "--norm", "batch", "--activations", "relu", "--epochs", "1", "--limit-train",
          "4000", "--val-size", "1000", "--threads", threads, "--out", out.string()};
}

bool have_mnist() {
  const char* data = std::getenv("ACTLAB_DATA");
  return data != nullptr && fs::exists(fs::path(data) / "mnist");
}

TEST(Determinism, FlagMakesResultsIndependentOfTheThreadCount) {
  if (!fs::exists(actlab_program())) GTEST_SKIP() << actlab_program() << " is not built";
  if (!have_mnist()) GTEST_SKIP() << "ACTLAB_DATA does not point at the real datasets";
  for (const std::string model : {"mlp:256x2", "lenet5"}) {  // Linear + BatchNorm1d; Conv2d + BatchNorm2d + pooling
    test::TempDir dir;
    for (const char* threads : {"1", "2"}) {
      auto args = mnist_args(dir / threads, threads, model);
      args.push_back("--deterministic");
      ASSERT_EQ(run(args), 0);
    }
    EXPECT_EQ(results(dir / "1"), results(dir / "2")) << model;
    EXPECT_EQ(read_text(dir / "1" / "models" / "relu-seed1.safetensors"),
              read_text(dir / "2" / "models" / "relu-seed1.safetensors"))
        << model;
  }
}

TEST(Determinism, TwoThreadsMatchOneWithinTheStatedTolerance) {
  if (!fs::exists(actlab_program())) GTEST_SKIP() << actlab_program() << " is not built";
  if (!have_mnist()) GTEST_SKIP() << "ACTLAB_DATA does not point at the real datasets";
  test::TempDir dir;
  ASSERT_EQ(run(mnist_args(dir / "1", "1")), 0);
  ASSERT_EQ(run(mnist_args(dir / "2", "2")), 0);
  const auto one = results(dir / "1").at(0).at("epochs").back(), two = results(dir / "2").at(0).at("epochs").back();
  for (const char* loss : {"train_loss", "val_loss", "test_loss"})
    EXPECT_NEAR(two.at(loss).get<double>(), one.at(loss).get<double>(), 2e-3 * one.at(loss).get<double>()) << loss;
  for (const char* accuracy : {"val_acc", "test_acc"})
    EXPECT_NEAR(two.at(accuracy).get<double>(), one.at(accuracy).get<double>(), 0.005) << accuracy;
}

TEST(Resume, RejectsOtherSettings) {
  if (!fs::exists(actlab_program())) GTEST_SKIP() << actlab_program() << " is not built";
  test::TempDir dir;
  EXPECT_EQ(run({"compare", "--resume", dir.path().string(), "--epochs", "3"}), 2);
}

}  // namespace
}  // namespace actlab
