#include "actlab/experiment/results.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "actlab/io/safetensors.h"

namespace actlab::experiment {
namespace {

RunResult run(const std::string& activation, std::uint64_t seed, std::vector<double> val_accs, double test_acc) {
  RunResult r;
  r.arm = activation;
  r.activation = activation;
  r.seed = seed;
  std::int64_t epoch = 1;
  for (double v : val_accs) {
    EpochMetrics e;
    e.epoch = epoch++;
    e.val_acc = v;
    e.test_acc = test_acc;
    e.train_loss = 1.0 / static_cast<double>(epoch);
    r.epochs.push_back(e);
  }
  r.wall_seconds = 2.0;
  return r;
}

TEST(Results, SummarizesArmsOverSeeds) {
  const std::vector<RunResult> runs = {run("relu", 1, {0.96, 0.98}, 0.97), run("relu", 2, {0.97, 0.99}, 0.99),
                                       run("sigmoid", 1, {0.90, 0.95}, 0.95)};
  const auto arms = summarize(runs, 0.97);
  ASSERT_EQ(arms.size(), 2u);
  EXPECT_EQ(arms[0].arm, "relu");
  EXPECT_EQ(arms[0].runs, 2);
  EXPECT_DOUBLE_EQ(*arms[0].test_acc_mean, 0.98);
  EXPECT_NEAR(*arms[0].test_acc_std, std::sqrt(0.0002), 1e-12);
  // t(0.975, 1) = 12.706: half width 12.706 * std / sqrt(2).
  EXPECT_NEAR(arms[0].test_acc_ci95->second - 0.98, 12.706 * std::sqrt(0.0002) / std::sqrt(2.0), 1e-9);
  EXPECT_DOUBLE_EQ(*arms[0].epochs_to_target, 1.5);  // epoch 2 for seed 1, epoch 1 for seed 2
  EXPECT_EQ(arms[1].reached_target, 0);
  EXPECT_FALSE(arms[1].epochs_to_target.has_value());
  EXPECT_EQ(arms[1].test_acc_ci95->first, 0.95);
}

TEST(Results, JsonRoundTrip) {
  Summary s;
  s.experiment = "demo";
  s.settings = {{"target_acc", 0.97}};
  s.environment = {"cpu", 2, "0.1.0"};
  s.runs = {run("relu", 1, {0.96, 0.98}, 0.97)};
  s.runs[0].status = "diverged";
  s.runs[0].diverged_at_step = 17;
  s.runs[0].steps = {{50, 0.1, 2.3}, {100, 0.2, std::nan("")}};
  s.by_activation = summarize(s.runs, 0.97);
  const nlohmann::json j = to_json(s);
  EXPECT_EQ(j["runs"][0]["final"]["test_acc"], 0.97);
  EXPECT_TRUE(nlohmann::json::parse(j.dump())["runs"][0]["steps"][1]["loss"].is_null());  // NaN is written as null
  EXPECT_DOUBLE_EQ(j["by_activation"][0]["epochs_to_target"].get<double>(), 2.0);
  const Summary back = summary_from_json(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(back.runs[0].status, "diverged");
  EXPECT_EQ(*back.runs[0].diverged_at_step, 17);
  EXPECT_EQ(back.runs[0].epochs.size(), 2u);
  EXPECT_TRUE(std::isnan(back.runs[0].steps[1].loss));
  EXPECT_EQ(to_json(back).dump(), j.dump());
}

TEST(Results, MalformedSummaryNamesTheField) {
  try {
    summary_from_json(nlohmann::json{{"experiment", "x"}, {"runs", {{{"arm", "relu"}}}}});
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("a run has no 'activation'"), std::string::npos) << e.what();
  }
}

TEST(Results, AtomicWriteReplacesWholeFile) {
  const auto path = (std::filesystem::temp_directory_path() / "actlab_atomic.json").string();
  io::write_file_atomically(path, "first");
  io::write_file_atomically(path, "second");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "second");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

}  // namespace
}  // namespace actlab::experiment
