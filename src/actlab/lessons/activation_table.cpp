// Lesson 3: the activation table from the registry, with measured facts beside each entry.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "actlab/activations/activation.h"
#include "actlab/lessons/experiments.h"
#include "actlab/nn/models.h"

namespace actlab::lessons {

namespace {

// The largest |f'(x)| over [-10, 10], by autograd in float64.
double max_slope(ActivationFunction& activation) {
  Tensor x = arange(-10.0, 10.0, 0.001, kFloat64).requires_grad_();
  activation.forward(x).sum().backward();
  return x.grad().abs().max().item();
}

// Nanoseconds per element of a forward and backward pass over `elements` float32 values (best of 3).
double nanoseconds_per_element(ActivationFunction& activation, std::int64_t elements) {
  Generator gen(4);
  const Tensor x = randn({elements}, gen).requires_grad_();
  double best = INFINITY;
  for (int round = 0; round < 3; ++round) {
    const auto start = std::chrono::steady_clock::now();
    activation.forward(x).sum().backward();
    best = std::min(best, std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count());
    x.grad().zero_();
  }
  return best / static_cast<double>(elements);
}

// The registry's "saturates" as a phrase of strings.txt: no, both tails, or one side.
std::string saturation_word(const std::string& saturates) {
  if (saturates.starts_with("no")) return "{s_no}";
  return saturates.find("both") != std::string::npos ? "{s_both_tails}" : "{s_one_side}";
}

}  // namespace

Findings activation_pros_cons(const LessonOptions& options) {
  Findings f;
  const auto data = load_data("mnist", options.quick ? 1000 : 10000, options.quick ? 500 : 2000, options, f);
  if (!data) return f;
  const std::vector<std::string> activations = {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu"};
  const data::Batch probe = random_probe(64, 10, 3);
  Chart surviving{.id = "surviving", .kind = "bars", .log_scale = true}, accuracy{.id = "accuracy", .kind = "bars"};
  Series ratio_series{"first / last", {}, {}}, accuracy_series{"MNIST", {}, {}};
  std::string facts_rows, measured_rows;
  for (const std::string& name : activations) {
    auto activation = make_activation(name);
    const ActivationInfo& info = activation->info();
    facts_rows += fmt::format("| {} | `{}` | {} | {} | {} |\n", name, info.formula, info.output_range,
                              info.zero_centred ? "{s_yes}" : "{s_no}", saturation_word(info.saturates));
    const double slope = max_slope(*activation);
    const double speed = nanoseconds_per_element(*activation, options.quick ? 1 << 16 : 1 << 22);
    auto deep = nn::mlp(64, std::vector<std::int64_t>(10, 64), 10, {.activation = name, .init = "xavier", .seed = 5});
    const double ratio = first_over_last(output_grad_norms(*deep, probe));
    auto model = nn::mlp(784, {128, 128}, 10, {.activation = name, .seed = 1});
    const double acc = train(*model, *data, {}).test_accuracy;
    f.measure(name + "_max_slope", slope);
    f.measure(name + "_ratio", ratio);
    f.measure(name + "_accuracy", acc);
    measured_rows += fmt::format("| {} | {} | {} | {:.2f} | {} |\n", name, number(slope), number(ratio), speed, percent(acc));
    surviving.categories.push_back(name);
    accuracy.categories.push_back(name);
    ratio_series.y.push_back(ratio);
    accuracy_series.y.push_back(acc * 100);
  }
  surviving.series = {ratio_series};
  accuracy.series = {accuracy_series};
  f.charts = {surviving, accuracy};
  f.values["facts_rows"] = facts_rows;
  f.values["measured_rows"] = measured_rows;
  f.measure("samples", static_cast<double>(data->train.size()));
  const auto& n = f.numbers;
  f.conclusions.insert(std::abs(n.at("sigmoid_max_slope") - 0.25) < 1e-6 ? "sigmoid_quarter" : "sigmoid_not_quarter");
  f.conclusions.insert(n.at("sigmoid_ratio") < n.at("relu_ratio") / 10 ? "saturating_fade" : "saturating_keep");
  double best_other = 0;
  std::string best_name;
  for (const std::string& name : activations)
    if (name != "sigmoid" && n.at(name + "_accuracy") > best_other) {
      best_other = n.at(name + "_accuracy");
      best_name = name;
    }
  f.values["best"] = best_name;
  f.measure("accuracy_gap_points", (best_other - n.at("sigmoid_accuracy")) * 100);
  f.conclusions.insert(best_other - n.at("sigmoid_accuracy") > 0.01 ? "accuracy_gap" : "accuracy_close");
  f.try_next = {"--data", "mnist", "--model", "mlp:128x2", "--activations", "sigmoid,tanh,relu,leaky_relu,elu,gelu,silu",
                "--epochs", "1", "--limit-train", "10000"};
  return f;
}

}  // namespace actlab::lessons
