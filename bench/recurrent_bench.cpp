// Recurrent layer benchmarks (float32), each the same workload as bench/peer/recurrent_peer.py:
// one training step of a sequence classifier, as on row-by-row MNIST: [64, 28, 28] batch-first
// input through a 128-unit RNN/LSTM/GRU, Linear(128, 10) on the last output, cross-entropy,
// backward and SGD(0.01). Reports samples/s.
#include <memory>

#include "actlab/actlab.h"
#include "bench_counters.h"

namespace {

using namespace actlab;

constexpr std::int64_t kBatch = 64, kSteps = 28, kInputs = 28, kHidden = 128;

// `run` maps the input to the recurrent output [B, T, H].
template <typename Layer, typename Run>
void train_step(benchmark::State& state, Layer& layer, Run run) {
  Generator gen(0);
  nn::Linear head(kHidden, 10, {}, gen);
  const Tensor x = randn({kBatch, kSteps, kInputs}, gen);
  const Tensor labels = randint(0, 10, {kBatch}, gen);
  std::vector<Tensor> params = layer.parameters();
  for (const Tensor& p : head.parameters()) params.push_back(p);
  optim::SGD sgd(params, {.lr = 0.01});
  for (auto _ : state) {
    sgd.zero_grad();
    const Tensor out = run(x);
    const Tensor loss = nn::cross_entropy(head(out.select(1, kSteps - 1)), labels);
    loss.backward();
    sgd.step();
    benchmark::DoNotOptimize(loss.raw_data());
  }
  bench::report_items(state, static_cast<double>(kBatch));
}

void rnn(benchmark::State& state) {
  nn::RNN layer({.input_size = kInputs, .hidden_size = kHidden, .batch_first = true});
  train_step(state, layer, [&](const Tensor& x) { return std::get<0>(layer(x)); });
}

void lstm(benchmark::State& state) {
  nn::LSTM layer({.input_size = kInputs, .hidden_size = kHidden, .batch_first = true});
  train_step(state, layer, [&](const Tensor& x) { return std::get<0>(layer(x)); });
}

void gru(benchmark::State& state) {
  nn::GRU layer({.input_size = kInputs, .hidden_size = kHidden, .batch_first = true});
  train_step(state, layer, [&](const Tensor& x) { return std::get<0>(layer(x)); });
}

BENCHMARK(rnn)->Name("rnn/train_step/batch64_t28_i28_h128")->UseRealTime();
BENCHMARK(lstm)->Name("lstm/train_step/batch64_t28_i28_h128")->UseRealTime();
BENCHMARK(gru)->Name("gru/train_step/batch64_t28_i28_h128")->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
