// Every registered activation, forward and forward+backward, on 16M float32 elements, beside a
// plain memory copy of the same tensor. bytes_per_second counts the traffic the op must make:
// forward reads x and writes y; backward reads x and grad_out and writes grad_in.
// bench/activations.sh runs this beside PyTorch (bench/peer/activations_peer.py).
#include <benchmark/benchmark.h>

#include <cstring>

#include "actlab/activations/activation.h"
#include "actlab/core/parallel.h"

namespace {

using namespace actlab;

// [256, 256, 256]: channels along dim 1 for prelu, rows of 256 for softmax.
const Shape kShape{256, 256, 256};
const std::int64_t kElements = 256 * 256 * 256;
const std::int64_t kBytes = kElements * static_cast<std::int64_t>(sizeof(float));

// The spec each activation is measured with (learnable ones get one parameter set per channel
// where that is their common use).
std::string bench_spec(const std::string& name) {
  if (name == "prelu") return "prelu:channels=256";
  return name;
}

void copy(benchmark::State& state) {
  const Tensor x = randn(kShape);
  Tensor y = empty(kShape);
  const auto* src = static_cast<const std::byte*>(x.raw_data());
  auto* dst = static_cast<std::byte*>(y.raw_data());
  for (auto _ : state) {
    parallel_for(0, kBytes, kParallelGrain * 4, [&](std::int64_t begin, std::int64_t end) {
      std::memcpy(dst + begin, src + begin, static_cast<std::size_t>(end - begin));
    });
    benchmark::DoNotOptimize(dst);
  }
  state.SetBytesProcessed(state.iterations() * 2 * kBytes);
}

void forward(benchmark::State& state, const std::string& spec) {
  auto act = make_activation(spec);
  const Tensor x = randn(kShape);
  for (auto _ : state) benchmark::DoNotOptimize(act->forward(x));
  state.SetBytesProcessed(state.iterations() * 2 * kBytes);
}

void forward_backward(benchmark::State& state, const std::string& spec) {
  auto act = make_activation(spec);
  Tensor x = randn(kShape).requires_grad_();
  const Tensor g = randn(kShape);
  for (auto _ : state) {
    x.set_grad(Tensor());
    for (auto& [name, p] : act->named_parameters()) p.set_grad(Tensor());
    act->forward(x).backward(g);
    benchmark::DoNotOptimize(x.grad());
  }
  state.SetBytesProcessed(state.iterations() * 5 * kBytes);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RegisterBenchmark("copy", copy)->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const ActivationInfo* info : registered_activations()) {
    const std::string spec = bench_spec(info->name);
    benchmark::RegisterBenchmark(("forward/" + info->name).c_str(), forward, spec)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("forward_backward/" + info->name).c_str(), forward_backward, spec)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
