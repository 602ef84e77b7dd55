// Loading speed: the whole MNIST train set read, decompressed and converted to float32, and a
// DataLoader epoch. Needs $ACTLAB_DATA (the datasets folder); run with
//   ACTLAB_DATA=../shared/datasets build/data_bench
#include <benchmark/benchmark.h>

#include "actlab/data/loader.h"
#include "actlab/data/registry.h"

namespace {

using namespace actlab;

bool have_mnist(benchmark::State& state) {
  try {
    data::load_dataset("mnist", data::Split::Test);
    return true;
  } catch (const Error& e) {
    state.SkipWithError(e.what());
    return false;
  }
}

// Decompress the two gzip files, validate, convert all 60,000 images to float32 in [0, 1].
void BM_LoadMnistTrainToFloat32(benchmark::State& state) {
  if (!have_mnist(state)) return;
  for (auto _ : state) {
    const data::Dataset train = data::load_dataset("mnist", data::Split::Train);
    benchmark::DoNotOptimize(data::to_float32(train).raw_data());
  }
  state.SetItemsProcessed(state.iterations() * 60000);
}
BENCHMARK(BM_LoadMnistTrainToFloat32)->Unit(benchmark::kMillisecond)->UseRealTime();

// One shuffled epoch of batches of 128 (prefetched), from data already in memory.
void BM_LoaderEpochMnist(benchmark::State& state) {
  if (!have_mnist(state)) return;
  data::DataLoader loader(data::load_dataset("mnist", data::Split::Train),
                          data::LoaderOptions().batch_size(128).augment(state.range(0) != 0));
  for (auto _ : state)
    for (data::Batch& batch : loader) benchmark::DoNotOptimize(batch.images.raw_data());
  state.SetItemsProcessed(state.iterations() * 60000);
}
BENCHMARK(BM_LoaderEpochMnist)->Arg(0)->Arg(1)->ArgName("augment")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
