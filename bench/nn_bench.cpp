// Layer, optimizer and training-step benchmarks (float32), each the same workload as
// bench/peer/nn_peer.py. GEMM-shaped layers report FLOP/s against the sgemm limit; the rest report
// samples/s or bytes moved.
#include "actlab/actlab.h"
#include "bench_counters.h"

namespace {

using namespace actlab;
using actlab::bench::compare_with;
using actlab::bench::report_bytes;
using actlab::bench::report_flops;
using actlab::bench::report_items;

Tensor input(const Shape& shape, bool requires_grad = false) {
  Generator gen(0);
  Tensor t = randn(shape, gen);
  if (requires_grad) t.requires_grad_();
  return t;
}

// ---- layers: forward, and forward + backward ----

void linear(benchmark::State& state, bool backward) {
  nn::Linear layer(784, 256);
  const Tensor x = input({128, 784}, backward);
  for (auto _ : state) {
    const Tensor y = layer(x);
    if (backward) y.backward(ones_like(y));
    benchmark::DoNotOptimize(y.raw_data());
  }
  report_flops(state, (backward ? 3 : 1) * 2.0 * 128 * 784 * 256);
  compare_with(state, "limit/sgemm/512");
}
BENCHMARK_CAPTURE(linear, forward, false)->Name("linear_forward/128x784x256")->UseRealTime();
BENCHMARK_CAPTURE(linear, backward, true)->Name("linear_backward/128x784x256")->UseRealTime();

// A CIFAR-CNN layer: [32, 32, 32, 32] through 3x3 conv, 32 -> 32 channels, padding 1.
void conv(benchmark::State& state, bool backward) {
  nn::Conv2d layer(32, 32, 3, {.padding = {1, 1}});
  const Tensor x = input({32, 32, 32, 32}, backward);
  for (auto _ : state) {
    const Tensor y = layer(x);
    if (backward) y.backward(ones_like(y));
    benchmark::DoNotOptimize(y.raw_data());
  }
  report_flops(state, (backward ? 3 : 1) * 2.0 * 32 * 32 * 32 * 32 * 32 * 9);
  compare_with(state, "limit/sgemm/512");
}
BENCHMARK_CAPTURE(conv, forward, false)->Name("conv2d_forward/32x32x32x32_k3")->UseRealTime();
BENCHMARK_CAPTURE(conv, backward, true)->Name("conv2d_backward/32x32x32x32_k3")->UseRealTime();

template <typename Layer>
void memory_bound_layer(benchmark::State& state, Layer& layer, bool backward) {
  const Tensor x = input({64, 32, 32, 32}, backward);
  for (auto _ : state) {
    const Tensor y = layer(x);
    if (backward) y.backward(ones_like(y));
    benchmark::DoNotOptimize(y.raw_data());
  }
  const double bytes = static_cast<double>(x.numel()) * sizeof(float);
  report_bytes(state, backward ? 4 * bytes : 2 * bytes);
  compare_with(state, "limit/stream_copy");
}

void max_pool(benchmark::State& state, bool backward) {
  nn::MaxPool2d layer(2);
  memory_bound_layer(state, layer, backward);
}
BENCHMARK_CAPTURE(max_pool, forward, false)->Name("maxpool2d_forward/64x32x32x32")->UseRealTime();
BENCHMARK_CAPTURE(max_pool, backward, true)->Name("maxpool2d_backward/64x32x32x32")->UseRealTime();

void batch_norm(benchmark::State& state, bool backward) {
  nn::BatchNorm2d layer(32);
  memory_bound_layer(state, layer, backward);
}
BENCHMARK_CAPTURE(batch_norm, forward, false)->Name("batchnorm2d_forward/64x32x32x32")->UseRealTime();
BENCHMARK_CAPTURE(batch_norm, backward, true)->Name("batchnorm2d_backward/64x32x32x32")->UseRealTime();

// ---- optimizer step over the MLP's 269,322 parameters ----

void adam_step(benchmark::State& state) {
  auto net = nn::mlp(784, {256, 256}, 10);
  for (const auto& p : net->parameters()) p.set_grad(ones_like(p));
  optim::Adam adam(net->parameters(), {.lr = 1e-3});
  for (auto _ : state) adam.step();
  report_bytes(state, 7.0 * static_cast<double>(net->num_parameters()) * sizeof(float));  // p, g, m, v read; p, m, v written
  compare_with(state, "limit/stream_copy");
}
BENCHMARK(adam_step)->Name("adam_step/mlp_784_256_256_10")->UseRealTime();

// ---- full training steps: zero_grad, forward, cross-entropy, backward, Adam ----

void train_step(benchmark::State& state, const std::shared_ptr<nn::Module>& net, const Shape& shape) {
  const Tensor x = input(shape);
  Generator gen(1);
  const Tensor labels = randint(0, 10, {shape[0]}, gen);
  optim::Adam adam(net->parameters(), {.lr = 1e-3});
  for (auto _ : state) {
    adam.zero_grad();
    const Tensor loss = nn::cross_entropy((*net)(x), labels);
    loss.backward();
    adam.step();
  }
  report_items(state, static_cast<double>(shape[0]));
}
BENCHMARK_CAPTURE(train_step, mlp, nn::mlp(784, {256, 256}, 10), Shape{128, 784})
    ->Name("train_step/mlp_784_256_256_10/batch128")
    ->UseRealTime();
BENCHMARK_CAPTURE(train_step, lenet5, nn::lenet5(), Shape{64, 1, 28, 28})->Name("train_step/lenet5/batch64")->UseRealTime();
BENCHMARK_CAPTURE(train_step, cifar_cnn, nn::cifar_cnn(), Shape{32, 3, 32, 32})
    ->Name("train_step/cifar_cnn/batch32")
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
