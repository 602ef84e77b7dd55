// Recorder: per-layer statistics of a model on a fixed probe batch, through module hooks.
//
// The recorded layers are the model's leaf modules that hold parameters or are activations, in
// forward order, under their dotted names ("3" or "layers.3"). record(step) runs one separate
// forward and backward pass of the probe batch (its loss: cross-entropy on its labels unless the
// recorder is given the task's) and appends a
// Snapshot; it leaves the model as it found it: parameters, their gradients, buffers (BatchNorm
// running statistics), modes and random generators (dropout and RReLU run in eval mode during the
// probe; BatchNorm in training mode, with its running statistics restored afterwards).
//
// Per layer and snapshot:
//   forward   mean, std, min, max, percentiles 5/50/95 and a histogram (kHistogramBins equal bins
//             over [-kHistogramRange, kHistogramRange]; values outside land in the end bins) of the
//             layer's output on the probe batch;
//             for activations: the fraction of negative inputs, of dead units (zero output for
//             every probe sample) and, for activations that flatten out in both tails (sigmoid,
//             tanh, hardtanh, ...), of saturated values: |f'(x)| < 1% of max |f'|, f' by autograd;
//   backward  L2 norm, mean, std, min, max and a histogram (kHistogramBins equal bins over
//             [min, max]) of the loss gradient reaching the layer's output and, for layers
//             with a weight, of the weight gradient; the update-to-weight ratio ||dw|| / ||w||
//             of the optimizer step announced by before_update().
// A layer called several times in the probe pass (a cell at every time step) is recorded per call
// (call k's activations with call k's gradient): the statistics cover all calls together, with
// each call's units counted apart for dead units, and LayerStats::calls holds each call's own.
//
// Errors: a probe batch without samples or whose labels do not match, and record() under
// NoGradGuard, throw Error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/data/dataset.h"
#include "actlab/data/loader.h"
#include "actlab/nn/module.h"

namespace actlab::diagnostics {

inline constexpr int kHistogramBins = 40;
inline constexpr double kHistogramRange = 5.0;
inline constexpr std::int64_t kProbeSamples = 256;

struct LayerStats {
  double mean = 0, std = 0, min = 0, max = 0, p5 = 0, p50 = 0, p95 = 0;  // min, max: of the finite values
  std::vector<std::int64_t> histogram;
  std::optional<double> negative_input_fraction, dead_fraction, saturated_fraction;  // activations
  double grad_norm = 0, grad_mean = 0, grad_std = 0;  // gradient reaching the output
  double grad_min = 0, grad_max = 0;                   // of its finite values
  std::vector<std::int64_t> grad_histogram;            // over [grad_min, grad_max]
  std::optional<double> weight_grad_norm, weight_grad_std, update_ratio;
  // For a layer called several times in the probe pass (a cell at every time step): the statistics
  // above cover all calls together, and these are those of each call, in call order, without the
  // weight ones (the weight gradient sums over calls). Empty for a layer called once.
  std::vector<LayerStats> calls;
};

struct Snapshot {
  std::int64_t step = 0;  // optimizer steps taken before it (0: at initialization)
  double loss = 0;        // the loss of the probe batch
  std::vector<LayerStats> layers;  // in the order of Recorder::layers()
};

struct LayerInfo {
  std::string name;  // dotted name in the model
  std::string type;  // "Linear", "Activation(tanh)", ...
  bool weighted = false;    // has a weight matrix or kernel (Linear, Conv2d)
  bool activation = false;
};

// The probe pass's loss from the model's output and the probe batch; empty: cross-entropy.
using ProbeLoss = std::function<Tensor(const Tensor& output, const data::Batch& probe)>;

class Recorder {
 public:
  Recorder(std::shared_ptr<nn::Module> model, data::Batch probe, ProbeLoss loss = {});
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  const std::vector<LayerInfo>& layers() const;
  // Call right before optimizer.step(): the next record() reports the ratio of that update.
  void before_update();
  // Runs the probe batch and appends the snapshot of `step`.
  const Snapshot& record(std::int64_t step);
  const std::vector<Snapshot>& snapshots() const;
  // Replaces the history (a resumed run continues the saved one's snapshots).
  void restore(std::vector<Snapshot> snapshots);
  std::int64_t probe_samples() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A snapshot's JSON form (summary.json "diagnostics.snapshots", see verdicts.h); NaN and
// unmeasured values are null. snapshot_from_json() throws Error on a malformed object.
nlohmann::json to_json(const Snapshot& snapshot);
Snapshot snapshot_from_json(const nlohmann::json& json);

// The first min(samples, dataset size) samples of `dataset`, normalized as the loader does.
data::Batch probe_batch(const data::Dataset& dataset, const data::Normalization& normalization,
                        std::int64_t samples = kProbeSamples);

}  // namespace actlab::diagnostics
