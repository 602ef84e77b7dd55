// Core-engine benchmarks: the GEMM path, elementwise add, sum and per-op overhead, each beside the
// machine limit it is judged against (raw OpenBLAS sgemm, memcpy, STREAM-like copy and triad).
//
// Large operands hold 16M floats (64 MiB), twice the L3 cache, so they measure memory bandwidth.
// Bytes count what an op must read plus write (STREAM's convention).
#include <cblas.h>

#include <cstring>
#include <string>

#include "actlab/actlab.h"
#include "bench_counters.h"

namespace {

using actlab::Tensor;
using actlab::bench::compare_with;
using actlab::bench::report_bytes;
using actlab::bench::report_flops;

constexpr std::int64_t kLarge = 16 << 20;
constexpr double kLargeBytes = kLarge * sizeof(float);

double gemm_flops(std::int64_t n) { return 2.0 * static_cast<double>(n * n * n); }

// ---- machine limits ----

void raw_sgemm(benchmark::State& state) {
  const auto n = static_cast<blasint>(state.range(0));
  const Tensor a = actlab::randn({n, n}), b = actlab::randn({n, n}), c = actlab::empty({n, n});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data<float>(), n, b.data<float>(), n,
                0.0f, c.data<float>(), n);
    benchmark::ClobberMemory();
  }
  report_flops(state, gemm_flops(n));
}
BENCHMARK(raw_sgemm)->Name("limit/sgemm")->Arg(256)->Arg(512)->Arg(1024)->UseRealTime();

// The three products of a Linear(1000, 1000) training step at batch 128, as raw OpenBLAS calls:
// y = x w^T, grad_x = grad_y w, grad_w = grad_y^T x. The GEMM limit of the deep MLP's training.
void raw_linear_training_sgemm(benchmark::State& state) {
  constexpr blasint kBatch = 128, kWidth = 1000;
  const Tensor x = actlab::randn({kBatch, kWidth}), w = actlab::randn({kWidth, kWidth});
  const Tensor y = actlab::empty({kBatch, kWidth}), grad_x = actlab::empty({kBatch, kWidth});
  const Tensor grad_w = actlab::empty({kWidth, kWidth});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kBatch, kWidth, kWidth, 1.0f, x.data<float>(), kWidth,
                w.data<float>(), kWidth, 0.0f, y.data<float>(), kWidth);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kBatch, kWidth, kWidth, 1.0f, y.data<float>(), kWidth,
                w.data<float>(), kWidth, 0.0f, grad_x.data<float>(), kWidth);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kWidth, kWidth, kBatch, 1.0f, y.data<float>(), kWidth,
                x.data<float>(), kWidth, 0.0f, grad_w.data<float>(), kWidth);
    benchmark::ClobberMemory();
  }
  report_flops(state, 3 * 2.0 * kBatch * kWidth * kWidth);
}
BENCHMARK(raw_linear_training_sgemm)->Name("limit/sgemm/linear_train_128x1000x1000")->UseRealTime();

// glibc's memcpy on one thread (non-temporal stores beyond a size glibc derives from the L3).
void raw_memcpy(benchmark::State& state) {
  const Tensor src = actlab::ones({kLarge}), dst = actlab::zeros({kLarge});
  for (auto _ : state) {
    std::memcpy(dst.data<float>(), src.data<float>(), kLargeBytes);
    benchmark::ClobberMemory();
  }
  report_bytes(state, 2 * kLargeBytes);
}
BENCHMARK(raw_memcpy)->Name("limit/memcpy")->UseRealTime();

// STREAM's copy c = a, split over the OpenMP threads.
void stream_copy(benchmark::State& state) {
  const Tensor a = actlab::ones({kLarge}), c = actlab::zeros({kLarge});
  const float* x = a.data<float>();
  float* y = c.data<float>();
  for (auto _ : state) {
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < kLarge; ++i) y[i] = x[i];
    benchmark::ClobberMemory();
  }
  report_bytes(state, 2 * kLargeBytes);
}
BENCHMARK(stream_copy)->Name("limit/stream_copy")->UseRealTime();

// STREAM's triad a = b + s * c, split over the OpenMP threads: the pattern of a binary op.
void stream_triad(benchmark::State& state) {
  const Tensor a = actlab::zeros({kLarge}), b = actlab::ones({kLarge}), c = actlab::ones({kLarge});
  float* x = a.data<float>();
  const float* y = b.data<float>();
  const float* z = c.data<float>();
  for (auto _ : state) {
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < kLarge; ++i) x[i] = y[i] + 3.0f * z[i];
    benchmark::ClobberMemory();
  }
  report_bytes(state, 3 * kLargeBytes);
}
BENCHMARK(stream_triad)->Name("limit/stream_triad")->UseRealTime();

// ---- actlab ----

void matmul(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const Tensor a = actlab::randn({n, n}), b = actlab::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(a.matmul(b));
  report_flops(state, gemm_flops(n));
  compare_with(state, "limit/sgemm/" + std::to_string(n));
}
BENCHMARK(matmul)->Name("matmul")->Arg(256)->Arg(512)->Arg(1024)->UseRealTime();

// The same products in deterministic mode (fixed tiles, each a single-threaded BLAS call): what
// bit-identical results on any thread count cost against the plain path above.
void matmul_deterministic(benchmark::State& state) {
  actlab::set_deterministic(true);
  matmul(state);
  actlab::set_deterministic(false);
}
BENCHMARK(matmul_deterministic)->Name("matmul_deterministic")->Arg(256)->Arg(1024)->UseRealTime();

// A^T B and A B^T, the products in matmul's backward: transposed views go to BLAS uncopied.
void matmul_at_b(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const Tensor a = actlab::randn({n, n}), b = actlab::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(a.t().matmul(b));
  report_flops(state, gemm_flops(n));
  compare_with(state, "limit/sgemm/" + std::to_string(n));
}
BENCHMARK(matmul_at_b)->Name("matmul_at_b")->Arg(512)->UseRealTime();

void matmul_a_bt(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const Tensor a = actlab::randn({n, n}), b = actlab::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(a.matmul(b.t()));
  report_flops(state, gemm_flops(n));
  compare_with(state, "limit/sgemm/" + std::to_string(n));
}
BENCHMARK(matmul_a_bt)->Name("matmul_a_bt")->Arg(512)->UseRealTime();

// Out of place, as users write it: the result is a new tensor every iteration.
void add_large(benchmark::State& state) {
  const Tensor a = actlab::randn({kLarge}), b = actlab::randn({kLarge});
  for (auto _ : state) benchmark::DoNotOptimize(a + b);
  report_bytes(state, 3 * kLargeBytes);
  compare_with(state, "limit/memcpy");
}
BENCHMARK(add_large)->Name("add/16M")->UseRealTime();

void sum_large(benchmark::State& state) {
  const Tensor a = actlab::randn({kLarge});
  for (auto _ : state) benchmark::DoNotOptimize(a.sum());
  report_bytes(state, kLargeBytes);
  compare_with(state, "limit/stream_copy");
}
BENCHMARK(sum_large)->Name("sum/16M")->UseRealTime();

// 100 floats: the time is the per-op overhead (allocation, dispatch, autograd bookkeeping).
void add_small(benchmark::State& state) {
  const Tensor a = actlab::randn({100}), b = actlab::randn({100});
  for (auto _ : state) benchmark::DoNotOptimize(a + b);
}
BENCHMARK(add_small)->Name("add/100")->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
