// What every benchmark family (bench/*_bench.cpp) shares: the main function, the --threads flag
// and the counters bench/run.py reads.
//
// A family is a Google Benchmark executable. Each benchmark reports its work per iteration with
// report_bytes (shown as bytes_per_second, i.e. GB/s), report_flops (flops, i.e. GFLOP/s) or
// report_items (items_per_second, e.g. samples/s), and may name with compare_with the machine
// limit its throughput is judged against (a limit/... benchmark of the same unit in core_bench).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "actlab/core/parallel.h"

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

// Runs the registered benchmarks. Accepts Google Benchmark's flags plus --threads=N, which sets
// the thread count of actlab's kernels and BLAS (default: the OpenMP default, every core).
inline int run_benchmarks(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0)
      set_num_threads(std::atoi(argv[i] + 10));
    else
      args.push_back(argv[i]);
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::AddCustomContext("threads", std::to_string(num_threads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace actlab::bench
