// The training loop: epochs of train_step() over a loader, an evaluation after each epoch, and
// observers notified at every point where something outside the step wants to look (metrics
// files, progress, checkpoints, gradient-flow diagnostics, the NaN locator, a live view). The
// loop reads and writes only the TrainState, so a state restored from a checkpoint continues the
// run exactly; adding an observer touches no loop code.
//
//   on_run_begin                     once, before anything (state may be a restored one)
//   per step:  on_step_begin -> [train_step: forward, backward] -> on_after_backward ->
//              [clip, update] -> on_step_end
//   per epoch: on_epoch_end          after the evaluation, the schedule and the counters moved
//                                    on to the next epoch (a checkpoint here resumes there)
//   on_interrupt                     when should_stop() said so, before the next step
//   on_run_end                       once the loop is over (finished, diverged or interrupted)
//
// A step whose loss or gradient norm is not finite marks the run "diverged" at that step; the
// epoch is still evaluated, then the loop ends.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "actlab/data/dataset.h"
#include "actlab/data/loader.h"
#include "actlab/nn/module.h"
#include "actlab/optim/optimizer.h"
#include "actlab/train/data_parallel.h"
#include "actlab/train/state.h"
#include "actlab/train/step.h"
#include "actlab/train/task.h"

namespace actlab::train {

// What observers see of a run; everything but `state` is fixed during it.
struct Run {
  nn::Module& model;
  optim::Optimizer& optimizer;
  const Task& task;
  data::DataLoader& loader;
  TrainState& state;
  std::int64_t epochs = 1;
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_run_begin(Run&) {}
  virtual void on_step_begin(Run&, const data::Batch&) {}
  virtual void on_after_backward(Run&, const data::Batch&, const StepResult&) {}
  virtual void on_step_end(Run&, const StepResult&) {}
  virtual void on_epoch_end(Run&, const EpochMetrics&) {}
  virtual void on_interrupt(Run&) {}
  virtual void on_run_end(Run&) {}
};

struct LoopOptions {
  StepOptions step;
  std::int64_t log_every = 50;  // steps per logged training loss (state.steps)
  // Evaluated after each epoch (null: none); the test set is required.
  const data::Dataset* validation = nullptr;
  const data::Dataset* test = nullptr;
  data::Normalization normalization;
  // After each epoch's evaluation, with the validation loss (the test loss without validation).
  std::function<void(double monitored_loss)> schedule;
  // Asked before every step; true ends the run as "interrupted".
  std::function<bool()> should_stop;
  // Trains the run together with the other processes of the group (data_parallel.h); null: alone.
  DataParallelGroup* data_parallel = nullptr;
};

// Trains `run.state` on to `run.epochs` epochs (or until it diverges or is stopped); a state
// that was interrupted continues.
void fit(Run& run, const LoopOptions& options, const std::vector<Observer*>& observers);

}  // namespace actlab::train
