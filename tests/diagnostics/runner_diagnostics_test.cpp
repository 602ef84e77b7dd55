// Diagnostics inside `actlab compare`: snapshots and verdicts per run in summary.json, and the
// locator's finding for a diverging arm.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "actlab/experiment/runner.h"

namespace actlab::experiment {
namespace {

namespace fs = std::filesystem;

Experiment tiny(const std::string& name) {
  Experiment e;
  e.base.name = name;
  e.base.data = "moons";
  e.base.model = "mlp:16,16";
  e.base.activations = {"relu"};
  e.base.epochs = 1;
  e.base.batch = 64;
  e.base.limit_train = 1000;
  e.base.diagnostics_every = 5;
  e.base.out = (fs::temp_directory_path() / ("actlab_diagnostics_" + name)).string();
  fs::remove_all(e.base.out);
  return e;
}

TEST(RunnerDiagnostics, EveryRunRecordsSnapshotsAndVerdicts) {
  std::ostringstream log;
  const Outcome outcome = run_experiment(tiny("recorded"), {.log = &log});
  const auto& d = outcome.summary.runs.at(0).diagnostics;
  ASSERT_TRUE(d.contains("snapshots")) << d.dump();
  const auto& snapshots = d["snapshots"];
  // 800 training samples / 64 = 13 steps: init, 5, 10 and the end.
  ASSERT_EQ(snapshots.size(), 4u);
  EXPECT_EQ(snapshots[0]["step"], 0);
  EXPECT_EQ(snapshots[1]["step"], 5);
  EXPECT_EQ(snapshots[3]["step"], 13);
  EXPECT_TRUE(snapshots[1]["layers"][0]["update_ratio"].is_number());
  EXPECT_TRUE(d["verdicts"].is_array());
  EXPECT_NE(log.str().find("diagnostics:"), std::string::npos) << log.str();
  std::ifstream summary(fs::path(outcome.out_dir) / "summary.json");
  const auto json = nlohmann::json::parse(summary);
  EXPECT_EQ(json["runs"][0]["diagnostics"]["snapshots"].size(), 4u);
}

TEST(RunnerDiagnostics, DivergingArmSaysWhereItBroke) {
  Experiment e = tiny("diverging");
  e.base.optimizer = "sgd";
  e.base.lr = 1000;
  e.base.model = "mlp:64x6";
  e.base.init = "he";
  std::ostringstream log;
  const Outcome outcome = run_experiment(e, {.log = &log});
  const RunResult& run = outcome.summary.runs.at(0);
  ASSERT_EQ(run.status, "diverged");
  ASSERT_TRUE(run.diagnostics.contains("anomaly")) << run.diagnostics.dump();
  const auto& anomaly = run.diagnostics["anomaly"];
  EXPECT_EQ(anomaly["step"], *run.diverged_at_step);
  EXPECT_FALSE(anomaly["layer"].get<std::string>().empty());
  EXPECT_FALSE(anomaly["op"].get<std::string>().empty());
  EXPECT_NE(log.str().find("non-finite value at step"), std::string::npos) << log.str();
  bool exploding = false;
  for (const auto& v : run.diagnostics["verdicts"]) exploding = exploding || v["kind"] == "exploding";
  EXPECT_TRUE(exploding) << run.diagnostics["verdicts"].dump();
  EXPECT_NE(fs::file_size(fs::path(outcome.out_dir) / "report.html"), 0u);
}

}  // namespace
}  // namespace actlab::experiment
