// Gradient checking against central finite differences.
//
// gradcheck(f, inputs) compares the gradient that backward() computes for f with central
// differences (f(x + eps) - f(x - eps)) / 2 eps, for every element of every input that requires
// grad. It projects f's output on random directions v, so one backward per direction checks the
// whole vector-Jacobian product v^T J.
//
// Requires: float64 inputs (float32 differences are too coarse); f must be deterministic.
// Guarantees: reports the worst absolute and relative error and where it occurred.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actlab/core/tensor.h"

namespace actlab {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-4;
  int directions = 2;      // random projections of the output
  std::uint64_t seed = 1;  // for the projections
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  double max_rel_error = 0;
  // Where the worst error (relative to the tolerance) occurred.
  std::size_t input = 0;
  std::int64_t element = 0;
  double analytic = 0;
  double numeric = 0;
  std::string message;  // one line, for test output
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>& inputs)>;

// Throws Error when an input that requires grad is not float64.
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace actlab
