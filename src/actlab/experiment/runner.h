// The experiment runner behind `actlab compare`: trains every arm of a sweep for every seed
// under identical conditions and records everything.
//
// Identical conditions: every arm reads the same data split in the same order (the loader's
// seed is the run's seed), starts from the same initial weights where shapes allow (the
// model's seed is the run's seed), and uses the same hyper-parameters; only the swept settings
// differ.
//
// Outputs in the output folder: config.toml (resolved settings), metrics.jsonl and metrics.csv
// (one line per logged step and per epoch), summary.json, report.md and report.html. The
// summary and reports are rewritten after every run, so a sweep killed halfway keeps every
// finished run.
//
// A run whose loss becomes NaN or infinite is stopped and marked "diverged at step S"; the
// sweep goes on. request_stop() (wired to Ctrl-C by the CLI) ends the current run at the next
// step, marks it "interrupted", and writes the outputs of everything finished.
//
// Errors: validate() runs before any training; a missing dataset says where it looked and how
// to get it.
#pragma once

#include <ostream>
#include <string>

#include "actlab/data/registry.h"
#include "actlab/experiment/dispatch.h"
#include "actlab/experiment/results.h"
#include "actlab/experiment/settings.h"
#include "actlab/train/data_parallel.h"

namespace actlab::experiment {

struct RunnerOptions {
  // For the default experiment: when the dataset is missing and cannot be fetched, say so and
  // run on the built-in spirals set instead of failing.
  bool fall_back_to_spirals = false;
  std::ostream* log = nullptr;  // progress and messages (default std::cerr)
  bool tty = false;             // draw progress bars instead of log lines
  // Continue the sweep in experiment.base.out: keep its finished runs, resume the others from
  // their checkpoints (see checkpoint.h).
  bool resume = false;
  // Replace an earlier experiment in the output folder (otherwise refused; see output_folder.h).
  bool overwrite = false;
  // Where the runs are trained (dispatch.h); null: all here, in sweep order.
  RunDispatcher* dispatcher = nullptr;
  // Trains each run on every process of this group (train/data_parallel.h), `batch` samples per
  // process; only its process 0 writes files. Requires a dispatcher that gives every process of
  // the group the same runs in the same order.
  train::DataParallelGroup* data_parallel = nullptr;
};

struct Outcome {
  std::string out_dir;
  Summary summary;
  bool interrupted = false;
};

// How the settings' dataset is loaded (folder, and the shape of the generated sets).
data::LoadOptions load_options(const Settings& settings);

// Checks what the settings' own checks cannot: activation specs, init names, schedules, and that
// the model fits the dataset's sample shape. Throws Error naming the option and the choices.
void validate(const Experiment& experiment);

Outcome run_experiment(Experiment experiment, const RunnerOptions& options);

// The gradient-flow diagnostics (diagnostics/verdicts.h JSON) of the experiment's single arm at
// initialization, on the probe batch a run would use, without training. Throws Error when the
// experiment has more than one arm.
nlohmann::json diagnose_at_init(const Experiment& experiment);

// What `actlab diagnose` starts from without a config: one short run of relu (1 epoch on the
// first 10000 training samples, a gradient-flow snapshot every 20 steps).
Experiment diagnose_defaults();

struct Diagnosis {
  nlohmann::json diagnostics;  // diagnostics/verdicts.h JSON; at initialization with "init_analysis"
  std::string out_dir;         // the run's output folder; empty at initialization
};

// The gradient-flow diagnostics of the experiment's one model, with its first seed: at
// initialization (diagnose_at_init, nothing written), or after training it as run_experiment
// does. Throws Error when the settings make more than one arm, or a run has diagnostics_every 0.
Diagnosis diagnose(Experiment experiment, bool at_init, const RunnerOptions& options);

// The per-layer table, the initialization analysis (when there is one) and the verdicts of a
// diagnosis, as `actlab diagnose` prints them.
std::string diagnosis_text(const nlohmann::json& diagnostics);

// Asks a running experiment to stop at the next step (async-signal-safe).
void request_stop();

}  // namespace actlab::experiment
