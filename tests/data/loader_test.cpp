#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "actlab/data/loader.h"
#include "actlab/data/synthetic.h"
#include "data/data_test_util.h"

namespace actlab::data {
namespace {

// n images of shape [channels, 4, 4]; image i has label i % 10 and pixels (i + k) % 256.
Dataset images(std::int64_t n, std::int64_t channels = 1) {
  Tensor x = Tensor::empty({n, channels, 4, 4}, kUInt8);
  Tensor y = Tensor::empty({n}, kInt64);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data<std::uint8_t>()[i] = static_cast<std::uint8_t>((i / 16 / channels + i % 16) % 256);
  for (std::int64_t i = 0; i < n; ++i) y.data<std::int64_t>()[i] = i % 10;
  return {"images", x, y, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}};
}

// Every (labels, images) pair of one epoch, in order.
std::vector<std::vector<float>> epoch_contents(DataLoader& loader) {
  std::vector<std::vector<float>> batches;
  for (Batch& batch : loader) {
    batches.push_back(batch.images.to_vector<float>());
    for (std::int64_t label : batch.labels.to_vector<std::int64_t>()) batches.back().push_back(static_cast<float>(label));
  }
  return batches;
}

TEST(DataLoader, EachEpochVisitsEverySampleOnce) {
  const Dataset set = images(23);
  DataLoader loader(set, LoaderOptions().batch_size(5).seed(3));
  EXPECT_EQ(loader.batches_per_epoch(), 5);
  std::multiset<float> firsts;
  std::int64_t seen = 0;
  for (Batch& batch : loader) {
    EXPECT_EQ(batch.images.dtype(), kFloat32);
    EXPECT_EQ(batch.images.size(1), 1);
    seen += batch.labels.numel();
    // The first pixel of image i is i / 255: it identifies the sample.
    for (std::int64_t j = 0; j < batch.images.size(0); ++j) firsts.insert(batch.images.at<float>({j, 0, 0, 0}) * 255);
  }
  EXPECT_EQ(seen, 23);
  for (int i = 0; i < 23; ++i) EXPECT_EQ(firsts.count(static_cast<float>(i)), 1u) << i;
  EXPECT_EQ(loader.position(), (LoaderPosition{1, 0}));
}

TEST(DataLoader, ShuffleIsSeededPerEpochAndIndependentOfPrefetch) {
  const Dataset set = images(40);
  DataLoader a(set, LoaderOptions().batch_size(8).seed(11));
  DataLoader b(set, LoaderOptions().batch_size(8).seed(11).prefetch(false));
  DataLoader c(set, LoaderOptions().batch_size(8).seed(12));
  const auto a0 = epoch_contents(a), a1 = epoch_contents(a);
  EXPECT_EQ(a0, epoch_contents(b));
  EXPECT_EQ(a1, epoch_contents(b));
  EXPECT_NE(a0, a1);
  EXPECT_NE(a0, epoch_contents(c));
  DataLoader ordered(set, LoaderOptions().batch_size(8).shuffle(false));
  EXPECT_EQ(epoch_contents(ordered)[0].back(), 7.0f);  // labels in dataset order: 0..7
}

TEST(DataLoader, DropLastAndFlatten) {
  DataLoader loader(images(23, 3), LoaderOptions().batch_size(5).drop_last(true).flatten(true));
  EXPECT_EQ(loader.batches_per_epoch(), 4);
  std::int64_t batches = 0;
  for (Batch& batch : loader) {
    EXPECT_EQ(batch.images.shape(), (Shape{5, 48}));
    ++batches;
  }
  EXPECT_EQ(batches, 4);
  DataLoader keep(images(23), LoaderOptions().batch_size(5));
  EXPECT_EQ(keep.batch_at(0, 4).labels.numel(), 3);
}

TEST(DataLoader, ResumesMidEpochFromASavedPosition) {
  const Dataset set = images(30);
  const LoaderOptions options = LoaderOptions().batch_size(4).seed(5).augment(true);
  DataLoader first(set, options);
  epoch_contents(first);
  LoaderPosition saved;
  std::vector<std::vector<float>> rest;
  int index = 0;
  for (Batch& batch : first) {
    if (++index == 3) saved = first.position();
    if (index > 3) rest.push_back(batch.images.to_vector<float>());
  }
  EXPECT_EQ(saved, (LoaderPosition{1, 3}));
  DataLoader resumed(set, options);
  resumed.set_position(saved);
  std::vector<std::vector<float>> replay;
  for (Batch& batch : resumed) replay.push_back(batch.images.to_vector<float>());
  EXPECT_EQ(replay, rest);
  EXPECT_THROW(resumed.set_position({0, 99}), Error);
}

TEST(DataLoader, NormalizesWithTheSameTableAsToFloat32) {
  const Dataset set = images(6, 3);
  const Normalization norm{{0.1f, 0.2f, 0.3f}, {0.5f, 0.6f, 0.7f}};
  DataLoader loader(set, LoaderOptions().batch_size(6).shuffle(false).normalize(norm));
  EXPECT_EQ(loader.batch_at(0, 0).images.to_vector<float>(), to_float32(set, norm).to_vector<float>());
  EXPECT_THROW(DataLoader(set, LoaderOptions().normalize({{0.1f}, {0.5f}})), Error);
}

TEST(DataLoader, AugmentationIsASeededShiftedAndFlippedCopy) {
  const Dataset set = images(64, 3);
  DataLoader loader(set, LoaderOptions().batch_size(64).shuffle(false).augment(true).seed(9));
  const Tensor original = to_float32(set);
  const Batch batch = loader.batch_at(0, 0);
  EXPECT_EQ(batch.images.to_vector<float>(), loader.batch_at(0, 0).images.to_vector<float>());
  EXPECT_NE(batch.images.to_vector<float>(), loader.batch_at(1, 0).images.to_vector<float>());
  int flips = 0, changed = 0;
  for (std::int64_t i = 0; i < 64; ++i) {
    // Find the (dy, dx, flip) that explains image i; zeros fill what comes from the padding.
    bool explained = false;
    for (int flip = 0; flip < 2 && !explained; ++flip)
      for (int dy = -4; dy <= 4 && !explained; ++dy)
        for (int dx = -4; dx <= 4 && !explained; ++dx) {
          bool match = true;
          for (int c = 0; c < 3 && match; ++c)
            for (int y = 0; y < 4 && match; ++y)
              for (int x = 0; x < 4 && match; ++x) {
                const int sy = y + dy, sx = (flip ? 3 - x : x) + dx;
                const float expected = sy >= 0 && sy < 4 && sx >= 0 && sx < 4 ? original.at<float>({i, c, sy, sx}) : 0.0f;
                match = batch.images.at<float>({i, c, y, x}) == expected;
              }
          if (match) {
            explained = true;
            flips += flip;
            changed += flip || dy || dx;
          }
        }
    EXPECT_TRUE(explained) << "image " << i;
  }
  EXPECT_GT(flips, 10);
  EXPECT_GT(changed, 50);
  EXPECT_THROW(DataLoader(make_synthetic("xor", {}), LoaderOptions().augment(true)), Error);
}

TEST(DataLoader, FeatureSetsBatchAsRows) {
  const Dataset set = make_synthetic("moons", {.samples = 10});
  DataLoader loader(set, LoaderOptions().batch_size(4).shuffle(false).normalize({{1.0f, 0.0f}, {2.0f, 1.0f}}));
  const Batch batch = loader.batch_at(0, 2);
  EXPECT_EQ(batch.images.shape(), (Shape{2, 2}));
  EXPECT_FLOAT_EQ(batch.images.at<float>({1, 0}), (set.inputs.at<float>({9, 0}) - 1.0f) / 2.0f);
  EXPECT_EQ(batch.labels.to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1}));
}

}  // namespace
}  // namespace actlab::data
