// Lesson 9: a tanh RNN, an LSTM and a GRU of the same width on the adding problem: how far back
// each one's gradient reaches at initialization, and what each learns in a short training.
#include <fmt/format.h>

#include <algorithm>

#include "actlab/data/sequence.h"
#include "actlab/diagnostics/through_time.h"
#include "actlab/experiment/training.h"
#include "actlab/lessons/experiments.h"
#include "actlab/train/task.h"

namespace actlab::lessons {

Findings recurrent(const LessonOptions& options) {
  Findings f;
  const std::int64_t length = options.quick ? 20 : 50, hidden = options.quick ? 16 : 32;
  const std::string dataset = fmt::format("adding:{}", length);
  const auto data = load_data(dataset, options.quick ? 3000 : 6000, 500, options, f);
  if (!data) return f;
  const double baseline = data::sequence_baseline("adding", length);
  f.measure("length", static_cast<double>(length));
  f.measure("hidden", static_cast<double>(hidden));
  f.measure("baseline", baseline);
  const data::Batch probe = diagnostics::probe_batch(data->train, data->normalization);
  const std::unique_ptr<train::Task> task = train::make_task(data->target);
  const diagnostics::ProbeLoss probe_loss = [&task](const Tensor& output, const data::Batch& b) {
    return task->loss(output, b);
  };
  const TrainSpec spec{.lr = 1e-2, .epochs = 2, .batch = 50, .clip_norm = 1};
  const double threshold = diagnostics::ThroughTimeThresholds{}.vanishing_ratio;
  Chart curve{.id = "through_time", .log_scale = true}, losses{.id = "loss"};
  std::string rows;
  for (const std::string cell : {"rnn", "lstm", "gru"}) {
    experiment::Settings settings;
    settings.model = fmt::format("{}:{}", cell, hidden);
    settings.activations = {"tanh"};
    const auto model = experiment::make_model(settings, data->train.sample_shape(), data->train.num_classes(), 3);
    const diagnostics::ThroughTimeSnapshot at_init =
        diagnostics::measure_through_time(dynamic_cast<nn::SequenceModel&>(*model), probe, probe_loss, 0);
    const std::vector<double>& norms = at_init.grad_norms;
    const TrainResult run = train(*model, *data, spec);
    f.measure(cell + "_first_over_last", norms.front() / norms.back());
    f.measure(cell + "_horizon", static_cast<double>(diagnostics::gradient_horizon(norms, threshold)));
    f.measure(cell + "_radius", at_init.spectral_radius.front());
    f.measure(cell + "_test_loss", run.test_loss);
    rows += fmt::format("| {} | {} | {} | {} | {} | {} |\n", cell, f.values[cell + "_radius"],
                        f.values[cell + "_first_over_last"], f.values[cell + "_horizon"], number(run.initial_loss()),
                        f.values[cell + "_test_loss"]);
    curve.series.push_back({cell, indices(norms.size()), norms});
    losses.series.push_back({cell, indices(run.losses.size()), run.losses});
    // Learned: the test MSE below half of what always predicting 1 scores.
    f.conclusions.insert(cell + (run.test_loss < baseline / 2 ? "_learns" : "_stuck"));
  }
  f.measure("steps", static_cast<double>(losses.series.front().y.size()));
  f.charts = {curve, losses};
  f.values["rows"] = rows;
  const auto& n = f.numbers;
  f.conclusions.insert(n.at("rnn_first_over_last") < std::min(n.at("lstm_first_over_last"), n.at("gru_first_over_last"))
                           ? "rnn_vanishes_faster"
                           : "rnn_not_faster");
  f.conclusions.insert(n.at("rnn_horizon") < std::min(n.at("lstm_horizon"), n.at("gru_horizon")) ? "gated_reach_further"
                                                                                                   : "horizons_close");
  f.try_next = {"--data", "adding:100", "--model", "lstm:128", "--activations", "tanh", "--optimizer", "adam",
                "--lr", "0.001", "--batch", "50", "--epochs", "4", "--clip-norm", "1", "--diagnostics-every", "40"};
  return f;
}

}  // namespace actlab::lessons
