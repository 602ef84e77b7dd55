// Every registered activation, forward and forward+backward, on 16M float32 elements, judged
// against STREAM's copy (limit/stream_copy). bytes_per_second counts the traffic the op must make:
// forward reads x and writes y; backward reads x and grad_out and writes grad_in.
// bench/run.py runs this family ("activations") beside PyTorch (bench/peer/activations_peer.py).
#include "actlab/activations/activation.h"
#include "bench_counters.h"

namespace {

using namespace actlab;
using actlab::bench::compare_with;
using actlab::bench::report_bytes;

// [256, 256, 256]: channels along dim 1 for prelu, rows of 256 for softmax.
const Shape kShape{256, 256, 256};
const double kBytes = 256.0 * 256 * 256 * sizeof(float);

// The spec each activation is measured with (learnable ones get one parameter set per channel
// where that is their common use).
std::string bench_spec(const std::string& name) {
  if (name == "prelu") return "prelu:channels=256";
  return name;
}

void forward(benchmark::State& state, const std::string& spec) {
  auto act = make_activation(spec);
  const Tensor x = randn(kShape);
  for (auto _ : state) benchmark::DoNotOptimize(act->forward(x));
  report_bytes(state, 2 * kBytes);
  compare_with(state, "limit/stream_copy");
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
  report_bytes(state, 5 * kBytes);
  compare_with(state, "limit/stream_copy");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
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
