#include "actlab/optim/clip.h"

#include <cmath>

#include "actlab/autograd/grad_mode.h"

namespace actlab::optim {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm) {
  ACTLAB_CHECK(max_norm > 0, "clip_grad_norm_: max_norm must be > 0, got {}", max_norm);
  NoGradGuard no_grad;
  double squared = 0;
  for (const auto& p : params)
    if (const Tensor g = p.grad(); g.defined()) squared += g.to(kFloat64).square().sum().item();
  const double norm = std::sqrt(squared);
  const double coefficient = max_norm / (norm + 1e-6);
  if (coefficient < 1)
    for (const auto& p : params)
      if (Tensor g = p.grad(); g.defined()) g.mul_(coefficient);
  return norm;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  ACTLAB_CHECK(clip_value > 0, "clip_grad_value_: clip_value must be > 0, got {}", clip_value);
  NoGradGuard no_grad;
  for (const auto& p : params)
    if (Tensor g = p.grad(); g.defined()) g.clamp_(-clip_value, clip_value);
}

}  // namespace actlab::optim
