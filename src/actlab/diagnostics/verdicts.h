// Verdicts on recorded snapshots and the run's loss history, and the diagnostics' JSON form
// (summary.json "diagnostics"). docs/DIAGNOSTICS.md gives the definitions and their validation.
//
//   exploding     a non-finite value (the anomaly or a snapshot); the gradient amplified across
//                 layers at one step (first/last weighted layer > exploding_ratio); a spike of the
//                 gradient norm over its running median (> spike_ratio) with a jump of the loss;
//                 or updates larger than the weights (> exploding_update_ratio) while the loss is
//                 above its initial value. Growth from a small initial gradient while the loss
//                 falls is learning, not explosion.
//   vanishing     first/last weighted layer gradient norm < vanishing_ratio at a snapshot taken
//                 while the run had not yet learned, or after a quarter of the budget (any
//                 snapshot when there is no loss history, e.g. at initialization alone)
//   dead          an activation layer with more than dead_fraction of its units zero on every
//                 sample (RunFacts' large-sample counts when given, else the probe's)
//   saturated     an activation layer with more than saturated_fraction of its values saturated
//   stalled       after at least a quarter of the planned steps the training loss is within
//                 stall_margin of chance (ln classes) or of its initial value; names the most
//                 likely cause from the other evidence, or says that none was found
//   lr_too_small  even the fastest-moving layer's update-to-weight ratio is below lr_small_ratio
//   lr_too_large  the typical update-to-weight ratio is above lr_large_ratio and the loss rose
//                 or did not fall
// Remedies skip what the settings already have and give the command line that reruns the arm
// with the remedy (when RunFacts carries the settings).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/diagnostics/locator.h"
#include "actlab/diagnostics/recorder.h"

namespace actlab::diagnostics {

struct Thresholds {
  double vanishing_ratio = 1e-2;
  double exploding_ratio = 1e2;
  double dead_fraction = 0.5;
  double saturated_fraction = 0.5;
  double stall_margin = 0.10;          // "within 10% of chance or of the initial loss"
  double spike_ratio = 10;             // gradient norm over its running median
  double exploding_update_ratio = 1;   // ||dw|| / ||w|| of one step
  double lr_small_ratio = 1e-5;        // 100 times below the ~1e-3 rule of thumb
  double lr_large_ratio = 1e-1;        // 100 times above it
};

// One setting of the run, as `actlab compare --KEY VALUE` takes it.
struct Setting {
  std::string key;            // settings key ("lr", "init")
  std::string value;          // in effect for this run
  std::string default_value;  // what the command line gives without the option
};

// Per activation layer: units zero on every one of `samples` samples.
struct DeadUnits {
  std::string layer;  // dotted name
  std::int64_t units = 0, dead = 0, samples = 0;
};

// What the run did, besides its snapshots: plain data from the caller (all optional).
struct RunFacts {
  std::int64_t classes = 0;        // 0: unknown (no chance level)
  std::int64_t planned_steps = 0;  // the budget in optimizer steps (0: unknown)
  std::int64_t steps_done = 0;
  std::optional<std::int64_t> diverged_at_step;  // the training loss became non-finite there
  std::vector<double> epoch_train_losses;
  std::vector<std::pair<std::int64_t, double>> step_losses;  // (step, mean loss of the logged interval)
  std::vector<Setting> settings;   // every setting of the arm (empty: remedies without a command)
  std::vector<DeadUnits> dead_at_init, dead_at_end;  // large-sample counts (empty: use the probe's)
};

struct Verdict {
  std::string kind;      // "exploding", "vanishing", "dead", "saturated", "stalled", "lr_too_small", "lr_too_large"
  std::int64_t step = 0; // first snapshot or step where it fired
  std::string evidence;  // numbers and layer names
  std::vector<std::string> remedies;  // "what: actlab compare ... --KEY VALUE"
};

// A remedy: what to change, as settings.
struct Remedy {
  std::string what;
  std::vector<std::pair<std::string, std::string>> change;  // (settings key, value)
};
// The remedies not already in effect, each as "what: actlab compare ..." (the arm's settings with
// the change) when facts carry the settings, else as "what (--key value)".
std::vector<std::string> remedy_lines(const RunFacts& facts, const std::vector<Remedy>& remedies);

std::vector<Verdict> judge(const std::vector<LayerInfo>& layers, const std::vector<Snapshot>& snapshots,
                           const Thresholds& thresholds, const std::optional<Anomaly>& anomaly = std::nullopt,
                           const RunFacts& facts = {});

// {"probe_samples", "thresholds", "histogram": {"bins", "range"},
//  "layers": [{"name", "type", "weighted", "activation"}],
//  "snapshots": [{"step", "layers": [{"mean", "std", "p5", "p50", "p95", "histogram",
//      "negative_input_fraction", "dead_fraction", "saturated_fraction", "grad_norm", "grad_std",
//      "weight_grad_norm", "weight_grad_std", "update_ratio"}]}],      (null where not measured)
//  "verdicts": [{"kind", "step", "evidence", "remedies"}], "anomaly": {...} or absent,
//  "dead_units": {"at_init", "at_end": [{"layer", "units", "dead", "samples"}]} when given}
// Each snapshot also has its probe "loss".
nlohmann::json to_json(const Recorder& recorder, const Thresholds& thresholds,
                       const std::optional<Anomaly>& anomaly = std::nullopt, const RunFacts& facts = {});

// The "anomaly" object: {"step", "phase", "layer", "layer_type", "op", "inputs", "message"}.
nlohmann::json to_json(const Anomaly& anomaly);

// From that JSON: a per-layer table of a snapshot (default the last), and the verdicts as lines.
std::string format_table(const nlohmann::json& diagnostics, std::optional<std::size_t> snapshot = std::nullopt);
std::string format_verdicts(const nlohmann::json& diagnostics);

}  // namespace actlab::diagnostics
