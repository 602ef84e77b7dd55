// What `actlab compare` attaches to each run's training loop (train/loop.h), one concern each:
//
//   MetricsWriter     appends logged steps and epoch results to metrics.jsonl and metrics.csv
//   ProgressReporter  the progress bars and the epoch lines
//   GradientFlow      the diagnostics recorder: a snapshot at initialization, every
//                     `diagnostics_every` steps and at the end, and the dead units on many
//                     samples at initialization; its history lives in the state
//                     (state.observers["diagnostics"], ["dead_at_init"]), so a resumed run keeps it
//   DivergenceLocator when a step's loss or gradient norm is not finite, replays that step from
//                     the state it started in with every layer output and gradient checked,
//                     and says where the first NaN or infinity appeared
//   Checkpointer      saves the run every `checkpoint_every` steps, at epoch ends and when the
//                     run is interrupted
//
// Register them in this order: the checkpointer last, so a checkpoint covers what the others
// wrote for the same step.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "actlab/data/loader.h"
#include "actlab/diagnostics/dead_units.h"
#include "actlab/diagnostics/locator.h"
#include "actlab/diagnostics/recorder.h"
#include "actlab/diagnostics/through_time.h"
#include "actlab/diagnostics/verdicts.h"
#include "actlab/experiment/checkpoint.h"
#include "actlab/experiment/progress.h"
#include "actlab/experiment/results.h"
#include "actlab/train/loop.h"

namespace actlab::experiment {

// The metrics files of an experiment, shared by its runs.
class MetricsFiles {
 public:
  explicit MetricsFiles(const std::filesystem::path& dir);
  // One run's own metrics files (checkpoint.h MetricsPaths), without the CSV's header line.
  explicit MetricsFiles(const MetricsPaths& run);
  void step(const RunResult& run, const StepMetrics& s);
  void epoch(const RunResult& run, const EpochMetrics& e, std::int64_t step);

 private:
  // Throws Error when a line could not be written (a full disk): no metric is lost silently.
  void flush();
  std::filesystem::path dir_;
  std::ofstream jsonl_, csv_;
};

class MetricsWriter final : public train::Observer {
 public:
  MetricsWriter(MetricsFiles& files, const RunResult& run) : files_(files), run_(run) {}
  void on_step_end(train::Run& run, const train::StepResult&) override;
  void on_epoch_end(train::Run& run, const EpochMetrics& e) override;

 private:
  MetricsFiles& files_;
  const RunResult& run_;  // names the run in each line
};

class ProgressReporter final : public train::Observer {
 public:
  explicit ProgressReporter(Progress& progress) : progress_(progress) {}
  void on_step_end(train::Run& run, const train::StepResult&) override;
  void on_epoch_end(train::Run& run, const EpochMetrics& e) override;

 private:
  Progress& progress_;
};

class GradientFlow final : public train::Observer {
 public:
  // `dead_samples`: the inputs dead units are counted on (diagnostics::dead_unit_samples).
  // `loss`: the task's loss of the probe batch (diagnostics::ProbeLoss).
  GradientFlow(std::shared_ptr<nn::Module> model, data::Batch probe, Tensor dead_samples, std::int64_t every,
               diagnostics::ProbeLoss loss = {});
  void on_run_begin(train::Run& run) override;
  void on_after_backward(train::Run& run, const data::Batch&, const train::StepResult& r) override;
  void on_step_end(train::Run& run, const train::StepResult& r) override;
  void on_run_end(train::Run& run) override;
  const diagnostics::Recorder& recorder() const { return recorder_; }
  // The dead units counted at initialization (kept in `state`), and counted now.
  std::vector<diagnostics::DeadUnits> dead_at_init(const train::TrainState& state) const;
  std::vector<diagnostics::DeadUnits> count_dead_units() const;

 private:
  void record(train::Run& run);
  std::shared_ptr<nn::Module> model_;
  diagnostics::Recorder recorder_;
  Tensor dead_samples_;
  std::int64_t every_;
};

// Gradients through time of a sequence model (diagnostics/through_time.h) every `every` steps,
// at the start and at the end, kept in the training state ("through_time") across a kill.
class ThroughTime final : public train::Observer {
 public:
  ThroughTime(std::shared_ptr<nn::SequenceModel> model, data::Batch probe, diagnostics::ProbeLoss loss,
              std::int64_t every);
  void on_run_begin(train::Run& run) override;
  void on_step_end(train::Run& run, const train::StepResult& r) override;
  void on_run_end(train::Run& run) override;
  // The snapshots recorded so far (of `state`).
  static std::vector<diagnostics::ThroughTimeSnapshot> snapshots(const train::TrainState& state);

 private:
  void record(train::Run& run);
  std::shared_ptr<nn::SequenceModel> model_;
  data::Batch probe_;
  diagnostics::ProbeLoss loss_;
  std::int64_t every_;
};

class DivergenceLocator final : public train::Observer {
 public:
  explicit DivergenceLocator(std::shared_ptr<nn::Module> model);
  void on_step_begin(train::Run& run, const data::Batch&) override;
  void on_after_backward(train::Run& run, const data::Batch& batch, const train::StepResult& r) override;
  // Where the run's first non-finite value appeared, once it diverged and the replay found it.
  const std::optional<diagnostics::Anomaly>& anomaly() const { return anomaly_; }

 private:
  std::shared_ptr<nn::Module> model_;
  std::vector<Generator*> generators_;  // the model's and the default one, found once
  std::vector<std::pair<std::uint64_t, std::uint64_t>> step_start_;  // their (seed, offset) as the step began
  std::optional<diagnostics::Anomaly> anomaly_;
};

class Checkpointer final : public train::Observer {
 public:
  explicit Checkpointer(const RunCheckpoint& checkpoint) : checkpoint_(checkpoint) {}
  void on_step_end(train::Run& run, const train::StepResult&) override;
  void on_epoch_end(train::Run& run, const EpochMetrics&) override;
  void on_interrupt(train::Run& run) override;

 private:
  const RunCheckpoint& checkpoint_;
};

}  // namespace actlab::experiment
