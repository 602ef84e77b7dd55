// Lessons 5 and 10: gradient norms per layer against activation and depth; claims from popular
// texts about vanishing and exploding gradients, each measured.
#include <fmt/format.h>

#include <cmath>

#include "actlab/activations/functional.h"
#include "actlab/diagnostics/recorder.h"
#include "actlab/lessons/experiments.h"
#include "actlab/nn/models.h"

namespace actlab::lessons {

namespace {

// f'(x) by autograd at each of `points`, in float64.
std::vector<double> derivative(Tensor (*f)(const Tensor&), const std::vector<double>& points) {
  Tensor x = from_vector(points).requires_grad_();
  f(x).sum().backward();
  return x.grad().to_vector<double>();
}

// First-over-last weight-gradient ratio of a fresh `depth` x 64 MLP on a random probe.
double init_ratio(const std::string& activation, const std::string& init, std::int64_t depth,
                  nn::Norm norm = nn::Norm::None, double dropout = 0) {
  auto model = nn::mlp(64, std::vector<std::int64_t>(static_cast<std::size_t>(depth), 64), 10,
                       {.activation = activation, .init = init, .norm = norm, .dropout = dropout, .seed = 5});
  return first_over_last(output_grad_norms(*model, random_probe(64, 10, 9)));
}

}  // namespace

Findings vanishing_exploding(const LessonOptions& options) {
  Findings f;
  const auto data = load_data("mnist", options.quick ? 500 : 4000, options.quick ? 500 : 2000, options, f);
  if (!data) return f;
  const data::Batch probe = diagnostics::probe_batch(data->train, data->normalization);
  const std::vector<std::int64_t> depths = {2, 5, 10, 20};
  Chart at_init{.id = "init", .log_scale = true}, trained{.id = "trained", .log_scale = true};
  std::string rows;
  for (const std::string activation : {"sigmoid", "tanh", "relu"}) {
    for (const std::int64_t depth : depths) {
      auto model = nn::mlp(784, std::vector<std::int64_t>(static_cast<std::size_t>(depth), 64), 10,
                           {.activation = activation, .init = "xavier:gain=auto", .seed = 2});
      const auto before = output_grad_norms(*model, probe);
      const TrainResult run = train(*model, *data, {.optimizer = "momentum", .lr = 0.05, .momentum = 0.9});
      const auto after = output_grad_norms(*model, probe);
      const std::string key = fmt::format("{}_{}", activation, depth);
      f.measure(key + "_init_ratio", first_over_last(before));
      f.measure(key + "_trained_ratio", first_over_last(after));
      f.measure(key + "_accuracy", run.test_accuracy);
      rows += fmt::format("| {} | {} | {} | {} | {} |\n", activation, depth, number(first_over_last(before)),
                          number(first_over_last(after)), percent(run.test_accuracy));
      if (depth == depths.back()) {
        at_init.series.push_back({activation, indices(before.size()), before});
        trained.series.push_back({activation, indices(after.size()), after});
      }
    }
  }
  f.charts = {at_init, trained};
  f.values["rows"] = rows;
  const auto& n = f.numbers;
  f.conclusions.insert(n.at("sigmoid_20_init_ratio") < 1e-3 ? "sigmoid_vanishes" : "sigmoid_keeps");
  f.conclusions.insert(n.at("sigmoid_20_init_ratio") < n.at("sigmoid_10_init_ratio") &&
                               n.at("sigmoid_10_init_ratio") < n.at("sigmoid_5_init_ratio")
                           ? "depth_worsens"
                           : "depth_irregular");
  const double tanh = n.at("tanh_20_init_ratio");
  f.measure("tanh_20_per_layer", std::pow(tanh, 1.0 / 19.0));  // 19 layers between the first and the last
  f.conclusions.insert(tanh > 2 ? "tanh_grows" : "tanh_steady");
  const double relu = n.at("relu_20_init_ratio");
  f.conclusions.insert(relu > 0.1 && relu < 10 ? "relu_keeps" : "relu_drifts");
  f.try_next = {"--data", "mnist", "--model", "mlp:64x20", "--activations", "sigmoid,tanh,relu", "--init",
                "xavier:gain=auto", "--optimizer", "momentum", "--lr", "0.05", "--epochs", "1", "--limit-train", "10000"};
  return f;
}

Findings myths(const LessonOptions&) {
  Findings f;
  // Claim 1: sigmoid's gradient is near 0 at inputs near 0.
  std::vector<double> grid;
  for (int i = -1000; i <= 1000; ++i) grid.push_back(i * 0.01);
  const auto dsigmoid = derivative(sigmoid, grid);
  double max_slope = 0, argmax = 0;
  for (std::size_t i = 0; i < grid.size(); ++i)
    if (dsigmoid[i] > max_slope) std::tie(max_slope, argmax) = std::pair{dsigmoid[i], grid[i]};
  const auto at = derivative(sigmoid, {0.0, 2.0, 5.0, 10.0});
  f.measure("sigmoid_slope_0", at[0]);
  f.measure("sigmoid_slope_2", at[1]);
  f.measure("sigmoid_slope_5", at[2]);
  f.measure("sigmoid_slope_10", at[3]);
  f.measure("sigmoid_slope_max", max_slope);
  f.measure("sigmoid_slope_argmax", argmax);
  f.conclusions.insert(at[0] >= max_slope - 1e-12 ? "sigmoid_claim_false" : "sigmoid_claim_true");

  // Claim 2: ReLU's gradient is infinite for negative inputs, so ReLU explodes.
  const auto drelu = derivative(relu, {-3.0, -1e-3, 1e-3, 3.0});
  f.measure("relu_slope_neg3", drelu[0]);
  f.measure("relu_slope_neg_small", drelu[1]);
  f.measure("relu_slope_pos3", drelu[3]);
  f.conclusions.insert(drelu[0] == 0 && drelu[1] == 0 ? "relu_claim_false" : "relu_claim_true");
  const double he = init_ratio("relu", "he", 10), large = init_ratio("relu", "he:gain=2.8", 10);
  f.measure("relu_he_ratio", he);
  f.measure("relu_large_ratio", large);
  f.measure("relu_large_per_layer", std::pow(large / he, 1.0 / 9.0));  // 9 layers between the first and the last
  f.conclusions.insert(large > 100 * he ? "weights_explode" : "weights_tame");

  // Claim 3: switch ReLU to sigmoid to stop exploding gradients (same large weights).
  const double swapped = init_ratio("sigmoid", "he:gain=2.8", 10);
  f.measure("sigmoid_large_ratio", swapped);
  f.conclusions.insert(swapped < 1e-2 ? "swap_vanishes" : swapped > 1e2 ? "swap_explodes" : "swap_balanced");

  // Claim 4: Dropout and BatchNorm solve vanishing gradients (20 sigmoid layers).
  const double plain = init_ratio("sigmoid", "xavier", 20);
  const double dropout = init_ratio("sigmoid", "xavier", 20, nn::Norm::None, 0.2);
  const double batchnorm = init_ratio("sigmoid", "xavier", 20, nn::Norm::Batch);
  f.measure("sigmoid_plain_ratio", plain);
  f.measure("sigmoid_dropout_ratio", dropout);
  f.measure("sigmoid_batchnorm_ratio", batchnorm);
  // Solved: the input end gets at least 1% of the output end's gradient.
  f.conclusions.insert(dropout >= 1e-2 ? "dropout_helps" : "dropout_no_help");
  f.conclusions.insert(batchnorm >= 1e-2 ? "batchnorm_helps" : "batchnorm_no_help");

  Chart ratios{.id = "ratios", .kind = "bars", .log_scale = true};
  ratios.categories = {"relu he", "relu 2x", "sigmoid 2x", "sigmoid x20", "+dropout", "+batchnorm"};
  ratios.series = {{"first / last", {}, {he, large, swapped, plain, dropout, batchnorm}}};
  Chart slope{.id = "sigmoid"};
  slope.series = {{"sigmoid'(x)", grid, dsigmoid}};
  f.charts = {slope, ratios};
  f.try_next = {"--data", "mnist", "--model", "mlp:64x20", "--activations", "sigmoid,tanh,relu", "--norm", "batch",
                "--epochs", "1", "--limit-train", "10000"};
  return f;
}

}  // namespace actlab::lessons
