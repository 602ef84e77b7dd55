#include "actlab/train/task.h"

#include <cmath>

#include "actlab/autograd/grad_mode.h"
#include "actlab/nn/loss.h"

namespace actlab::train {

double Score::loss() const { return samples > 0 ? loss_sum / static_cast<double>(samples) : NAN; }

double Score::accuracy() const {
  return samples > 0 && has_accuracy ? correct / static_cast<double>(samples) : NAN;
}

void Score::add(double batch_mean_loss, std::optional<double> batch_correct, std::int64_t batch_samples) {
  loss_sum += batch_mean_loss * static_cast<double>(batch_samples);
  samples += batch_samples;
  if (batch_correct)
    correct += *batch_correct;
  else
    has_accuracy = false;
}

Tensor Classification::loss(const Tensor& output, const data::Batch& batch) const {
  return nn::cross_entropy(output, batch.labels);
}

std::optional<double> Classification::correct(const Tensor& output, const data::Batch& batch) const {
  NoGradGuard no_grad;
  return output.detach().argmax(1).eq(batch.labels).sum().item();
}

Tensor Regression::loss(const Tensor& output, const data::Batch& batch) const {
  return nn::mse_loss(output, batch.labels.to(output.dtype()).reshape(output.shape()));
}

namespace {

// [B, T, C] outputs and [B, T] labels as [B * T, C] and [B * T]. Throws when they do not fit.
std::pair<Tensor, Tensor> per_step_rows(const Tensor& output, const data::Batch& batch) {
  ACTLAB_CHECK(output.dim() == 3 && batch.labels.dim() == 2 && batch.labels.size(0) == output.size(0) &&
                   batch.labels.size(1) == output.size(1),
               "per-step classification: needs outputs [B, T, C] and labels [B, T], got outputs {} and labels {}; "
               "use a model with a head on every step (rnn:, lstm:, gru: on a per-step dataset such as copy:T)",
               shape_str(output.shape()), shape_str(batch.labels.shape()));
  const std::int64_t rows = output.size(0) * output.size(1);
  return {output.reshape({rows, output.size(2)}), batch.labels.reshape({rows})};
}

}  // namespace

Tensor PerStepClassification::loss(const Tensor& output, const data::Batch& batch) const {
  const auto [logits, labels] = per_step_rows(output, batch);
  return nn::cross_entropy(logits, labels);
}

std::optional<double> PerStepClassification::correct(const Tensor& output, const data::Batch& batch) const {
  NoGradGuard no_grad;
  const auto [logits, labels] = per_step_rows(output.detach(), batch);
  return logits.argmax(1).eq(labels).sum().item() / static_cast<double>(output.size(1));
}

std::unique_ptr<Task> make_task(data::Target target) {
  switch (target) {
    case data::Target::Value: return std::make_unique<Regression>();
    case data::Target::ClassPerStep: return std::make_unique<PerStepClassification>();
    case data::Target::Class: break;
  }
  return std::make_unique<Classification>();
}

Score evaluate(nn::Module& model, const Task& task, const data::Dataset& dataset,
               const data::Normalization& normalization, std::int64_t batch_size) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  data::DataLoader loader(dataset, data::LoaderOptions().batch_size(batch_size).shuffle(false).normalize(normalization));
  Score score;
  for (data::Batch& batch : loader) {
    const Tensor output = model(batch.images);
    score.add(task.loss(output, batch).item(), task.correct(output, batch), batch.labels.size(0));
  }
  model.train(was_training);
  return score;
}

}  // namespace actlab::train
