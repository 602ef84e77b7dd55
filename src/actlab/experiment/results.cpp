#include "actlab/experiment/results.h"

#include <cmath>
#include <numeric>

#include "actlab/core/error.h"

namespace actlab::experiment {
namespace {

// Student's t quantile t(0.975, dof).
double t975(std::size_t dof) {
  static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                 2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                 2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof == 0) return 0.0;
  if (dof <= 30) return table[dof - 1];
  return 1.96 + 2.4 / static_cast<double>(dof);  // within 0.01 of the exact value for dof > 30
}

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

template <typename T>
T required(const nlohmann::json& j, const char* key, const char* where) {
  ACTLAB_CHECK(j.contains(key), "summary.json: {} has no '{}'", where, key);
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    fail("summary.json: '{}' in {} has the wrong type ({})", key, where, e.what());
  }
}

}  // namespace

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

double std_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean_of(v);
  double sq = 0;
  for (double x : v) sq += (x - m) * (x - m);
  return std::sqrt(sq / static_cast<double>(v.size() - 1));
}

std::pair<double, double> ci95(const std::vector<double>& values) {
  if (values.empty()) return {NAN, NAN};
  const double m = mean_of(values);
  const double half = t975(values.size() - 1) * std_of(values) / std::sqrt(static_cast<double>(values.size()));
  return {m - half, m + half};
}

std::vector<ArmSummary> summarize(const std::vector<RunResult>& runs, double target_acc) {
  std::vector<ArmSummary> arms;
  std::map<std::string, std::vector<const RunResult*>> by_arm;
  for (const auto& run : runs) {
    if (!by_arm.contains(run.arm)) {
      ArmSummary arm;
      arm.arm = run.arm;
      arm.activation = run.activation;
      arm.axes = run.axes;
      arms.push_back(arm);
    }
    by_arm[run.arm].push_back(&run);
  }
  for (auto& arm : arms) {
    std::vector<double> test_acc, test_loss, train_loss, to_target, seconds;
    for (const RunResult* run : by_arm[arm.arm]) {
      ++arm.runs;
      if (run->status == "diverged") ++arm.diverged;
      seconds.push_back(run->wall_seconds);
      // A diverged run's last evaluation counts (its broken model scores near chance), so an arm
      // is not flattered by leaving its failures out.
      if (run->epochs.empty()) continue;
      const EpochMetrics& last = run->epochs.back();
      if (!std::isnan(last.test_acc)) test_acc.push_back(last.test_acc);  // NaN: a task without accuracy
      test_loss.push_back(last.test_loss);
      train_loss.push_back(last.train_loss);
      for (const auto& e : run->epochs) {
        const double acc = e.val_acc.value_or(e.test_acc);
        if (acc >= target_acc) {
          to_target.push_back(static_cast<double>(e.epoch));
          break;
        }
      }
    }
    arm.seconds_mean = seconds.empty() ? 0 : mean_of(seconds);
    arm.reached_target = static_cast<std::int64_t>(to_target.size());
    if (!to_target.empty()) arm.epochs_to_target = mean_of(to_target);
    if (test_loss.empty()) continue;
    arm.test_loss_mean = mean_of(test_loss);
    arm.final_train_loss_mean = mean_of(train_loss);
    if (test_acc.empty()) continue;
    arm.test_acc_mean = mean_of(test_acc);
    arm.test_acc_std = std_of(test_acc);
    arm.test_acc_ci95 = ci95(test_acc);
  }
  return arms;
}

nlohmann::json to_json(const RunResult& run) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : run.epochs) epochs.push_back(train::to_json(e));
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : run.steps) steps.push_back(train::to_json(s));
  nlohmann::json final_metrics;
  if (!run.epochs.empty())
    final_metrics = {{"test_acc", run.epochs.back().test_acc}, {"test_loss", run.epochs.back().test_loss},
                     {"train_loss", run.epochs.back().train_loss}};
  nlohmann::json r = {{"arm", run.arm},
                      {"activation", run.activation},
                      {"axes", run.axes},
                      {"seed", run.seed},
                      {"status", run.status},
                      {"epochs", epochs},
                      {"steps", steps},
                      {"final", final_metrics},
                      {"wall_seconds", run.wall_seconds},
                      {"samples_per_second", run.samples_per_second}};
  if (run.diverged_at_step) r["diverged_at_step"] = *run.diverged_at_step;
  if (!run.diagnostics.is_null()) r["diagnostics"] = run.diagnostics;
  return r;
}

RunResult run_from_json(const nlohmann::json& r) {
  RunResult run;
  run.arm = required<std::string>(r, "arm", "a run");
  run.activation = required<std::string>(r, "activation", "a run");
  run.axes = r.value("axes", std::map<std::string, std::string>{});
  run.seed = required<std::uint64_t>(r, "seed", "a run");
  run.status = required<std::string>(r, "status", "a run");
  if (r.contains("diverged_at_step")) run.diverged_at_step = r.at("diverged_at_step").get<std::int64_t>();
  try {
    for (const auto& e : required<nlohmann::json>(r, "epochs", "a run")) run.epochs.push_back(train::epoch_from_json(e));
    for (const auto& st : r.value("steps", nlohmann::json::array())) run.steps.push_back(train::step_from_json(st));
  } catch (const nlohmann::json::exception& e) {
    fail("summary.json: a run of arm '{}' has a malformed epoch or step ({})", run.arm, e.what());
  }
  run.wall_seconds = r.value("wall_seconds", 0.0);
  run.samples_per_second = r.value("samples_per_second", 0.0);
  if (r.contains("diagnostics")) run.diagnostics = r.at("diagnostics");
  return run;
}

nlohmann::json to_json(const Summary& summary) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& run : summary.runs) runs.push_back(to_json(run));
  nlohmann::json arms = nlohmann::json::array();
  for (const auto& a : summary.by_activation) {
    arms.push_back({{"arm", a.arm},
                    {"activation", a.activation},
                    {"axes", a.axes},
                    {"runs", a.runs},
                    {"diverged", a.diverged},
                    {"test_acc_mean", optional_json(a.test_acc_mean)},
                    {"test_acc_std", optional_json(a.test_acc_std)},
                    {"test_acc_ci95", a.test_acc_ci95 ? nlohmann::json{a.test_acc_ci95->first, a.test_acc_ci95->second}
                                                      : nlohmann::json()},
                    {"test_loss_mean", optional_json(a.test_loss_mean)},
                    {"final_train_loss_mean", optional_json(a.final_train_loss_mean)},
                    {"epochs_to_target", optional_json(a.epochs_to_target)},
                    {"reached_target", a.reached_target},
                    {"seconds_mean", a.seconds_mean}});
  }
  return {{"experiment", summary.experiment},
          {"settings", summary.settings},
          {"environment",
           {{"cpu", summary.environment.cpu}, {"threads", summary.environment.threads}, {"version", summary.environment.version}}},
          {"runs", runs},
          {"by_activation", arms}};
}

Summary summary_from_json(const nlohmann::json& json) {
  Summary s;
  s.experiment = required<std::string>(json, "experiment", "the summary");
  s.settings = json.value("settings", nlohmann::json::object());
  if (json.contains("environment")) {
    const auto& env = json.at("environment");
    s.environment = {env.value("cpu", ""), env.value("threads", std::int64_t{0}), env.value("version", "")};
  }
  for (const auto& r : required<nlohmann::json>(json, "runs", "the summary")) s.runs.push_back(run_from_json(r));
  const double target = s.settings.value("target_acc", 0.97);
  s.by_activation = summarize(s.runs, target);
  return s;
}

}  // namespace actlab::experiment
