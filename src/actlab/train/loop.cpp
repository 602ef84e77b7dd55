#include "actlab/train/loop.h"

#include <chrono>

#include "actlab/core/error.h"
#include "actlab/core/failpoint.h"

namespace actlab::train {
namespace {

using Clock = std::chrono::steady_clock;

template <typename Event>
void notify(const std::vector<Observer*>& observers, Event&& event) {
  for (Observer* observer : observers) event(*observer);
}

EpochMetrics evaluate_epoch(Run& run, const LoopOptions& options, double lr, double seconds) {
  TrainState& s = run.state;
  EpochMetrics e;
  e.epoch = s.epoch;
  e.seconds = seconds;
  e.lr = lr;
  e.train_loss = s.status == "diverged" ? NAN : s.epoch_score.loss();
  e.train_acc = s.epoch_score.accuracy();
  if (options.validation) {
    const Score v = evaluate(run.model, run.task, *options.validation, options.normalization);
    e.val_loss = v.loss();
    e.val_acc = v.accuracy();
  }
  const Score t = evaluate(run.model, run.task, *options.test, options.normalization);
  e.test_loss = t.loss();
  e.test_acc = t.accuracy();
  return e;
}

void record_step(TrainState& s, const StepResult& r, std::int64_t batches_per_epoch, std::int64_t log_every) {
  s.samples += r.samples;
  s.epoch_score.add(r.loss, r.correct, r.samples);
  s.interval_loss += r.loss;
  ++s.interval_steps;
  if (s.step % log_every != 0) return;
  s.steps.push_back({s.step,
                     static_cast<double>(s.epoch - 1) +
                         static_cast<double>(s.step_in_epoch) / static_cast<double>(batches_per_epoch),
                     s.interval_loss / static_cast<double>(s.interval_steps)});
  s.interval_loss = 0;
  s.interval_steps = 0;
}

}  // namespace

void fit(Run& run, const LoopOptions& options, const std::vector<Observer*>& observers) {
  ACTLAB_CHECK(options.test != nullptr, "train::fit: needs a test set to evaluate after each epoch");
  ACTLAB_CHECK(options.log_every >= 1, "train::fit: log_every must be >= 1, got {}", options.log_every);
  TrainState& s = run.state;
  data::DataLoader& loader = run.loader;
  const std::int64_t batches = loader.batches_per_epoch();
  if (s.status == "interrupted") s.status = "ok";  // an interrupted run continues
  DataParallelGroup* group = options.data_parallel;
  StepOptions step_options = options.step;
  if (group) {
    group->broadcast(run.model);
    step_options.data_parallel = group;
  }
  auto stop = [&] {
    const bool requested = options.should_stop && options.should_stop();
    return group ? group->any(requested) : requested;
  };
  notify(observers, [&](Observer& o) { o.on_run_begin(run); });
  while (!s.finished && s.epoch <= run.epochs && s.status == "ok") {
    const double lr = run.optimizer.lr();
    auto epoch_start = Clock::now();
    double epoch_seconds = 0;
    auto lap = [&] {
      const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
      epoch_seconds += seconds;
      s.train_seconds += seconds;
      epoch_start = Clock::now();
    };
    if (s.step_in_epoch < batches) {
      loader.set_position({s.epoch - 1, s.step_in_epoch});
      for (data::Batch& whole : loader) {
        const data::Batch batch = group ? group->local_batch(whole) : whole;
        if (stop()) {
          lap();
          notify(observers, [&](Observer& o) { o.on_interrupt(run); });  // sees the state to resume from
          s.status = "interrupted";
          break;
        }
        ++s.step;
        ++s.step_in_epoch;
        notify(observers, [&](Observer& o) { o.on_step_begin(run, batch); });
        const StepResult r = train_step(run.model, batch, run.task, run.optimizer, step_options, [&](const StepResult& r) {
          notify(observers, [&](Observer& o) { o.on_after_backward(run, batch, r); });
        });
        if (!r.finite()) {
          s.status = "diverged";
          s.diverged_at_step = s.step;
          break;
        }
        record_step(s, r, batches, options.log_every);
        lap();
        notify(observers, [&](Observer& o) { o.on_step_end(run, r); });
        failpoint("loop.step-end");
      }
    }
    lap();
    if (s.status == "interrupted" || s.epoch_score.samples == 0) break;
    failpoint("loop.evaluation");
    const EpochMetrics e = evaluate_epoch(run, options, lr, epoch_seconds);
    s.epochs.push_back(e);
    if (options.schedule) options.schedule(e.val_loss.value_or(e.test_loss));
    if (s.status == "ok") {
      ++s.epoch;
      s.step_in_epoch = 0;
      s.epoch_score = {};
    }
    notify(observers, [&](Observer& o) { o.on_epoch_end(run, e); });
  }
  if (s.status != "interrupted") s.finished = true;
  notify(observers, [&](Observer& o) { o.on_run_end(run); });
}

}  // namespace actlab::train
