// The optimizers' per-element update loops, compiled once per instruction-set level (core/cpu.h)
// and called through ACTLAB_ISA_DISPATCH(optim::kernels, ...). Each loop updates elements [0, n) of its arrays in place; the coefficients are computed
// once per step by the optimizer. Instantiated for float and double.
#pragma once

#include <cstdint>

#include "actlab/core/cpu.h"

namespace actlab::optim::kernels {

template <class T>
struct SgdCoefficients {
  T lr, weight_decay;
  T keep, incoming;  // momentum_buffer = keep * buffer + incoming * d
  T momentum;
  bool nesterov;
};

template <class T>
struct RmspropCoefficients {
  T lr, weight_decay, alpha, eps, momentum;
};

template <class T>
struct AdagradCoefficients {
  T lr, weight_decay, eps;
};

template <class T>
struct AdamCoefficients {
  T step_size, correction2_sqrt, beta1, beta2, eps;
  T decay;         // p *= decay first (AdamW's decoupled weight decay; 1 for Adam)
  T weight_decay;  // added to the gradient (Adam's; 0 for AdamW)
};

// buffer, average, v_max may be null: that variant (no momentum, not centered, no AMSGrad) runs.
#define ACTLAB_DECLARE_OPTIM_KERNELS(level)                                                                  \
  namespace level {                                                                                          \
  template <class T>                                                                                         \
  void sgd(const SgdCoefficients<T>& c, std::int64_t n, T* p, const T* g, T* buffer);                        \
  template <class T>                                                                                         \
  void rmsprop(const RmspropCoefficients<T>& c, std::int64_t n, T* p, const T* g, T* square_avg, T* average, \
               T* buffer);                                                                                   \
  template <class T>                                                                                         \
  void adagrad(const AdagradCoefficients<T>& c, std::int64_t n, T* p, const T* g, T* sum);                   \
  template <class T>                                                                                         \
  void adam(const AdamCoefficients<T>& c, std::int64_t n, T* p, const T* g, T* m, T* v, T* v_max);           \
  }
ACTLAB_DECLARE_OPTIM_KERNELS(avx512)
ACTLAB_DECLARE_OPTIM_KERNELS(avx2)
ACTLAB_DECLARE_OPTIM_KERNELS(baseline)
#undef ACTLAB_DECLARE_OPTIM_KERNELS

}  // namespace actlab::optim::kernels
