// Recurrent layer benchmarks (float32), each the same workload as bench/peer/recurrent_peer.py:
// one training step of a sequence classifier on 64 batch-first sequences, row by row as seq-mnist
// ([64, 28, 28]) and pixel by pixel as pixel-mnist ([64, 784, 1], where the per-step overhead
// shows), through a 128-unit RNN/LSTM/GRU, Linear(128, 10) on the last output, cross-entropy,
// backward and SGD(0.01). Reports samples/s.
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "actlab/actlab.h"
#include "bench_counters.h"

namespace {

using namespace actlab;

constexpr std::int64_t kBatch = 64, kHidden = 128;

// `run` maps the input [B, steps, inputs] to the output [B, steps, H].
template <typename Layer, typename Run>
void train_step(benchmark::State& state, std::int64_t steps, std::int64_t inputs, Layer& layer, Run run) {
  Generator gen(0);
  nn::Linear head(kHidden, 10, {}, gen);
  const Tensor x = randn({kBatch, steps, inputs}, gen);
  const Tensor labels = randint(0, 10, {kBatch}, gen);
  std::vector<Tensor> params = layer.parameters();
  for (const Tensor& p : head.parameters()) params.push_back(p);
  optim::SGD sgd(params, {.lr = 0.01});
  for (auto _ : state) {
    sgd.zero_grad();
    const Tensor out = run(x);
    const Tensor loss = nn::cross_entropy(head(out.select(1, steps - 1)), labels);
    loss.backward();
    sgd.step();
    benchmark::DoNotOptimize(loss.raw_data());
  }
  bench::report_items(state, static_cast<double>(kBatch));
}

void rnn(benchmark::State& state, std::int64_t steps, std::int64_t inputs) {
  nn::RNN layer({.input_size = inputs, .hidden_size = kHidden, .batch_first = true});
  train_step(state, steps, inputs, layer, [&](const Tensor& x) { return std::get<0>(layer(x)); });
}

void lstm(benchmark::State& state, std::int64_t steps, std::int64_t inputs) {
  nn::LSTM layer({.input_size = inputs, .hidden_size = kHidden, .batch_first = true});
  train_step(state, steps, inputs, layer, [&](const Tensor& x) { return std::get<0>(layer(x)); });
}

void gru(benchmark::State& state, std::int64_t steps, std::int64_t inputs) {
  nn::GRU layer({.input_size = inputs, .hidden_size = kHidden, .batch_first = true});
  train_step(state, steps, inputs, layer, [&](const Tensor& x) { return std::get<0>(layer(x)); });
}

// Named as the peer's workloads: <kind>/train_step/batch64_t<steps>_i<inputs>_h128.
void register_shapes(const char* kind, void (*bench)(benchmark::State&, std::int64_t, std::int64_t)) {
  for (const auto& [steps, inputs] : {std::pair<std::int64_t, std::int64_t>{28, 28}, {784, 1}}) {
    const std::string name = fmt::format("{}/train_step/batch{}_t{}_i{}_h{}", kind, kBatch, steps, inputs, kHidden);
    benchmark::RegisterBenchmark(name.c_str(), bench, steps, inputs)->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_shapes("rnn", rnn);
  register_shapes("lstm", lstm);
  register_shapes("gru", gru);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
