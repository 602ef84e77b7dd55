// The training step: one batch through the model, the task's loss, backward, clipping and the
// optimizer's update, as one plain function. It returns what happened and touches nothing else,
// so every loop (compare, benchmarks, a playground, data-parallel training) takes the same step.
//
// Order: zero the gradients, forward, loss, backward (in data-parallel training: the whole
// batch's loss agreed first, then the gradients exchanged while backward runs), the global
// gradient norm, then
// `after_backward(result)` (diagnostics look at gradients here, before they are clipped and
// applied), clipping to `clip_norm` (0: none), and optimizer.step(). A non-finite loss or
// gradient norm skips backward or the update: the parameters keep their values and the caller
// decides what a diverged step means.
//
// Gradient accumulation (`accumulate` K > 1): forward and backward run on each of K micro-batches
// in turn, rows [k*rows/K, (k+1)*rows/K) as data-parallel training splits a batch over K ranks,
// and their gradients, loss and counts are combined in micro-batch order as shards.h sums shards:
// the batch's gradient in the memory of one micro-batch. K = 1 is the plain step, bit for bit.
// Each micro-batch is a batch of its own to the model: BatchNorm normalizes it with its own
// statistics and updates the running statistics once per micro-batch; dropout draws its masks
// per micro-batch. Throws Error when K < 1 or the batch has fewer than K rows.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>

#include "actlab/data/loader.h"
#include "actlab/nn/module.h"
#include "actlab/optim/optimizer.h"
#include "actlab/train/task.h"

namespace actlab::train {

class DataParallelGroup;

struct StepOptions {
  double clip_norm = 0;  // clip the global gradient norm to this (0: no clipping)
  std::int64_t accumulate = 1;  // micro-batches per batch (1: the whole batch at once)
  // Trains the step together with the group's other processes (data_parallel.h): the result and
  // the gradients become the whole batch's. With accumulate > 1 the exchange follows the last
  // micro-batch's backward instead of overlapping it. Null: alone.
  DataParallelGroup* data_parallel = nullptr;
};

struct StepResult {
  double loss = NAN;                // the batch's mean loss
  std::optional<double> correct;    // correct predictions, for tasks with an accuracy
  std::int64_t samples = 0;
  double grad_norm = NAN;           // global L2 norm of the gradients, before clipping
  bool updated = false;             // the optimizer took the step
  bool finite() const { return std::isfinite(loss) && std::isfinite(grad_norm); }
};

using AfterBackward = std::function<void(const StepResult&)>;

StepResult train_step(nn::Module& model, const data::Batch& batch, const Task& task, optim::Optimizer& optimizer,
                      const StepOptions& options = {}, const AfterBackward& after_backward = {});

}  // namespace actlab::train
