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
