// What the lessons' experiments share: data subsets, a short training run that records every
// step, per-layer gradient norms at a probe batch, and number formatting. Internal to lessons/.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actlab/data/dataset.h"
#include "actlab/data/loader.h"
#include "actlab/data/registry.h"
#include "actlab/lessons/lesson.h"
#include "actlab/nn/module.h"

namespace actlab::lessons {

// The experiments, one per lesson (lessons.cpp lists them).
Findings no_activation(const LessonOptions& options);
Findings chain_rule(const LessonOptions& options);
Findings activation_pros_cons(const LessonOptions& options);
Findings learning_rate(const LessonOptions& options);
Findings vanishing_exploding(const LessonOptions& options);
Findings conv_activation(const LessonOptions& options);
Findings dead_relu(const LessonOptions& options);
Findings exploding_remedies(const LessonOptions& options);
Findings myths(const LessonOptions& options);
Findings recurrent(const LessonOptions& options);

struct Data {
  data::Dataset train, test;
  data::Normalization normalization;  // the training subset's channel statistics (none for sequences)
  data::Target target = data::Target::Class;  // what the labels are: the task train() optimizes
};

// The first `train_samples` and `test_samples` of a dataset (generated sets: that many drawn).
// nullopt, with findings.missing_data set, when its files cannot be loaded.
std::optional<Data> load_data(const std::string& name, std::int64_t train_samples, std::int64_t test_samples,
                              const LessonOptions& options, Findings& findings);

struct TrainSpec {
  std::string optimizer = "adam";  // an experiment::optimizer_kinds name
  double lr = 1e-3;
  double momentum = 0;
  std::int64_t epochs = 1;
  std::int64_t batch = 64;
  double clip_norm = 0;
  std::uint64_t seed = 1;  // the loader's shuffling
};

struct TrainResult {
  std::vector<double> losses;         // per step
  std::vector<double> grad_norms;     // per step, before clipping
  std::vector<double> update_ratios;  // per step: ||params after - before|| / ||params before||
  double test_loss = NAN, test_accuracy = NAN;
  std::optional<std::int64_t> diverged_at;  // the first step with a non-finite loss or gradient

  double initial_loss() const { return losses.empty() ? NAN : losses.front(); }
  // The mean loss of the last tenth of the steps (NaN after a divergence).
  double final_loss() const;
  double mean_update_ratio() const;
  double max_grad_norm() const;
};

// Trains `model` on data.train (the task of data.target) and evaluates it on data.test; stops at the
// first non-finite step.
TrainResult train(nn::Module& model, const Data& data, const TrainSpec& spec);

// The norm of the loss gradient at each weighted layer's output (Linear, Conv2d), input layer
// first, for one forward and backward pass of `probe` (cross-entropy) in training mode, so dropout
// and BatchNorm act as they do in training. Leaves the gradients zeroed (BatchNorm's running
// statistics take one step).
std::vector<double> output_grad_norms(nn::Module& model, const data::Batch& probe);
// diagnostics::kProbeSamples standard-normal inputs of `features` with random labels of `classes`.
data::Batch random_probe(std::int64_t features, std::int64_t classes, std::uint64_t seed);
// The first layer's gradient norm over the last one's: how much reaches the input end.
double first_over_last(const std::vector<double>& norms);

// "1.23e-05", "0.25", "NaN": 4 significant digits; whole numbers (counts) as integers.
std::string number(double value);
// "97.1%"
std::string percent(double fraction);
// 1, 2, ... n as doubles: a chart's x for per-layer values.
std::vector<double> indices(std::size_t n);

}  // namespace actlab::lessons
