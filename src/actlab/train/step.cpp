#include "actlab/train/step.h"

#include "actlab/optim/clip.h"

namespace actlab::train {

StepResult train_step(nn::Module& model, const data::Batch& batch, const Task& task, optim::Optimizer& optimizer,
                      const StepOptions& options, const AfterBackward& after_backward) {
  StepResult result;
  result.samples = batch.labels.size(0);
  optimizer.zero_grad();
  const Tensor output = model(batch.images);
  const Tensor loss = task.loss(output, batch);
  result.loss = loss.item();
  result.correct = task.correct(output, batch);
  if (std::isfinite(result.loss)) loss.backward();
  if (options.synchronize) options.synchronize(result);
  if (std::isfinite(result.loss)) result.grad_norm = optim::grad_norm(optimizer.parameters());
  if (after_backward) after_backward(result);
  if (!result.finite()) return result;
  if (options.clip_norm > 0) optim::clip_grad_norm_(optimizer.parameters(), options.clip_norm, result.grad_norm);
  optimizer.step();
  result.updated = true;
  return result;
}

}  // namespace actlab::train
