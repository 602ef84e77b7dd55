// Lessons 4, 7 and 8: the learning rate, dead ReLU units and exploding gradients, each a set of
// short MNIST runs that differ in one setting.
#include <fmt/format.h>

#include <cmath>
#include <numeric>

#include "actlab/diagnostics/dead_units.h"
#include "actlab/lessons/experiments.h"
#include "actlab/nn/models.h"

namespace actlab::lessons {

namespace {

// One run of a comparison: the settings that differ from the lesson's base.
struct Arm {
  std::string key;    // names its numbers: "<key>_accuracy"
  std::string label;  // on charts and in tables
  std::string activation = "relu";
  std::string init = "default";
  nn::Norm norm = nn::Norm::None;
  double lr = 0.1;
  double clip_norm = 0;
};

std::shared_ptr<nn::Sequential> arm_model(const Arm& arm, const std::vector<std::int64_t>& hidden) {
  return nn::mlp(784, hidden, 10, {.activation = arm.activation, .init = arm.init, .norm = arm.norm, .seed = 1});
}

// The relative spread of the second half of the losses: how much the loss jumps around.
double oscillation(const std::vector<double>& losses) {
  const auto half = losses.begin() + static_cast<std::ptrdiff_t>(losses.size() / 2);
  const auto n = static_cast<double>(losses.end() - half);
  const double mean = std::accumulate(half, losses.end(), 0.0) / n;
  double var = 0;
  for (auto it = half; it != losses.end(); ++it) var += (*it - mean) * (*it - mean);
  return std::sqrt(var / n) / mean;
}

std::string lr_text(double lr) { return fmt::format("{:g}", lr); }

}  // namespace

Findings learning_rate(const LessonOptions& options) {
  Findings f;
  const auto data = load_data("mnist", options.quick ? 1000 : 6000, options.quick ? 500 : 2000, options, f);
  if (!data) return f;
  const std::vector<double> rates = {1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0};
  Chart curves{.id = "loss", .log_scale = true};
  std::string rows;
  std::map<double, std::string> verdicts;
  double best_accuracy = -1, best_lr = 0, best_ratio = NAN;
  for (const double lr : rates) {
    auto model = nn::mlp(784, {128}, 10, {.activation = "relu", .seed = 1});
    const TrainResult run = train(*model, *data, {.optimizer = "sgd", .lr = lr});
    const double initial = run.initial_loss(), final = run.final_loss(), spread = oscillation(run.losses);
    // Diverged: no finite loss, or well above the start; crawls: less than 10% down; oscillates:
    // jumping around (spread above 15%) while still above half the start.
    const std::string verdict = !std::isfinite(final) || final > 1.5 * initial ? "diverged"
                                : final > 0.9 * initial                        ? "crawl"
                                : spread > 0.15 && final > 0.5 * initial       ? "oscillates"
                                                                               : "learns";
    verdicts[lr] = verdict;
    const std::string key = fmt::format("lr_{}", lr_text(lr));
    f.measure(key + "_final_loss", final);
    f.measure(key + "_accuracy", run.test_accuracy);
    f.measure(key + "_update_ratio", run.mean_update_ratio());
    f.measure(key + "_oscillation", spread);
    rows += fmt::format("| {} | {} | {} | {} | {} | {} | {{s_{}}} |\n", lr_text(lr), number(initial), number(final),
                        number(spread), percent(run.test_accuracy), number(run.mean_update_ratio()), verdict);
    curves.series.push_back({fmt::format("lr {}", lr_text(lr)), indices(run.losses.size()), run.losses});
    if (std::isfinite(run.test_accuracy) && run.test_accuracy > best_accuracy) {
      best_accuracy = run.test_accuracy;
      best_lr = lr;
      best_ratio = run.mean_update_ratio();
    }
  }
  f.charts = {curves};
  f.values["rows"] = rows;
  f.values["best_lr"] = lr_text(best_lr);
  f.measure("best_accuracy", best_accuracy);
  f.values["best_accuracy"] = percent(best_accuracy);
  f.measure("best_update_ratio", best_ratio);
  f.measure("steps", static_cast<double>((data->train.size() + 63) / 64));
  f.conclusions.insert(verdicts[rates.back()] == "diverged" || verdicts[rates.back()] == "oscillates" ? "too_high"
                                                                                                      : "high_survived");
  f.conclusions.insert(verdicts[rates.front()] == "crawl" ? "too_low" : "low_moved");
  f.conclusions.insert(best_ratio >= 1e-4 && best_ratio <= 1e-2 ? "ratio_near_rule" : "ratio_far");
  f.try_next = {"--data", "mnist", "--model", "mlp:128", "--activations", "relu", "--optimizer", "sgd", "--lr",
                lr_text(best_lr), "--epochs", "3", "--limit-train", "10000"};
  return f;
}

Findings dead_relu(const LessonOptions& options) {
  Findings f;
  const auto data = load_data("mnist", options.quick ? 1000 : 6000, options.quick ? 500 : 2000, options, f);
  if (!data) return f;
  // Adam bounds each step by about the rate, so the high rate kills units without diverging.
  constexpr double high = 0.03, low = 0.001;
  const std::vector<Arm> arms = {
      {.key = "relu_high", .label = "relu, lr 0.03", .lr = high},
      {.key = "leaky_high", .label = "leaky_relu, lr 0.03", .activation = "leaky_relu", .lr = high},
      {.key = "elu_high", .label = "elu, lr 0.03", .activation = "elu", .lr = high},
      {.key = "relu_low", .label = "relu, lr 0.001", .lr = low},
      {.key = "relu_he", .label = "relu, he, lr 0.03", .init = "he", .lr = high},
  };
  const std::vector<std::int64_t> hidden = {128, 128, 128};
  const Tensor samples = diagnostics::dead_unit_samples(data->train, data->normalization);
  Chart dead{.id = "dead", .kind = "bars"};
  for (std::size_t layer = 0; layer < hidden.size(); ++layer) dead.series.push_back({fmt::format("L{}", layer + 1)});
  std::string rows;
  for (const Arm& arm : arms) {
    auto model = arm_model(arm, hidden);
    const TrainResult run = train(*model, *data, {.optimizer = "adam", .lr = arm.lr});
    const auto counts = diagnostics::count_dead_units(*model, samples);
    double dead_total = 0, units_total = 0;
    std::string cells;
    for (std::size_t layer = 0; layer < counts.size(); ++layer) {
      const double fraction = static_cast<double>(counts[layer].dead) / static_cast<double>(counts[layer].units);
      dead.series[layer].y.push_back(fraction * 100);
      cells += fmt::format(" {} |", percent(fraction));
      dead_total += static_cast<double>(counts[layer].dead);
      units_total += static_cast<double>(counts[layer].units);
    }
    dead.categories.push_back(arm.label);
    f.measure(arm.key + "_dead", dead_total / units_total);
    f.values[arm.key + "_dead"] = percent(dead_total / units_total);
    f.measure(arm.key + "_accuracy", run.test_accuracy);
    rows += fmt::format("| {} |{} {} |\n", arm.label, cells, percent(run.test_accuracy));
  }
  f.charts = {dead};
  f.values["rows"] = rows;
  const auto& n = f.numbers;
  const double base = n.at("relu_high_dead");
  f.conclusions.insert(base > 0.2 ? "high_kills" : "high_spares");
  f.conclusions.insert(n.at("leaky_high_dead") == 0 && n.at("elu_high_dead") == 0 ? "leaky_elu_alive" : "leaky_elu_dead");
  f.conclusions.insert(n.at("relu_low_dead") < base / 2 ? "lower_rate_helps" : "lower_rate_no_help");
  f.conclusions.insert(n.at("relu_he_dead") < base / 2 ? "he_helps" : "he_no_help");
  f.try_next = {"--data", "mnist", "--model", "mlp:128x3", "--activations", "relu,leaky_relu,elu", "--optimizer", "adam",
                "--lr", lr_text(high), "--epochs", "1", "--limit-train", "10000", "--init", "default"};
  return f;
}

Findings exploding_remedies(const LessonOptions& options) {
  Findings f;
  const auto data = load_data("mnist", options.quick ? 1000 : 6000, options.quick ? 500 : 2000, options, f);
  if (!data) return f;
  constexpr double lr = 0.1;
  const std::string large = "he:gain=2.5";
  const std::vector<Arm> arms = {
      {.key = "base", .label = "he:gain=2.5, lr 0.1", .init = large, .lr = lr},
      {.key = "clip", .label = "+ clip-norm 1", .init = large, .lr = lr, .clip_norm = 1.0},
      {.key = "batchnorm", .label = "+ batchnorm", .init = large, .norm = nn::Norm::Batch, .lr = lr},
      {.key = "lower_lr", .label = "lr 0.01", .init = large, .lr = lr / 10},
      {.key = "he", .label = "he (gain √2)", .init = "he", .lr = lr},
  };
  const std::vector<std::int64_t> hidden(8, 128);
  Chart norms{.id = "grad", .log_scale = true};
  std::string rows;
  for (const Arm& arm : arms) {
    auto model = arm_model(arm, hidden);
    const TrainResult run = train(*model, *data, {.optimizer = "momentum", .lr = arm.lr, .momentum = 0.9,
                                                  .epochs = options.quick ? 2 : 1, .clip_norm = arm.clip_norm});
    f.measure(arm.key + "_diverged_at", run.diverged_at ? static_cast<double>(*run.diverged_at) : NAN);
    f.measure(arm.key + "_first_grad_norm", run.grad_norms.front());
    f.measure(arm.key + "_max_grad_norm", run.max_grad_norm());
    f.measure(arm.key + "_accuracy", run.test_accuracy);
    f.values[arm.key + "_accuracy"] = percent(run.test_accuracy);
    rows += fmt::format("| {} | {} | {} | {} | {} | {} |\n", arm.label,
                        run.diverged_at ? std::to_string(*run.diverged_at) : "—", number(run.grad_norms.front()),
                        number(run.max_grad_norm()), number(run.final_loss()), percent(run.test_accuracy));
    norms.series.push_back({arm.label, indices(run.grad_norms.size()), run.grad_norms});
  }
  f.charts = {norms};
  f.values["rows"] = rows;
  const auto& n = f.numbers;
  // Works: trained without diverging to well above chance (10%).
  const auto works = [&](const std::string& key) { return n.at(key + "_accuracy") >= 0.5; };
  f.conclusions.insert(works("base") ? "base_trains" : "base_fails");
  for (const std::string key : {"clip", "batchnorm", "lower_lr", "he"})
    f.conclusions.insert(fmt::format("{}_{}", key, works(key) ? "works" : "fails"));
  f.try_next = {"--data", "mnist", "--model", "mlp:128x8", "--activations", "relu", "--init", large, "--optimizer",
                "momentum", "--lr", lr_text(lr), "--clip-norm", "1", "--epochs", "1", "--limit-train", "10000"};
  return f;
}

}  // namespace actlab::lessons
