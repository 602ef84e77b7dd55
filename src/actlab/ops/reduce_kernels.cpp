#include "actlab/ops/reduce_kernels.h"

#include <algorithm>

#include "actlab/core/streaming.h"

namespace actlab::ops::kernels::ACTLAB_ISA {
namespace {

template <class T, class Term>
void add_blocked_sum(std::int64_t n, const T* x, Term term, double& total) {
  constexpr std::int64_t kWays = kPartialBytes / static_cast<std::int64_t>(sizeof(T));
  for (std::int64_t start = 0; start < n; start += kSumBlock) {
    const std::int64_t end = std::min(n, start + kSumBlock);
    T partial[kWays] = {};
    std::int64_t i = start;
    for (; i + kWays <= end; i += kWays) {
      prefetch_ahead(x, i, kPartialBytes);
      for (std::int64_t j = 0; j < kWays; ++j) partial[j] += term(x[i + j]);
    }
    T block = 0;
    for (; i < end; ++i) block += term(x[i]);
    for (std::int64_t j = 0; j < kWays; ++j) block += partial[j];
    total += static_cast<double>(block);
  }
}

}  // namespace

template <class T>
void add_sum(std::int64_t n, const T* x, double& total) {
  add_blocked_sum(n, x, [](T v) { return v; }, total);
}

template <class T>
void add_sum_of_squares(std::int64_t n, const T* x, double& total) {
  add_blocked_sum(n, x, [](T v) { return v * v; }, total);
}

template void add_sum<float>(std::int64_t, const float*, double&);
template void add_sum<double>(std::int64_t, const double*, double&);
template void add_sum<std::int64_t>(std::int64_t, const std::int64_t*, double&);
template void add_sum_of_squares<float>(std::int64_t, const float*, double&);
template void add_sum_of_squares<double>(std::int64_t, const double*, double&);

}  // namespace actlab::ops::kernels::ACTLAB_ISA
