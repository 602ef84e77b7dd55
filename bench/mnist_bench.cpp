// W7: wall time to first reach 97% MNIST test accuracy with the MLP 784-256-256-10 (ReLU),
// Adam(1e-3), cross-entropy, batches of 128 reshuffled each epoch, evaluating the whole test set
// every 100 steps. The data is in memory as float32 in [0, 1] before the clock starts; the time
// covers training and the evaluations. The same workload as bench/peer/mnist_peer.py. Needs
// $ACTLAB_DATA (the datasets folder); bench/run.py finds ../shared/datasets itself.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>

#include "actlab/actlab.h"
#include "actlab/data/registry.h"

namespace {

using namespace actlab;

constexpr std::int64_t kBatch = 128;
constexpr std::int64_t kEvaluateEvery = 100;
constexpr double kTargetAccuracy = 0.97;
constexpr std::int64_t kMaxEpochs = 20;

struct Split {
  Tensor images;  // float32 [N, 784]
  Tensor labels;  // int64 [N]
};

Split load(data::Split split) {
  const data::Dataset set = data::load_dataset("mnist", split);
  return {data::to_float32(set).flatten(1), set.labels};
}

double accuracy(nn::Module& model, const Split& test) {
  model.eval();
  const NoGradGuard no_grad;
  std::int64_t correct = 0;
  for (std::int64_t start = 0; start < test.labels.numel(); start += 1000) {
    const std::int64_t n = std::min<std::int64_t>(1000, test.labels.numel() - start);
    const Tensor predicted = model(test.images.narrow(0, start, n)).argmax(1);
    correct += static_cast<std::int64_t>(predicted.eq(test.labels.narrow(0, start, n)).sum().item());
  }
  model.train();
  return static_cast<double>(correct) / static_cast<double>(test.labels.numel());
}

// Trains a fresh model until the test accuracy first reaches the target; returns the steps taken.
std::int64_t steps_to_target(const Split& train, const Split& test) {
  const auto model = nn::mlp(784, {256, 256}, 10);
  optim::Adam adam(model->parameters(), {.lr = 1e-3});
  Generator gen(0);
  const std::int64_t n = train.labels.numel();
  std::int64_t step = 0;
  for (std::int64_t epoch = 0; epoch < kMaxEpochs; ++epoch) {
    const Tensor order = randperm(n, gen);
    for (std::int64_t start = 0; start < n; start += kBatch) {
      const Tensor index = order.narrow(0, start, std::min(kBatch, n - start));
      adam.zero_grad();
      nn::cross_entropy((*model)(train.images.index_select(0, index)), train.labels.index_select(0, index)).backward();
      adam.step();
      if (++step % kEvaluateEvery == 0 && accuracy(*model, test) >= kTargetAccuracy) return step;
    }
  }
  throw Error("mnist: " + std::to_string(kMaxEpochs) + " epochs without reaching 97% test accuracy");
}

void time_to_accuracy(benchmark::State& state) {
  Split train, test;
  try {
    train = load(data::Split::Train);
    test = load(data::Split::Test);
  } catch (const Error& e) {
    state.SkipWithError(e.what());
    return;
  }
  std::int64_t steps = 0;
  for (auto _ : state) steps = steps_to_target(train, test);
  state.counters["steps"] = static_cast<double>(steps);
}
BENCHMARK(time_to_accuracy)->Name("w7_mnist_mlp/time_to_97pct")->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
