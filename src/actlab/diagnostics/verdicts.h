// Verdicts on recorded snapshots, and the diagnostics' JSON form (summary.json "diagnostics").
//
// Each check runs on every snapshot; a verdict names the first snapshot where it fired and says
// whether it still holds at the last one:
//   vanishing  gradient norm at the first weighted layer's output / at the last one < vanishing_ratio
//   exploding  that ratio > exploding_ratio, a layer's gradient norm grown by more than
//              exploding_ratio since initialization, or a non-finite value (the anomaly)
//   dead       some activation layer has more than dead_fraction of its units dead
//   saturated  some activation layer has more than saturated_fraction of its values saturated
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
  double dead_fraction = 0.2;
  double saturated_fraction = 0.5;
};

struct Verdict {
  std::string kind;      // "vanishing", "exploding", "dead", "saturated"
  std::int64_t step = 0; // first snapshot where it fired
  std::string evidence;  // numbers and layer names
  std::vector<std::string> remedies;
};

std::vector<Verdict> judge(const std::vector<LayerInfo>& layers, const std::vector<Snapshot>& snapshots,
                           const Thresholds& thresholds, const std::optional<Anomaly>& anomaly = std::nullopt);

// {"probe_samples", "thresholds", "histogram": {"bins", "range"},
//  "layers": [{"name", "type", "weighted", "activation"}],
//  "snapshots": [{"step", "layers": [{"mean", "std", "p5", "p50", "p95", "histogram",
//      "negative_input_fraction", "dead_fraction", "saturated_fraction", "grad_norm", "grad_std",
//      "weight_grad_norm", "weight_grad_std", "update_ratio"}]}],      (null where not measured)
//  "verdicts": [{"kind", "step", "evidence", "remedies"}], "anomaly": {...} or absent}
nlohmann::json to_json(const Recorder& recorder, const Thresholds& thresholds,
                       const std::optional<Anomaly>& anomaly = std::nullopt);

// The "anomaly" object: {"step", "phase", "layer", "layer_type", "op", "inputs", "message"}.
nlohmann::json to_json(const Anomaly& anomaly);

// From that JSON: a per-layer table of a snapshot (default the last), and the verdicts as lines.
std::string format_table(const nlohmann::json& diagnostics, std::optional<std::size_t> snapshot = std::nullopt);
std::string format_verdicts(const nlohmann::json& diagnostics);

}  // namespace actlab::diagnostics
