// The sequence tasks: shapes, their published definitions and baselines, the catalog's lengths,
// pmnist's permutation, and batches of per-step and real-valued targets.
#include "actlab/data/sequence.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "actlab/data/loader.h"
#include "actlab/data/registry.h"
#include "test_util.h"

namespace actlab::data {
namespace {

using testing::error_of;

// The symbol of one-hot step t of sample i.
std::int64_t symbol_at(const Dataset& set, std::int64_t i, std::int64_t t) {
  const std::int64_t steps = set.inputs.size(1), features = set.inputs.size(2);
  const float* row = set.inputs.data<float>() + (i * steps + t) * features;
  EXPECT_FLOAT_EQ(std::accumulate(row, row + features, 0.0f), 1.0f) << "not one-hot at sample " << i << " step " << t;
  return std::max_element(row, row + features) - row;
}

TEST(SequenceTasks, AddingMarksOneValueInEachHalfAndTargetsTheirSum) {
  const std::int64_t steps = 50, samples = 20000;
  const Dataset set = make_sequence_task("adding", steps, samples, 3);
  validate(set);
  ASSERT_EQ(set.inputs.shape(), (Shape{samples, steps, 2}));
  ASSERT_EQ(set.labels.dtype(), kFloat32);
  double squared_error_of_one = 0;
  for (std::int64_t i = 0; i < samples; ++i) {
    const float* row = set.inputs.data<float>() + i * steps * 2;
    std::vector<std::int64_t> marked;
    for (std::int64_t t = 0; t < steps; ++t) {
      ASSERT_GE(row[2 * t], 0.0f);
      ASSERT_LT(row[2 * t], 1.0f);
      if (row[2 * t + 1] == 1.0f) marked.push_back(t);
    }
    ASSERT_EQ(marked.size(), 2u);
    EXPECT_LT(marked[0], steps / 2);
    EXPECT_GE(marked[1], steps / 2);
    const float target = set.labels.data<float>()[i];
    EXPECT_FLOAT_EQ(target, row[2 * marked[0]] + row[2 * marked[1]]);
    squared_error_of_one += (target - 1.0) * (target - 1.0);
  }
  // Predicting 1 scores Var(u1 + u2) = 1/6: the baseline the literature quotes as 0.167.
  EXPECT_NEAR(squared_error_of_one / samples, sequence_baseline("adding", steps), 0.005);
  EXPECT_NEAR(sequence_baseline("adding", steps), 0.167, 0.0005);
}

TEST(SequenceTasks, TemporalOrderPlacesXOrYInItsTwoWindows) {
  const std::int64_t steps = 40, samples = 4000;
  const Dataset set = make_sequence_task("temporal-order", steps, samples, 5);
  validate(set);
  ASSERT_EQ(set.inputs.shape(), (Shape{samples, steps, 6}));
  std::vector<std::int64_t> counts(4, 0);
  for (std::int64_t i = 0; i < samples; ++i) {
    std::vector<std::pair<std::int64_t, std::int64_t>> relevant;  // (step, 0 for X / 1 for Y)
    for (std::int64_t t = 0; t < steps; ++t)
      if (const std::int64_t s = symbol_at(set, i, t); s >= 4) relevant.emplace_back(t, s - 4);
    ASSERT_EQ(relevant.size(), 2u);
    EXPECT_GE(relevant[0].first, 4);  // [0.1 T, 0.2 T)
    EXPECT_LT(relevant[0].first, 8);
    EXPECT_GE(relevant[1].first, 20);  // [0.5 T, 0.6 T)
    EXPECT_LT(relevant[1].first, 24);
    const std::int64_t label = set.labels.data<std::int64_t>()[i];
    EXPECT_EQ(label, 2 * relevant[0].second + relevant[1].second);
    ++counts[label];
  }
  for (const std::int64_t count : counts) EXPECT_NEAR(count, samples / 4, samples / 20);  // chance is 1/4
}

TEST(SequenceTasks, CopyRecallsTheTenSymbolsAfterTheDelimiterAndTheMemorylessBaselineHolds) {
  const std::int64_t length = 30, samples = 500, steps = length + 20;
  const Dataset set = make_sequence_task("copy", length, samples, 7);
  validate(set);
  ASSERT_EQ(set.inputs.shape(), (Shape{samples, steps, 10}));
  ASSERT_EQ(set.labels.shape(), (Shape{samples, steps}));
  double memoryless_loss = 0;
  for (std::int64_t i = 0; i < samples; ++i) {
    const std::int64_t* target = set.labels.data<std::int64_t>() + i * steps;
    for (std::int64_t t = 0; t < steps; ++t) {
      const std::int64_t input = symbol_at(set, i, t);
      if (t < 10) {
        EXPECT_GE(input, 1);
        EXPECT_LE(input, 8);
        EXPECT_EQ(target[length + 10 + t], input);
      } else {
        EXPECT_EQ(input, t == length + 9 ? 9 : 0) << "step " << t;
      }
      if (t < length + 10) {
        EXPECT_EQ(target[t], 0);  // blank: the memoryless strategy is sure of it
      } else {
        ASSERT_GE(target[t], 1);  // one of 8 data symbols: the strategy spreads 1/8 over them
        memoryless_loss += std::log(8.0);
      }
    }
  }
  EXPECT_NEAR(memoryless_loss / (samples * steps), sequence_baseline("copy", length), 1e-12);
  EXPECT_NEAR(sequence_baseline("copy", length), 10 * std::log(8.0) / 50, 1e-12);
}

TEST(SequenceTasks, TheSameSeedGivesTheSameSetAndAnotherSeedAnother) {
  const Dataset a = make_sequence_task("adding", 20, 100, 1), b = make_sequence_task("adding", 20, 100, 1);
  const Dataset c = make_sequence_task("adding", 20, 100, 2);
  EXPECT_EQ(a.inputs.to_vector<float>(), b.inputs.to_vector<float>());
  EXPECT_NE(a.inputs.to_vector<float>(), c.inputs.to_vector<float>());
}

TEST(SequenceTasks, RejectsShortLengthsAndUnknownNames) {
  EXPECT_NE(error_of([] { make_sequence_task("adding", 1, 10, 0); }).find("at least 2"), std::string::npos);
  EXPECT_NE(error_of([] { make_sequence_task("temporal-order", 9, 10, 0); }).find("at least 10"), std::string::npos);
  EXPECT_NE(error_of([] { make_sequence_task("copy", 5, 0, 0); }).find("samples"), std::string::npos);
  EXPECT_NE(error_of([] { make_sequence_task("parity", 5, 10, 0); }).find("adding"), std::string::npos);
}

TEST(SequenceCatalog, TheLengthIsPartOfTheNameAndChecked) {
  const DatasetSpec& adding = dataset_info("adding:100");
  EXPECT_EQ(adding.sample_shape, (Shape{100, 2}));
  EXPECT_EQ(adding.target, Target::Value);
  EXPECT_EQ(&dataset_info("adding:100"), &adding);  // built once
  EXPECT_EQ(dataset_info("copy:10").sample_shape, (Shape{30, 10}));
  EXPECT_EQ(dataset_info("copy:10").target, Target::ClassPerStep);
  EXPECT_EQ(dataset_info("temporal-order:50").classes, 4);
  EXPECT_EQ(dataset_info("pixel-mnist").sample_shape, (Shape{1, 784, 1}));
  EXPECT_NE(error_of([] { dataset_info("adding"); }).find("adding:T, e.g. adding:100"), std::string::npos);
  EXPECT_NE(error_of([] { dataset_info("adding:ten"); }).find("not a positive integer"), std::string::npos);
  EXPECT_NE(error_of([] { dataset_info("adding:-5"); }).find("not a positive integer"), std::string::npos);
  EXPECT_NE(error_of([] { dataset_info("adding:1"); }).find("at least 2"), std::string::npos);
  EXPECT_NE(error_of([] { dataset_info("mnist:3"); }).find("takes no length"), std::string::npos);
  const auto names = dataset_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "copy:T"), names.end());
}

