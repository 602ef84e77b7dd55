// Threading: one OpenMP pool shared by actlab's kernels and OpenBLAS.
//
// Small tensors run on the calling thread: waking a team costs microseconds, more than adding a
// few thousand floats. Work is split into contiguous chunks whose boundaries depend only on the
// range and the thread count, so each chunk's arithmetic is the same on every run.
#pragma once

#include <omp.h>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <istream>
#include <string>

namespace actlab {

// Elements below which elementwise kernels stay on one thread.
inline constexpr std::int64_t kParallelGrain = 32768;

// Threads used by actlab kernels and by BLAS.
int num_threads();
// Sets the thread count for actlab kernels and BLAS together. Requires n >= 1.
void set_num_threads(int n);

// Deterministic mode: results bit-identical whatever the thread count. Matrix products then run
// in fixed tiles (ops/gemm.h); actlab's own kernels already split reductions independently of
// the thread count. Off by default: BLAS's own threading is faster.
bool deterministic();
void set_deterministic(bool enabled);

// The CPU's model name, for reports and benchmark tables, from /proc/cpuinfo: its "model name"
// (x86), else its ARM implementer and part ("ARM Neoverse-N1"; the hex codes where the part is
// not one actlab names), else "unknown".
std::string cpu_model();
// The same from a /proc/cpuinfo's text.
std::string cpu_model_from(std::istream& cpuinfo);

// Orders this thread's non-temporal stores (core/streaming.h) before its later stores, so that
// they are visible to any thread that sees those (the join of a parallel region, a later op).
inline void fence_streaming_stores() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

// Calls fn(begin, end) on disjoint chunks covering [begin, end), in parallel when the range
// holds more than `grain` items and we are not already inside a parallel region. Each chunk
// ends with fence_streaming_stores(), so fn may write with write_row's streaming stores.
template <typename Fn>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, Fn&& fn) {
  const std::int64_t n = end - begin;
  if (n <= 0) return;
  const int max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const std::int64_t chunks = std::min<std::int64_t>(max_threads, (n + grain - 1) / std::max<std::int64_t>(grain, 1));
  if (chunks <= 1) {
    fn(begin, end);
    fence_streaming_stores();
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(chunks))
  {
    const std::int64_t t = omp_get_thread_num();
    const std::int64_t team = omp_get_num_threads();
    const std::int64_t chunk_begin = begin + n * t / team;
    const std::int64_t chunk_end = begin + n * (t + 1) / team;
    if (chunk_begin < chunk_end) fn(chunk_begin, chunk_end);
    fence_streaming_stores();
  }
}

}  // namespace actlab
