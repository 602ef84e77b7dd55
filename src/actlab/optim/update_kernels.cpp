#include "actlab/optim/update_kernels.h"

#include <algorithm>
#include <cmath>

namespace actlab::optim::kernels::ACTLAB_ISA {

template <class T>
void sgd(const SgdCoefficients<T>& c, std::int64_t n, T* p, const T* g, T* buffer) {
  if (buffer == nullptr) {
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) p[i] -= c.lr * (g[i] + c.weight_decay * p[i]);
    return;
  }
  const T lookahead = c.nesterov ? c.momentum : T(0);
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) {
    const T d = g[i] + c.weight_decay * p[i];
    buffer[i] = c.keep * buffer[i] + c.incoming * d;
    p[i] -= c.lr * (c.nesterov ? d + lookahead * buffer[i] : buffer[i]);
  }
}

template <class T>
void rmsprop(const RmspropCoefficients<T>& c, std::int64_t n, T* p, const T* g, T* square_avg, T* average,
             T* buffer) {
  for (std::int64_t i = 0; i < n; ++i) {
    const T d = g[i] + c.weight_decay * p[i];
    square_avg[i] = c.alpha * square_avg[i] + (1 - c.alpha) * d * d;
    T denom;
    if (average != nullptr) {
      average[i] += (1 - c.alpha) * (d - average[i]);
      denom = std::sqrt(square_avg[i] - average[i] * average[i]) + c.eps;
    } else {
      denom = std::sqrt(square_avg[i]) + c.eps;
    }
    if (buffer != nullptr) {
      buffer[i] = c.momentum * buffer[i] + d / denom;
      p[i] -= c.lr * buffer[i];
    } else {
      p[i] -= c.lr * d / denom;
    }
  }
}

template <class T>
void adagrad(const AdagradCoefficients<T>& c, std::int64_t n, T* p, const T* g, T* sum) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) {
    const T d = g[i] + c.weight_decay * p[i];
    sum[i] += d * d;
    p[i] -= c.lr * d / (std::sqrt(sum[i]) + c.eps);
  }
}

namespace {
// One vectorizable loop per variant, without a branch inside.
template <bool Amsgrad, class T>
void adam_sweep(const AdamCoefficients<T>& c, std::int64_t n, T* p, const T* g, T* m, T* v, T* v_max) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) {
    p[i] *= c.decay;
    const T d = g[i] + c.weight_decay * p[i];
    m[i] = c.beta1 * m[i] + (1 - c.beta1) * d;
    v[i] = c.beta2 * v[i] + (1 - c.beta2) * d * d;
    T second = v[i];
    if constexpr (Amsgrad) second = v_max[i] = std::max(v_max[i], v[i]);
    p[i] -= c.step_size * m[i] / (std::sqrt(second) / c.correction2_sqrt + c.eps);
  }
}
}  // namespace

template <class T>
void adam(const AdamCoefficients<T>& c, std::int64_t n, T* p, const T* g, T* m, T* v, T* v_max) {
  if (v_max != nullptr)
    adam_sweep<true>(c, n, p, g, m, v, v_max);
  else
    adam_sweep<false>(c, n, p, g, m, v, v_max);
}

#define ACTLAB_INSTANTIATE_OPTIM_KERNELS(T)                                                          \
  template void sgd<T>(const SgdCoefficients<T>&, std::int64_t, T*, const T*, T*);                   \
  template void rmsprop<T>(const RmspropCoefficients<T>&, std::int64_t, T*, const T*, T*, T*, T*);   \
  template void adagrad<T>(const AdagradCoefficients<T>&, std::int64_t, T*, const T*, T*);           \
  template void adam<T>(const AdamCoefficients<T>&, std::int64_t, T*, const T*, T*, T*, T*);
ACTLAB_INSTANTIATE_OPTIM_KERNELS(float)
ACTLAB_INSTANTIATE_OPTIM_KERNELS(double)
#undef ACTLAB_INSTANTIATE_OPTIM_KERNELS

}  // namespace actlab::optim::kernels::ACTLAB_ISA
