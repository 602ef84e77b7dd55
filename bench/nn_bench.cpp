// Layer, optimizer and model benchmarks (float32), each the same workload as bench/peer/nn_peer.py.
// GEMM-shaped layers report FLOP/s against an sgemm limit, memory-bound ones bytes moved, models
// samples/s (training: Adam(1e-3) on cross-entropy over shuffled mini-batches of data in memory).
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

// ---- models of the benchmark issue (W1-W5), trained on data already in memory ----

// n samples of random data and labels, handed out in shuffled mini-batches. Epoch e visits, at
// position i, sample (7919 i + 1009 e) mod n: a permutation (7919 is a prime not dividing n) that
// the PyTorch peer computes too, so both sides gather the same rows in the same order.
class InMemoryData {
 public:
  InMemoryData(const Shape& sample_shape, std::int64_t n, std::int64_t batch_size) : n_(n), batch_size_(batch_size) {
    Shape shape{n};
    shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
    Generator gen(1);
    images_ = randn(shape, gen);
    labels_ = randint(0, 10, {n}, gen);
  }

  std::int64_t batches_per_epoch() const { return (n_ + batch_size_ - 1) / batch_size_; }

  std::pair<Tensor, Tensor> next() {
    const std::int64_t epoch = step_ / batches_per_epoch(), batch = step_ % batches_per_epoch();
    ++step_;
    if (batch == 0) {
      std::vector<std::int64_t> order(static_cast<std::size_t>(n_));
      for (std::int64_t i = 0; i < n_; ++i) order[static_cast<std::size_t>(i)] = (7919 * i + 1009 * epoch) % n_;
      order_ = from_vector(order);
    }
    const std::int64_t start = batch * batch_size_;
    const Tensor index = order_.narrow(0, start, std::min(batch_size_, n_ - start));
    return {images_.index_select(0, index), labels_.index_select(0, index)};
  }

 private:
  std::int64_t n_, batch_size_, step_ = 0;
  Tensor images_, labels_, order_;
};

// train::train_step (zero_grad, forward, cross-entropy, backward, gradient norm, Adam(1e-3)), as
// actlab compare takes it: `steps` mini-batches per iteration.
void train(benchmark::State& state, nn::Module& model, InMemoryData& data, std::int64_t steps) {
  optim::Adam adam(model.parameters(), {.lr = 1e-3});
  const train::Classification task;
  std::int64_t samples = 0;
  for (auto _ : state) {
    for (std::int64_t step = 0; step < steps; ++step) {
      const auto [images, labels] = data.next();
      samples += train::train_step(model, {images, labels}, task, adam).samples;
    }
  }
  report_items(state, static_cast<double>(samples) / static_cast<double>(state.iterations()));
}

// One epoch over 60,000 samples per iteration.
void train_epoch(benchmark::State& state, const std::shared_ptr<nn::Module>& model, const Shape& sample_shape) {
  InMemoryData data(sample_shape, 60000, 128);
  train(state, *model, data, data.batches_per_epoch());
}

// One step per iteration, over `n` samples in memory.
void train_step(benchmark::State& state, const std::shared_ptr<nn::Module>& model, const Shape& sample_shape,
                std::int64_t n, std::int64_t batch_size) {
  InMemoryData data(sample_shape, n, batch_size);
  train(state, *model, data, 1);
}

// Eval mode, no autograd, one batch of 1000.
void inference(benchmark::State& state, const std::shared_ptr<nn::Module>& model, const Shape& sample_shape) {
  Shape shape{1000};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  const Tensor x = input(shape);
  model->eval();
  const NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize((*model)(x).raw_data());
  report_items(state, 1000.0);
}

// W1: MLP 784-256-256-10, ReLU.
BENCHMARK_CAPTURE(train_epoch, w1, nn::mlp(784, {256, 256}, 10), Shape{784})
    ->Name("w1_mlp/train_epoch60000/batch128")
    ->UseRealTime();
BENCHMARK_CAPTURE(inference, w1, nn::mlp(784, {256, 256}, 10), Shape{784})
    ->Name("w1_mlp/inference/batch1000")
    ->UseRealTime();

// W2: MLP 784-(1000 x 5)-10 with each activation; also counted as 6 FLOP per weight per sample
// (forward, grad of input, grad of weight), against the same products as raw sgemm calls.
void deep_mlp(benchmark::State& state, const std::string& activation) {
  const std::vector<std::int64_t> hidden(5, 1000);
  const auto model = nn::mlp(784, hidden, 10, {.activation = activation});
  double weights = 0;
  for (const auto& p : model->parameters())
    if (p.dim() == 2) weights += static_cast<double>(p.numel());
  InMemoryData data({784}, 60000, 128);
  train(state, *model, data, 1);
  report_flops(state, 6.0 * weights * 128);
  compare_with(state, "limit/sgemm/linear_train_128x1000x1000");
}
#define ACTLAB_DEEP_MLP(activation) \
  BENCHMARK_CAPTURE(deep_mlp, activation, #activation)->Name("w2_deep_mlp/" #activation "/batch128")->UseRealTime()
ACTLAB_DEEP_MLP(sigmoid);
ACTLAB_DEEP_MLP(tanh);
ACTLAB_DEEP_MLP(relu);
ACTLAB_DEEP_MLP(leaky_relu);
ACTLAB_DEEP_MLP(elu);
ACTLAB_DEEP_MLP(gelu);
ACTLAB_DEEP_MLP(silu);

// W3: LeNet-5 on 1x28x28.
BENCHMARK_CAPTURE(train_step, w3, nn::lenet5(), Shape{1, 28, 28}, 60000, 64)
    ->Name("w3_lenet5/train_step/batch64")
    ->UseRealTime();
BENCHMARK_CAPTURE(inference, w3, nn::lenet5(), Shape{1, 28, 28})->Name("w3_lenet5/inference/batch1000")->UseRealTime();

// W4: CIFAR CNN on 3x32x32, 10,000 samples in memory.
BENCHMARK_CAPTURE(train_step, w4, nn::cifar_cnn(), Shape{3, 32, 32}, 10000, 128)
    ->Name("w4_cifar_cnn/train_step/batch128")
    ->UseRealTime();

// W5: W1 with BatchNorm after each hidden Linear and Dropout(0.5) after each hidden activation.
BENCHMARK_CAPTURE(train_epoch, w5, nn::mlp(784, {256, 256}, 10, {.norm = nn::Norm::Batch, .dropout = 0.5}),
                  Shape{784})
    ->Name("w5_mlp_bn_dropout/train_epoch60000/batch128")
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
