// Gradients through time: what a sequence model's probe pass shows about how far back its
// gradient reaches, and the verdicts drawn from it (docs/DIAGNOSTICS.md, "Through time").
//
// measure_through_time() runs the probe batch one time step at a time through the model's
// recurrent stack, each step's states (h, and c for LSTM) handed to the next, with a zero tensor
// added to every step's hidden states so that its gradient is the total dL/dh_t (through the head
// and through every later step). It measures, with the model's parameters, their gradients, and
// its modes left as they were:
//   grad_norms[t]     ||dL/dh_t|| over all layers and the probe samples, t = 0..T-1
//   spectral_radius   per layer, of W_hh's candidate block (RNN: all of W_hh; LSTM g; GRU n),
//                     by power iteration: the geometric-mean growth of ||W^k v|| over
//                     kPowerIterations steps (Gelfand's formula, right for complex eigenvalues too)
//   gate_saturation   LSTM (input, forget, output) and GRU (reset, update): the fraction of the
//                     probe's gate values, over every step and layer, below kGateLow or above
//                     kGateHigh, where sigmoid's slope is under 5% of its peak
//   hidden_mean/std   per step, of the top layer's h_t over samples and units
//
// Verdicts (judge_through_time, on the last snapshot):
//   vanishing_through_time  grad_norms[0] < vanishing_ratio (1e-3) x grad_norms[T-1]: the horizon
//                     is the number of steps back from the last over which the gradient stays at or
//                     above that fraction
//   exploding_through_time  some grad_norms[t] > exploding_ratio (1e3) x grad_norms[T-1]
//   saturated_gates   a gate kind with more than saturated_fraction (0.5) of its values saturated
// each with remedies as commands (LSTM or GRU, orthogonal or identity init, clipping, a shorter
// horizon, a forget-gate bias).
//
// Errors: a probe pass under NoGradGuard throws Error.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/diagnostics/recorder.h"
#include "actlab/diagnostics/verdicts.h"
#include "actlab/nn/models.h"

namespace actlab::diagnostics {

inline constexpr int kPowerIterations = 100;
inline constexpr double kGateLow = 0.05, kGateHigh = 0.95;

struct ThroughTimeSnapshot {
  std::int64_t step = 0;  // optimizer steps before it
  std::vector<double> grad_norms;
  std::vector<double> spectral_radius;
  std::vector<std::pair<std::string, double>> gate_saturation;  // (gate, fraction)
  std::vector<double> hidden_mean, hidden_std;
};

ThroughTimeSnapshot measure_through_time(nn::SequenceModel& model, const data::Batch& probe, const ProbeLoss& loss,
                                         std::int64_t step);

// The spectral radius of a square matrix (see above). Throws Error for a non-square one.
double spectral_radius(const Tensor& matrix, int iterations = kPowerIterations);

// The horizon: how many steps back from the last ||dL/dh_t|| (`norms`, one per step) stays at or
// above `ratio` times the last step's. Requires non-empty norms.
std::int64_t gradient_horizon(const std::vector<double>& norms, double ratio);

struct ThroughTimeThresholds {
  double vanishing_ratio = 1e-3;
  double exploding_ratio = 1e3;
  double saturated_fraction = 0.5;
};

// `facts.settings` give the remedies their command lines (model, data, init, ... of the arm).
std::vector<Verdict> judge_through_time(const std::vector<ThroughTimeSnapshot>& snapshots, const RunFacts& facts,
                                        const ThroughTimeThresholds& thresholds = {});

// {"step", "grad_norms", "spectral_radius", "gate_saturation": {gate: fraction}, "hidden_mean",
//  "hidden_std"}; from_json throws Error on a malformed object.
nlohmann::json to_json(const ThroughTimeSnapshot& snapshot);
ThroughTimeSnapshot through_time_from_json(const nlohmann::json& json);

}  // namespace actlab::diagnostics
