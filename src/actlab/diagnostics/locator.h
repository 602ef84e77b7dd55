// Locator: the NaN/Inf locator (anomaly mode) for a training step.
//
// forward() runs the model and checks the output of every leaf layer; backward() runs
// loss.backward() with autograd's anomaly detection, which checks every gradient an op produces.
// At the first NaN or infinity either throws AnomalyError saying where it appeared: the step,
// the phase, the layer (its dotted name in the model; "(loss)" for the loss itself), the op that
// produced it, and statistics of what went into that op. Calling the model directly skips the
// checks, so evaluation and probes run unchecked.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actlab/core/error.h"
#include "actlab/nn/module.h"

namespace actlab::diagnostics {

// Over the finite elements; count and non_finite over all of them.
struct TensorStats {
  std::int64_t count = 0, non_finite = 0;
  double min = 0, max = 0, mean = 0, std = 0;
};
TensorStats tensor_stats(const Tensor& t);

struct Anomaly {
  std::int64_t step = 0;
  std::string phase;       // "forward" or "backward"
  std::string layer;       // dotted name in the model, or "(loss)"
  std::string layer_type;  // "Linear", "Activation", ...
  std::string op;          // the autograd op that produced the value
  std::vector<std::pair<std::string, TensorStats>> inputs;  // e.g. {"input", ...}, {"incoming gradient", ...}
  // One paragraph for people: where, what, and the statistics.
  std::string describe() const;
};

class AnomalyError : public Error {
 public:
  explicit AnomalyError(Anomaly anomaly) : Error(anomaly.describe()), anomaly(std::move(anomaly)) {}
  Anomaly anomaly;
};

class Locator {
 public:
  explicit Locator(std::shared_ptr<nn::Module> model);
  ~Locator();
  Locator(const Locator&) = delete;
  Locator& operator=(const Locator&) = delete;

  // model(input) for training step `step`; throws AnomalyError at the first non-finite layer output.
  Tensor forward(std::int64_t step, const Tensor& input);
  // loss.backward(); throws AnomalyError at the first non-finite gradient.
  void backward(std::int64_t step, const Tensor& loss);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace actlab::diagnostics
