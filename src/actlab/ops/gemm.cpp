#include "actlab/ops/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <type_traits>

#include "actlab/core/cpu.h"
#include "actlab/core/parallel.h"

// OpenBLAS's run-time kernel choice (DYNAMIC_ARCH builds such as Debian's): weak, so that a build
// without it still links.
extern "C" void gotoblas_dynamic_init() __attribute__((weak));
extern "C" void gotoblas_dynamic_quit() __attribute__((weak));

namespace actlab::ops {
namespace {

// OpenBLAS falls back to its Prescott (SSE3) kernels on a CPU newer than itself: 0.3.21 does on
// Sapphire and Emerald Rapids, where sgemm then runs 5x slower (21 against 103 GFLOP/s at 512^3 on
// one thread). Then it is made to choose again, at load time (before any other thread runs), the
// kernels of the best level this CPU has. An OPENBLAS_CORETYPE the user set is left alone.
bool choose_blas_kernels() {
#if defined(__x86_64__)
  const bool switchable = gotoblas_dynamic_init != nullptr && gotoblas_dynamic_quit != nullptr;
  if (!switchable || std::getenv("OPENBLAS_CORETYPE") != nullptr ||
      std::string_view(openblas_get_corename()) != "Prescott" || best_isa() == Isa::baseline)
    return false;
  setenv("OPENBLAS_CORETYPE", best_isa() == Isa::avx512 ? "SkylakeX" : "Haswell", 1);
  gotoblas_dynamic_quit();
  gotoblas_dynamic_init();
  unsetenv("OPENBLAS_CORETYPE");
  return true;
#else
  return false;
#endif
}
[[maybe_unused]] const bool blas_kernels_chosen = choose_blas_kernels();

// Deterministic tiles: wide enough that each BLAS call still runs its packed kernels, small enough
// that a [128, 256] product (a Linear layer at batch 128) has tiles for two threads.
constexpr std::int64_t kTileRows = 256;
constexpr std::int64_t kTileCols = 128;

template <typename T>
void blas_gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
               std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  const auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  const auto bi = [](std::int64_t v) { return static_cast<blasint>(v); };
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, bi(m), bi(n), bi(k), alpha, a, bi(lda), b, bi(ldb), beta, c, bi(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, bi(m), bi(n), bi(k), alpha, a, bi(lda), b, bi(ldb), beta, c, bi(ldc));
}

}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if (!deterministic()) {
    blas_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const std::int64_t row_tiles = (m + kTileRows - 1) / kTileRows, col_tiles = (n + kTileCols - 1) / kTileCols;
  // Always inside a parallel region (or on one thread), where OpenBLAS runs each call on the
  // calling thread, even when there is a single tile.
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
  for (std::int64_t tile = 0; tile < row_tiles * col_tiles; ++tile) {
    const std::int64_t i = tile / col_tiles * kTileRows, j = tile % col_tiles * kTileCols;
    const T* a_rows = trans_a ? a + i : a + i * lda;
    const T* b_cols = trans_b ? b + j * ldb : b + j;
    blas_gemm(trans_a, trans_b, std::min(kTileRows, m - i), std::min(kTileCols, n - j), k, alpha, a_rows, lda, b_cols,
              ldb, beta, c + i * ldc + j, ldc);
  }
}

template void gemm<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t,
                          const float*, std::int64_t, float, float*, std::int64_t);
template void gemm<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*, std::int64_t,
                           const double*, std::int64_t, double, double*, std::int64_t);

}  // namespace actlab::ops
