// The compare runner end to end on small data: outputs, divergence, validation before training.
#include "actlab/experiment/runner.h"

#include <gtest/gtest.h>

#include "test_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "actlab/core/error.h"

namespace actlab::experiment {
namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("actlab_runner_" + name);
  fs::remove_all(dir);
  return dir.string();
}

Experiment small(const std::string& out) {
  Experiment e;
  e.base.name = "small";
  e.base.data = "moons";
  e.base.model = "mlp:16,16";
  e.base.activations = {"relu", "tanh"};
  e.base.epochs = 2;
  e.base.batch = 64;
  e.base.lr = 0.01;
  e.base.log_every = 10;
  e.base.out = out;
  return e;
}

std::size_t count_lines(const fs::path& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

TEST(Runner, WritesEveryOutput) {
  const std::string out = fresh_dir("outputs");
  std::ostringstream log;
  const Outcome outcome = run_experiment(small(out), {.log = &log});
  EXPECT_FALSE(outcome.interrupted);
  for (const char* file : {"config.toml", "metrics.jsonl", "metrics.csv", "summary.json", "report.md", "report.html"})
    EXPECT_TRUE(fs::exists(fs::path(out) / file)) << file;
  std::ifstream in(fs::path(out) / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(in);
  ASSERT_EQ(summary["runs"].size(), 2u);
  const auto& run = summary["runs"][0];
  EXPECT_EQ(run["activation"], "relu");
  EXPECT_EQ(run["status"], "ok");
  EXPECT_EQ(run["epochs"].size(), 2u);
  const double acc = run["final"]["test_acc"];
  EXPECT_GT(acc, 0.75);  // two moons are easy for a small ReLU MLP
  EXPECT_LE(acc, 1.0);
  EXPECT_TRUE(run["epochs"][0]["val_acc"].is_number());
  EXPECT_EQ(summary["by_activation"].size(), 2u);
  EXPECT_EQ(summary["settings"]["model"], "mlp:16,16");
  EXPECT_GT(summary["environment"]["threads"].get<int>(), 0);
  // 2 runs x (2 epochs + logged steps): 3200 train samples / 64 = 50 steps per epoch, logged every 10.
  EXPECT_EQ(count_lines(fs::path(out) / "metrics.jsonl"), 2u * (2 + 10));
  EXPECT_EQ(count_lines(fs::path(out) / "metrics.csv"), 1u + 2u * (2 + 10));
  // The resolved config reproduces the experiment.
  EXPECT_EQ(load_config((fs::path(out) / "config.toml").string()).arms().size(), 2u);
}

TEST(Runner, SameSeedSameResult) {
  const std::string a = fresh_dir("repeat_a"), b = fresh_dir("repeat_b");
  std::ostringstream log;
  Experiment e = small(a);
  e.base.activations = {"relu"};
  e.base.threads = 1;
  const Outcome first = run_experiment(e, {.log = &log});
  e.base.out = b;
  const Outcome second = run_experiment(e, {.log = &log});
  EXPECT_EQ(first.summary.runs[0].epochs.back().train_loss, second.summary.runs[0].epochs.back().train_loss);
  EXPECT_EQ(first.summary.runs[0].epochs.back().test_acc, second.summary.runs[0].epochs.back().test_acc);
}

TEST(Runner, DivergedArmIsMarkedAndTheSweepGoesOn) {
  const std::string out = fresh_dir("diverge");
  Experiment e = small(out);
  e.base.optimizer = "sgd";
  e.base.lr = 1000;  // explodes at once with relu
  e.base.activations = {"relu", "sigmoid"};
  e.base.model = "mlp:64x6";
  e.base.init = "he";
  std::ostringstream log;
  const Outcome outcome = run_experiment(e, {.log = &log});
  ASSERT_EQ(outcome.summary.runs.size(), 2u);
  const RunResult& relu = outcome.summary.runs[0];
  EXPECT_EQ(relu.status, "diverged");
  ASSERT_TRUE(relu.diverged_at_step.has_value());
  EXPECT_NE(log.str().find("diverged at step"), std::string::npos);
  EXPECT_EQ(outcome.summary.by_activation[0].diverged, 1);
  EXPECT_NE(fs::file_size(fs::path(out) / "report.md"), 0u);
}

using testing::error_of;

TEST(Runner, BadSettingsAreRejectedBeforeTraining) {
  const std::string out = fresh_dir("invalid");
  Experiment e = small(out);
  e.base.activations = {"relu", "swishh"};
  EXPECT_NE(error_of([&] { validate(e); }).find("--activations"), std::string::npos);
  e = small(out);
  e.base.model = "lenet5";
  EXPECT_NE(error_of([&] { validate(e); }).find("needs images of shape [1,28,28]"), std::string::npos);
  e = small(out);
  e.base.model = "mlp:0,5";
  EXPECT_NE(error_of([&] { validate(e); }).find("not a positive integer"), std::string::npos);
  e = small(out);
  e.base.init = "heh";
  EXPECT_NE(error_of([&] { validate(e); }).find("unknown init 'heh'"), std::string::npos);
  e = small(out);
  e.base.schedule = "cosine:5";
  EXPECT_NE(error_of([&] { validate(e); }).find("warmup 5 must be shorter"), std::string::npos);
  std::ostringstream log;
  EXPECT_THROW(run_experiment(e, {.log = &log}), Error);
  EXPECT_FALSE(fs::exists(out));  // nothing was started
}

TEST(Runner, MissingDatasetSaysWhereItLooked) {
  Experiment e = small(fresh_dir("missing"));
  e.base.data = "mnist";
  e.base.data_dir = fresh_dir("no_data_here");
  std::ostringstream log;
  const std::string message = error_of([&] { run_experiment(e, {.log = &log}); });
  EXPECT_NE(message.find("no_data_here"), std::string::npos) << message;
  EXPECT_NE(message.find("actlab data fetch mnist"), std::string::npos) << message;
}

TEST(Runner, DefaultExperimentFallsBackToSpiralsWithoutData) {
  Experiment e;
  e.base.data_dir = fresh_dir("no_mnist");
  e.base.activations = {"relu"};
  e.base.epochs = 1;
  e.base.out = fresh_dir("fallback");
  ::setenv("ACTLAB_DATA_MIRROR", "http://127.0.0.1:9/", 1);  // nothing listens there: fetch fails fast
  std::ostringstream log;
  const Outcome outcome = run_experiment(e, {.fall_back_to_spirals = true, .log = &log});
  ::unsetenv("ACTLAB_DATA_MIRROR");
  EXPECT_NE(log.str().find("running the default experiment on the built-in spirals set instead"), std::string::npos)
      << log.str();
  EXPECT_EQ(outcome.summary.settings["data"], "spirals");
  EXPECT_EQ(outcome.summary.runs.size(), 1u);
}

TEST(Runner, LearnsRealMnist) {
  const char* data = std::getenv("ACTLAB_DATA");
  if (data == nullptr || !fs::exists(fs::path(data) / "mnist"))
    GTEST_SKIP() << "ACTLAB_DATA does not point at the real datasets: MNIST training was not checked";
  Experiment e;
  e.base.activations = {"relu"};
  e.base.model = "mlp:128";
  e.base.epochs = 2;
  e.base.limit_train = 12000;
  e.base.val_size = 2000;
  e.base.out = fresh_dir("mnist");
  std::ostringstream log;
  const Outcome outcome = run_experiment(e, {.log = &log});
  // PyTorch with the same model, data and optimizer reaches 0.91-0.92 here (two seeds).
  EXPECT_GT(outcome.summary.runs[0].epochs[1].test_acc, 0.89);  // two epochs on 10,000 images
}

TEST(Runner, DiagnoseLooksAtOneModel) {
  Experiment e = small(fresh_dir("diagnose"));
  EXPECT_NE(testing::error_of([&] { diagnose(e, true, {}); }).find("these settings make 2 arms"), std::string::npos);
  e.base.activations = {"sigmoid"};
  e.base.seeds = {4, 5};
  const Diagnosis at_init = diagnose(e, true, {});
  EXPECT_TRUE(at_init.out_dir.empty());
  EXPECT_FALSE(fs::exists(e.base.out));  // nothing is written at initialization
  ASSERT_TRUE(at_init.diagnostics.contains("init_analysis"));
  EXPECT_NE(diagnosis_text(at_init.diagnostics).find("verdicts:"), std::string::npos);
  std::ostringstream log;
  e.base.diagnostics_every = 5;
  const Diagnosis trained = diagnose(e, false, {.log = &log});
  EXPECT_EQ(trained.out_dir, e.base.out);
  std::ifstream in(fs::path(e.base.out) / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(in);
  ASSERT_EQ(summary["runs"].size(), 1u);  // the first seed only
  EXPECT_EQ(summary["runs"][0]["seed"], 4);
  EXPECT_EQ(trained.diagnostics, summary["runs"][0]["diagnostics"]);
  e.base.diagnostics_every = 0;
  EXPECT_NE(testing::error_of([&] { diagnose(e, false, {.overwrite = true}); }).find("--diagnostics-every"),
            std::string::npos);
}

}  // namespace
}  // namespace actlab::experiment
