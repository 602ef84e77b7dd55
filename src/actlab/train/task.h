// Tasks: what a batch's targets mean. A task turns the model's output and a batch into the loss
// to minimize and the counts behind its metrics; the training step and evaluation call nothing
// else, so a new kind of problem (regression, a sequence task) is one Task.
//
//   Classification  cross-entropy on int64 class labels [B]; accuracy = argmax matches the label
//   Regression      mean squared error against float targets shaped like the output; no accuracy
//   PerStepClassification  cross-entropy averaged over every step of every sample, for outputs
//                   [B, T, C] and int64 labels [B, T] (the copy task); accuracy = the fraction of
//                   steps whose argmax matches, counted per sample (a sample right at half its
//                   steps adds 0.5)
// A sequence model that reads the last step turns last-step classification and regression into
// the first two; make_task() picks the task a dataset's targets call for.
//
// evaluate() runs a model over a whole dataset in eval mode without recording and gives the mean
// loss and the accuracy (NaN for tasks without one). It restores the model's training mode.
//
// Errors: a batch whose targets do not fit the output throws Error from the loss.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "actlab/data/dataset.h"
#include "actlab/data/loader.h"
#include "actlab/data/registry.h"
#include "actlab/nn/module.h"

namespace actlab::train {

// Sums over samples, so partial scores (batches, epochs, a resumed epoch) add up exactly.
struct Score {
  double loss_sum = 0;  // per-sample losses summed
  double correct = 0;   // correct predictions (tasks with an accuracy)
  std::int64_t samples = 0;
  bool has_accuracy = true;

  double loss() const;      // mean loss; NaN without samples
  double accuracy() const;  // fraction correct; NaN without samples or without an accuracy
  void add(double batch_mean_loss, std::optional<double> batch_correct, std::int64_t batch_samples);
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  // The batch's mean loss, recorded for backward.
  virtual Tensor loss(const Tensor& output, const data::Batch& batch) const = 0;
  // Correct predictions in the batch, or nullopt when the task has no accuracy.
  virtual std::optional<double> correct(const Tensor& output, const data::Batch& batch) const = 0;
};

class Classification final : public Task {
 public:
  std::string name() const override { return "classification"; }
  Tensor loss(const Tensor& output, const data::Batch& batch) const override;
  std::optional<double> correct(const Tensor& output, const data::Batch& batch) const override;
};

class Regression final : public Task {
 public:
  std::string name() const override { return "regression"; }
  Tensor loss(const Tensor& output, const data::Batch& batch) const override;
  std::optional<double> correct(const Tensor&, const data::Batch&) const override { return std::nullopt; }
};

class PerStepClassification final : public Task {
 public:
  std::string name() const override { return "per-step classification"; }
  Tensor loss(const Tensor& output, const data::Batch& batch) const override;
  std::optional<double> correct(const Tensor& output, const data::Batch& batch) const override;
};

// The task of a dataset's targets (data::DatasetSpec::target).
std::unique_ptr<Task> make_task(data::Target target);

inline constexpr std::int64_t kEvalBatch = 1000;

Score evaluate(nn::Module& model, const Task& task, const data::Dataset& dataset,
               const data::Normalization& normalization, std::int64_t batch_size = kEvalBatch);

}  // namespace actlab::train
