#include "actlab/optim/clip.h"

#include <cmath>

#include "actlab/autograd/grad_mode.h"
#include "actlab/ops/reduce_kernels.h"

namespace actlab::optim {

double grad_norm(const std::vector<Tensor>& params) {
  double squared = 0;
  for (const auto& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    const Tensor c = g.contiguous();
    dispatch_floating(c.dtype(), "grad_norm", [&]<typename T>() {
      ACTLAB_ISA_DISPATCH(ops::kernels, add_sum_of_squares<T>(c.numel(), c.data<T>(), squared));
    });
  }
  return std::sqrt(squared);
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm) {
  return clip_grad_norm_(params, max_norm, grad_norm(params));
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm) {
  ACTLAB_CHECK(max_norm > 0, "clip_grad_norm_: max_norm must be > 0, got {}", max_norm);
  NoGradGuard no_grad;
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
