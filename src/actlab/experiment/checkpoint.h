// Saved models and resumable runs for `actlab compare`, `actlab eval` and `actlab predict`.
//
// Files in an experiment's output folder OUT (safetensors, see io/state.h):
//   OUT/models/<arm>-seed<k>.safetensors       the final model of each finished run
//   OUT/checkpoints/<arm>-seed<k>.safetensors  the state of each unfinished run
//
// A model file's metadata says how to rebuild the model: actlab_version, model, activation,
// init, norm, dropout, data, sample_shape and class_names (JSON), normalization (JSON: per-channel
// mean and std of the training images), seed and step. A checkpoint is a model file plus the
// optimizer's state and, in "training" (JSON), everything else the run depends on: the
// train::TrainState (counters, which give the loader's position, the metrics so far, the
// observers' history such as the diagnostics snapshots), every generator the model registered
// and the default one, the sizes of the metrics files, and for a finished run its result.
// Restoring it and training on gives
// bit-for-bit the run that was not interrupted (with the same thread count; see
// docs/CHECKPOINTS.md).
//
// Errors: a file that does not fit (another model, another run, a malformed header) throws Error
// naming the file and what differs.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actlab/data/dataset.h"
#include "actlab/data/loader.h"
#include "actlab/experiment/results.h"
#include "actlab/experiment/settings.h"
#include "actlab/experiment/training.h"
#include "actlab/train/state.h"
#include "actlab/io/safetensors.h"
#include "actlab/nn/module.h"

namespace actlab::experiment {

// What a model file describes: the rebuilt model with its weights, and how its inputs were made.
struct SavedModel {
  std::shared_ptr<nn::Module> model;
  Settings settings;  // data, model, activations (one), init, norm, dropout
  Shape sample_shape;
  std::vector<std::string> class_names;
  data::Normalization normalization;
  io::Metadata metadata;
};

// Rebuilds the model a model file (or checkpoint) describes and loads its weights; the model is
// in eval mode. Throws Error when the metadata is missing or the weights do not fit.
SavedModel load_model(const std::string& path);

// The metrics files a run appends to: the experiment's shared OUT/metrics.{jsonl,csv}, or, when
// runs train concurrently (over MPI), the run's own OUT/run-metrics/<arm>-seed<k>.{jsonl,csv},
// which assemble_run_metrics() joins in sweep order once the sweep is complete.
struct MetricsPaths {
  std::filesystem::path jsonl, csv;
};
inline constexpr const char* kRunMetricsFolder = "run-metrics";
MetricsPaths shared_metrics(const std::filesystem::path& out_dir);
MetricsPaths run_metrics(const std::filesystem::path& out_dir, const std::string& arm, std::uint64_t seed);

// Appends the run metrics files of `runs` (arm label, seed), in that order, to the shared ones and
// removes OUT/run-metrics. Safe to be killed and called again: the shared files are first cut
// back to their size when the folder was created (recorded in it).
void assemble_run_metrics(const std::filesystem::path& out_dir,
                          const std::vector<std::pair<std::string, std::uint64_t>>& runs);
// Creates OUT/run-metrics (recording the shared files' sizes) unless it exists.
void begin_run_metrics(const std::filesystem::path& out_dir);

// The checkpoints and final model of one run (arm, seed) of the experiment in `out_dir`.
// `metrics`: the files the run appends to; a checkpoint records which, and their sizes.
//
// A run ends in three steps, each safe to be killed after: finish() saves the final state with
// the run's result into the checkpoint and writes the model file; the runner writes the
// summary; remove() deletes the checkpoint. A resumed run whose checkpoint is finished is not
// trained again: its result is taken from the checkpoint.
class RunCheckpoint {
 public:
  RunCheckpoint(const std::filesystem::path& out_dir, const Arm& arm, std::uint64_t seed, const Shape& sample_shape,
                std::vector<std::string> class_names, data::Normalization normalization, MetricsPaths metrics);

  std::filesystem::path checkpoint_path() const;
  std::filesystem::path model_path() const;
  // True when a checkpoint is due after `step` (every `checkpoint_every` steps).
  bool due(std::int64_t step) const;

  // Writes the checkpoint atomically: model, optimizer, `state`, the model's generators and the
  // sizes of the metrics files.
  void save(nn::Module& model, const optim::Optimizer& optimizer, const train::TrainState& state) const;

  struct Restored {
    train::TrainState state;
    std::optional<RunResult> result;  // for a finished run
  };
  // Loads the checkpoint, if there is one, into the freshly built model and optimizer; replays
  // the schedule over the finished epochs (before the optimizer's saved rates are loaded),
  // restores the generators and truncates the metrics files to their size at the checkpoint
  // (dropping lines written after it) unless `cut_metrics` is false (a data-parallel rank other
  // than 0, which writes nothing).
  std::optional<Restored> restore(nn::Module& model, optim::Optimizer& optimizer, Schedule& schedule,
                                  bool cut_metrics = true) const;

  // Saves the final state with `result`, then writes the model file.
  void finish(nn::Module& model, const optim::Optimizer& optimizer, const train::TrainState& state,
              const RunResult& result) const;
  // Writes the model file (the final model after `step` optimizer steps).
  void write_model(const nn::Module& model, std::int64_t step) const;
  // Removes the checkpoint (and the folder once no run is left to resume).
  void remove() const;

 private:
  io::Metadata model_metadata(std::int64_t step) const;
  void save_with(nn::Module& model, const optim::Optimizer& optimizer, const train::TrainState& state,
                 const nlohmann::json& result) const;

  std::filesystem::path out_dir_;
  const Arm& arm_;
  std::uint64_t seed_;
  Shape sample_shape_;
  std::vector<std::string> class_names_;
  data::Normalization normalization_;
  std::string file_name_;
  MetricsPaths metrics_;
};

// A run's name in file names: the arm label with every run of characters other than letters,
// digits, '.', '_' and '-' made one '-', then "-seed<k>" ("relu, init=he", 1: "relu-init-he-seed1").
std::string run_file_name(const std::string& arm_label, std::uint64_t seed);

// The runs of a previous invocation that need no resuming (status "ok" or "diverged"), from
// OUT/summary.json; empty when there is none.
std::vector<RunResult> finished_runs(const std::filesystem::path& out_dir);

}  // namespace actlab::experiment
