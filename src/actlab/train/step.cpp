#include "actlab/train/step.h"

#include "actlab/core/error.h"
#include "actlab/optim/clip.h"
#include "actlab/train/data_parallel.h"
#include "actlab/train/shards.h"

namespace actlab::train {
namespace {

// Forward and loss on one batch, into fresh gradients; `loss` is left for backward.
StepResult forward(nn::Module& model, const data::Batch& batch, const Task& task, optim::Optimizer& optimizer,
                   Tensor& loss) {
  StepResult result;
  result.samples = batch.labels.size(0);
  optimizer.zero_grad();
  const Tensor output = model(batch.images);
  loss = task.loss(output, batch);
  result.loss = loss.item();
  result.correct = task.correct(output, batch);
  return result;
}

// Forward, loss and (when the loss is finite) backward on one batch, into fresh gradients.
StepResult forward_backward(nn::Module& model, const data::Batch& batch, const Task& task, optim::Optimizer& optimizer) {
  Tensor loss;
  StepResult result = forward(model, batch, task, optimizer, loss);
  if (std::isfinite(result.loss)) loss.backward();
  return result;
}

// The micro-batches of gradient accumulation in turn, their gradients summed as shards.h says.
// Once a micro-batch's loss is not finite, the gradients are left as they are: no update follows.
StepResult accumulated(nn::Module& model, const data::Batch& batch, const Task& task, optim::Optimizer& optimizer,
                       std::int64_t micro_batches) {
  constexpr const char* kWhat = "--accumulate";
  const std::vector<Tensor> parameters = optimizer.parameters();
  const double rows = static_cast<double>(batch.labels.size(0));
  StepResult result;
  ShardTotals totals;
  bool finite = true;
  std::vector<float> sum, term;
  for (std::int64_t k = 0; k < micro_batches; ++k) {
    const data::Batch micro_batch = batch_shard(batch, k, micro_batches, kWhat, "a smaller --accumulate");
    const StepResult part = forward_backward(model, micro_batch, task, optimizer);
    const ShardTotals mine = shard_totals(part);
    if (k == 0) {
      result.correct = part.correct;  // present or not, as the task says
      totals = mine;
    } else {
      add_shard(mine.data(), mine.size(), totals.data());
    }
    finite = finite && std::isfinite(part.loss);
    if (!finite) continue;
    std::vector<float>& weighted = k == 0 ? sum : term;
    weighted.clear();
    append_weighted_gradients(parameters, static_cast<double>(part.samples) / rows, weighted, kWhat);
    if (k > 0) add_shard(term.data(), term.size(), sum.data());
  }
  apply_totals(totals, result);
  if (finite) assign_gradients(parameters, sum);
  return result;
}

}  // namespace

StepResult train_step(nn::Module& model, const data::Batch& batch, const Task& task, optim::Optimizer& optimizer,
                      const StepOptions& options, const AfterBackward& after_backward) {
  ACTLAB_CHECK(options.accumulate >= 1, "--accumulate must be at least 1 (1: no accumulation), got {}",
               options.accumulate);
  // With accumulation every micro-batch's backward has run already, and `loss` stays undefined.
  Tensor loss;
  StepResult result = options.accumulate == 1 ? forward(model, batch, task, optimizer, loss)
                                              : accumulated(model, batch, task, optimizer, options.accumulate);
  DataParallelGroup* group = options.data_parallel;
  if (group) group->combine(result);
  if (std::isfinite(result.loss)) {
    const auto backward = [&loss] {
      if (loss.defined()) loss.backward();
    };
    if (group)
      group->reduce_gradients(optimizer.parameters(), backward);
    else
      backward();
  }
  if (std::isfinite(result.loss)) result.grad_norm = optim::grad_norm(optimizer.parameters());
  if (after_backward) after_backward(result);
  if (!result.finite()) return result;
  if (options.clip_norm > 0) optim::clip_grad_norm_(optimizer.parameters(), options.clip_norm, result.grad_norm);
  optimizer.step();
  result.updated = true;
  return result;
}

}  // namespace actlab::train