TEST(SequenceCatalog, GeneratedSplitsHaveTheirSizesAndDiffer) {
  const LoadOptions options = default_load_options("temporal-order:20", 0);
  const Dataset train = load_dataset("temporal-order:20", Split::Train, options);
  const Dataset test = load_dataset("temporal-order:20", Split::Test, options);
  EXPECT_EQ(train.size(), dataset_info("temporal-order:20").train_size);
  EXPECT_EQ(test.size(), dataset_info("temporal-order:20").test_size);
  EXPECT_NE(train.narrow(0, 10).inputs.to_vector<float>(), test.narrow(0, 10).inputs.to_vector<float>());
}

TEST(PixelSequences, ThePermutationIsFixedAndAPermutation) {
  std::vector<std::int64_t> order = pixel_permutation(784);
  EXPECT_EQ(order, pixel_permutation(784));
  EXPECT_NE(order[0] + order[1] + order[2], 0 + 1 + 2);
  std::sort(order.begin(), order.end());
  for (std::int64_t i = 0; i < 784; ++i) ASSERT_EQ(order[i], i);
}

TEST(PixelSequences, ImagesBecomeOnePixelPerStepInTheGivenOrder) {
  Tensor pixels = Tensor::empty({2, 1, 2, 3}, kUInt8);
  for (std::int64_t i = 0; i < 12; ++i) pixels.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(i);
  const Dataset images{"tiny", pixels, zeros({2}, kInt64), {"0", "1"}};
  const Dataset plain = as_pixel_sequence(images, {});
  EXPECT_EQ(plain.inputs.shape(), (Shape{2, 1, 6, 1}));
  EXPECT_EQ(plain.inputs.to_vector<std::uint8_t>(), pixels.to_vector<std::uint8_t>());
  const Dataset permuted = as_pixel_sequence(images, {5, 4, 3, 2, 1, 0});
  EXPECT_EQ(permuted.inputs.to_vector<std::uint8_t>(),
            (std::vector<std::uint8_t>{5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6}));
}

TEST(SequenceBatches, CarryPerStepAndRealValuedTargets) {
  const Dataset copy = make_sequence_task("copy", 3, 10, 1);
  DataLoader copy_loader(copy, LoaderOptions().batch_size(4).shuffle(false));
  const Batch first = *copy_loader.begin();
  EXPECT_EQ(first.images.shape(), (Shape{4, 23, 10}));
  ASSERT_EQ(first.labels.shape(), (Shape{4, 23}));
  EXPECT_EQ(first.labels.to_vector<std::int64_t>(), copy.labels.narrow(0, 0, 4).to_vector<std::int64_t>());
  const Dataset adding = make_sequence_task("adding", 8, 10, 1);
  DataLoader adding_loader(adding, LoaderOptions().batch_size(3).seed(4));
  const Batch batch = *adding_loader.begin();
  ASSERT_EQ(batch.labels.dtype(), kFloat32);
  // Each target is still the sum of its own sample's two marked values.
  for (std::int64_t j = 0; j < 3; ++j) {
    double sum = 0;
    for (std::int64_t t = 0; t < 8; ++t)
      if (batch.images.data<float>()[(j * 8 + t) * 2 + 1] == 1.0f) sum += batch.images.data<float>()[(j * 8 + t) * 2];
    EXPECT_FLOAT_EQ(batch.labels.data<float>()[j], static_cast<float>(sum));
  }
}

}  // namespace
}  // namespace actlab::data
