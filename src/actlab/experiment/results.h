// What an experiment records, how it is summarized, and its on-disk form (summary.json).
//
// summary.json is the contract with other tools (the report, user scripts):
//   {"experiment", "settings", "environment": {"cpu", "threads", "version"},
//    "runs": [{"arm", "activation", "axes", "seed", "status", "epochs": [...], "steps": [...],
//              "final": {...}, "wall_seconds", "samples_per_second", ...}],
//    "by_activation": [{"arm", "activation", "test_acc_mean", "test_acc_std", "test_acc_ci95",
//                       "epochs_to_target", "final_train_loss_mean", ...}]}
// Accuracies are fractions in [0, 1]; a value that does not exist (no validation set, a run
// that diverged before its first evaluation) is null.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/train/state.h"

namespace actlab::experiment {

using train::EpochMetrics;
using train::StepMetrics;

struct RunResult {
  std::string arm;         // label of the arm, e.g. "relu" or "relu, init=he"
  std::string activation;  // the activation spec
  std::map<std::string, std::string> axes;  // sweep axis values of the arm
  std::uint64_t seed = 0;
  std::string status = "ok";  // ok | diverged | interrupted
  std::optional<std::int64_t> diverged_at_step;
  std::vector<EpochMetrics> epochs;
  std::vector<StepMetrics> steps;
  double wall_seconds = 0;
  double samples_per_second = 0;
  nlohmann::json diagnostics;  // per-layer statistics and verdicts, when recorded
};

struct ArmSummary {
  std::string arm;
  std::string activation;
  std::map<std::string, std::string> axes;
  std::int64_t runs = 0;
  std::int64_t diverged = 0;
  std::optional<double> test_acc_mean, test_acc_std;
  std::optional<std::pair<double, double>> test_acc_ci95;
  std::optional<double> test_loss_mean;
  std::optional<double> final_train_loss_mean;
  // Mean (over seeds that got there) of the first epoch whose validation accuracy (test
  // accuracy when there is no validation set) reached the target; null if none did.
  std::optional<double> epochs_to_target;
  std::int64_t reached_target = 0;
  double seconds_mean = 0;
};

struct Environment {
  std::string cpu;
  std::int64_t threads = 0;
  std::string version;
};

struct Summary {
  std::string experiment;
  nlohmann::json settings;  // resolved settings and sweep
  Environment environment;
  std::vector<RunResult> runs;
  std::vector<ArmSummary> by_activation;  // one entry per arm, in sweep order
};

// Aggregates runs per arm (arms in first-seen order). `target_acc` as in Settings.
std::vector<ArmSummary> summarize(const std::vector<RunResult>& runs, double target_acc);

// Mean, and sample standard deviation (0 for fewer than two values). Require a non-empty vector.
double mean_of(const std::vector<double>& values);
double std_of(const std::vector<double>& values);

// Two-sided 95% confidence interval of the mean of `values` (Student's t); the mean itself for
// a single value.
std::pair<double, double> ci95(const std::vector<double>& values);

nlohmann::json to_json(const Summary& summary);
// Throws Error naming the missing or malformed field.
Summary summary_from_json(const nlohmann::json& json);
// One element of summary.json's "runs".
nlohmann::json to_json(const RunResult& run);
RunResult run_from_json(const nlohmann::json& json);

}  // namespace actlab::experiment
