// The counters bench/run.py reads from a benchmark family (bench/*_bench.cpp).
//
// A family is a Google Benchmark executable; its thread count is OpenMP's (OMP_NUM_THREADS, else
// every core), shared by actlab's kernels and OpenBLAS. Each benchmark reports its work per
// iteration with report_bytes (shown as bytes_per_second, i.e. GB/s), report_flops (flops, i.e.
// GFLOP/s) or report_items (items_per_second, e.g. samples/s), and may name with compare_with the
// machine limit its throughput is judged against (a limit/... benchmark of the same unit in
// core_bench).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

namespace actlab::bench {

inline void report_bytes(benchmark::State& state, double bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes_per_iteration) * state.iterations());
}

inline void report_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["flops"] = benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

inline void report_items(benchmark::State& state, double items_per_iteration) {
  state.SetItemsProcessed(static_cast<std::int64_t>(items_per_iteration) * state.iterations());
}

// `limit` is the name of the limit/... benchmark (e.g. "limit/stream_copy") this one is judged against.
inline void compare_with(benchmark::State& state, const std::string& limit) { state.SetLabel("limit=" + limit); }

}  // namespace actlab::bench
