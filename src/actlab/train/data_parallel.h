// Data-parallel training as the training core sees it: one run trained by a group of processes
// (distributed/data_parallel.h is the MPI one). fit() asks the group, when LoopOptions has one:
//
//   broadcast(model)        once, before the first step: every process starts from process 0's
//                           parameters and buffers
//   any(stop)               before every step: true on every process when true on any, so all
//                           stop at the same step
//   local_batch(batch)      each loader batch (the whole batch, the same on every process) ->
//                           this process's share of its rows
//   combine(r)              after forward, before backward: makes r's loss, correct count and
//                           samples those of the whole batch, so every process agrees whether
//                           backward runs (it does not when the loss is not finite on any)
//   reduce_gradients(params, backward)
//                           runs `backward` and exchanges the gradients while it runs (a
//                           gradient as soon as backward has finished it); on return every
//                           parameter's gradient is the whole batch's: the sample-weighted mean
//                           of the processes' gradients
//
// Every process must make the same calls in the same order. After reduce_gradients every process
// holds the same gradients, so the same update keeps the parameters identical; evaluation then
// runs on each process alike.
#pragma once

#include <functional>
#include <vector>

#include "actlab/core/tensor.h"
#include "actlab/data/loader.h"
#include "actlab/nn/module.h"
#include "actlab/train/step.h"

namespace actlab::train {

class DataParallelGroup {
 public:
  virtual ~DataParallelGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void broadcast(nn::Module& model) = 0;
  virtual bool any(bool flag) = 0;
  virtual data::Batch local_batch(const data::Batch& batch) const = 0;
  virtual void combine(StepResult& result) = 0;
  virtual void reduce_gradients(const std::vector<Tensor>& parameters, const std::function<void()>& backward) = 0;
  // Waits until every process of the group has called it.
  virtual void barrier() = 0;
  // Seconds the exchange has cost the training so far: combine(), and the part of
  // reduce_gradients() that does not overlap backward.
  virtual double exchange_seconds() const = 0;
};

}  // namespace actlab::train
