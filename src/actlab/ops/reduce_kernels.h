// The sums over contiguous elements that reductions and the gradient norm run, compiled once per
// instruction-set level (core/cpu.h) and called through ACTLAB_ISA_DISPATCH(ops::kernels, ...).
// Elements are summed in blocks of kSumBlock: within a block in T, into kPartialBytes of
// independent partial sums (so that consecutive adds overlap instead of waiting on one register),
// the block sums in double, added to `total`. add_sum is instantiated for float, double and int64,
// add_sum_of_squares for float and double.
#pragma once

#include <cstdint>

#include "actlab/core/cpu.h"

namespace actlab::ops::kernels {

inline constexpr std::int64_t kSumBlock = 4096;
// 8 AVX2 registers (4 AVX-512 ones) of partial sums: enough to hide the add's latency.
inline constexpr std::int64_t kPartialBytes = 256;

#define ACTLAB_DECLARE_REDUCE_KERNELS(level)                          \
  namespace level {                                                   \
  template <class T>                                                  \
  void add_sum(std::int64_t n, const T* x, double& total);            \
  template <class T>                                                  \
  void add_sum_of_squares(std::int64_t n, const T* x, double& total); \
  }
ACTLAB_DECLARE_REDUCE_KERNELS(avx512)
ACTLAB_DECLARE_REDUCE_KERNELS(avx2)
ACTLAB_DECLARE_REDUCE_KERNELS(baseline)
#undef ACTLAB_DECLARE_REDUCE_KERNELS

}  // namespace actlab::ops::kernels
