// C = alpha * op(A) op(B) + beta * C for row-major float/double matrices, through BLAS: the one
// place actlab calls GEMM (matmul, Linear, Conv2d).
//
// By default BLAS splits each product over the threads as it sees fit, so the summation order,
// and the last bits of C, can change with the thread count. In deterministic mode (see
// core/parallel.h) C is computed in fixed tiles, each by a single-threaded BLAS call, and the
// tiles are spread over the threads: every element is then summed the same way whatever the
// thread count.
#pragma once

#include <cstdint>

namespace actlab::ops {

template <typename T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

extern template void gemm<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*,
                                 std::int64_t, const float*, std::int64_t, float, float*, std::int64_t);
extern template void gemm<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*,
                                  std::int64_t, const double*, std::int64_t, double, double*, std::int64_t);

}  // namespace actlab::ops
