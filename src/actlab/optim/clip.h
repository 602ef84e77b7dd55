// Gradient clipping, applied in place to the gradients of `params` (those without one are
// skipped).
#pragma once

#include <vector>

#include "actlab/core/tensor.h"

namespace actlab::optim {

// The global L2 norm of all gradients (accumulated in double, in a fixed order, so it does not
// depend on the thread count); 0 when no parameter has a gradient.
double grad_norm(const std::vector<Tensor>& params);

// Scales all gradients by max_norm / (norm + 1e-6) when their global L2 norm exceeds max_norm.
// Returns the norm before clipping (a useful diagnostic: log it). Requires max_norm > 0.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm);
// The same with the norm already measured by grad_norm(params).
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm);

// Clamps every gradient element to [-clip_value, clip_value]. Requires clip_value > 0.
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace actlab::optim
