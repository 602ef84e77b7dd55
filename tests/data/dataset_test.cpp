#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "actlab/data/dataset.h"
#include "actlab/data/registry.h"
#include "actlab/data/synthetic.h"
#include "data/data_test_util.h"

namespace actlab::data {
namespace {

using test::expect_error;

// Two 2-channel 1x2 images with known bytes.
Dataset tiny_images() {
  return {"tiny", from_vector<std::uint8_t>({0, 255, 51, 102, 255, 0, 0, 0}, {2, 2, 1, 2}),
          from_vector<std::int64_t>({1, 0}), {"a", "b"}};
}

TEST(Dataset, ConvertsPixelsToUnitRangeAndNormalizes) {
  const Dataset set = tiny_images();
  EXPECT_EQ(to_float32(set).to_vector<float>(), (std::vector<float>{0, 1, 0.2f, 0.4f, 1, 0, 0, 0}));
  const Tensor normalized = to_float32(set, {{0.5f, 0.0f}, {0.5f, 2.0f}});
  EXPECT_FLOAT_EQ(normalized.at<float>({0, 0, 0, 1}), 1.0f);  // (1 - 0.5) / 0.5
  EXPECT_FLOAT_EQ(normalized.at<float>({0, 1, 0, 1}), 0.2f);  // 0.4 / 2
  expect_error([&] { to_float32(set, {{0.5f}, {1.0f}}); }, {"1 means", "2 channels"});
  expect_error([&] { to_float32(set, {{0, 0}, {1, 0}}); }, {"std of channel 1", "positive"});
}

TEST(Dataset, ChannelStatsMatchTheConvertedValues) {
  const Dataset set = make_synthetic("blobs", {.samples = 300, .noise = 0.5, .classes = 3, .seed = 4});
  const Normalization stats = channel_stats(set);
  const Tensor x = to_float32(set);
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(stats.mean[c], x.select(1, c).mean().item(), 1e-5);
    EXPECT_NEAR(stats.std[c], x.select(1, c).std({}, 0).item(), 1e-4);
  }
  const Normalization pixel_stats = channel_stats(tiny_images());
  EXPECT_NEAR(pixel_stats.mean[0], (0 + 1 + 1 + 0) / 4.0, 1e-6);
  EXPECT_NEAR(pixel_stats.std[1], std::sqrt((0.2 * 0.2 + 0.4 * 0.4) / 4 - 0.15 * 0.15), 1e-6);
}

TEST(Dataset, ValidationSplitIsTheLastSamplesAsAView) {
  const Dataset set = make_synthetic("moons", {.samples = 100});
  const TrainValidation split = split_validation(set, 30);
  EXPECT_EQ(split.train.size(), 70);
  EXPECT_EQ(split.validation.size(), 30);
  EXPECT_TRUE(split.validation.inputs.shares_storage_with(set.inputs));
  EXPECT_EQ(split.validation.labels.to_vector<std::int64_t>()[0], set.labels.to_vector<std::int64_t>()[70]);
  EXPECT_EQ(class_counts(split.validation), (std::vector<std::int64_t>{15, 15}));
  expect_error([&] { split_validation(set, 100); }, {"validation size 100", "[0, 100)"});
}

TEST(Synthetic, DeterministicBalancedAndSeedDependent) {
  for (const std::string& name : synthetic_names()) {
    const SyntheticOptions options{.samples = 90, .noise = 0.1, .classes = 3, .seed = 7};
    const Dataset a = make_synthetic(name, options);
    const Dataset b = make_synthetic(name, options);
    EXPECT_EQ(a.inputs.to_vector<float>(), b.inputs.to_vector<float>()) << name;
    EXPECT_NE(a.inputs.to_vector<float>(), make_synthetic(name, {.samples = 90, .seed = 8}).inputs.to_vector<float>())
        << name;
    EXPECT_EQ(a.inputs.shape(), (Shape{90, 2}));
    const auto counts = class_counts(a);
    for (std::int64_t count : counts) EXPECT_EQ(count, 90 / a.num_classes()) << name;
    EXPECT_NO_THROW(validate(a));
  }
  expect_error([] { make_synthetic("swirl", {}); }, {"swirl", "xor, circles"});
  expect_error([] { make_synthetic("xor", {.samples = 0}); }, {"samples must be >= 1"});
}

TEST(Synthetic, NoiselessSetsHaveTheirDefiningGeometry) {
  const auto check = [](const std::string& name, auto&& rule) {
    const Dataset set = make_synthetic(name, {.samples = 200, .noise = 0.0, .seed = 3});
    const auto x = set.inputs.to_vector<float>();
    const auto y = set.labels.to_vector<std::int64_t>();
    for (std::size_t i = 0; i < y.size(); ++i) EXPECT_TRUE(rule(x[2 * i], x[2 * i + 1], y[i])) << name << " " << i;
  };
  check("linear", [](float a, float b, std::int64_t c) { return (a + b > 0) == (c == 1); });
  check("xor", [](float a, float b, std::int64_t c) { return ((a > 0) != (b > 0)) == (c == 1); });
  check("circles", [](float a, float b, std::int64_t c) {
    return std::abs(std::hypot(a, b) - (c == 0 ? 1.0f : 0.5f)) < 1e-5f;
  });
}

TEST(Registry, SyntheticSplitsDifferAndUnknownNamesAreListed) {
  LoadOptions options;
  options.synthetic = {.samples = 50, .seed = 1};
  const Dataset train = load_dataset("spirals", Split::Train, options);
  const Dataset test = load_dataset("spirals", Split::Test, options);
  EXPECT_EQ(train.name, "spirals/train");
  EXPECT_NE(train.inputs.to_vector<float>(), test.inputs.to_vector<float>());
  expect_error([] { load_dataset("imagenet", Split::Train); }, {"imagenet", "mnist, fashion-mnist, kmnist, cifar10"});
}

TEST(Registry, DataDirPrefersExplicitThenEnvironment) {
  EXPECT_EQ(resolve_data_dir(std::filesystem::path("/x")).path, "/x");
  const char* saved = std::getenv("ACTLAB_DATA");
  const std::string saved_value = saved ? saved : "";
  ::setenv("ACTLAB_DATA", "/from/env", 1);
  EXPECT_EQ(resolve_data_dir().path, "/from/env");
  EXPECT_EQ(resolve_data_dir().origin, "$ACTLAB_DATA");
  ::unsetenv("ACTLAB_DATA");
  EXPECT_EQ(resolve_data_dir().path.filename(), "datasets");
  EXPECT_EQ(resolve_data_dir().origin, "the default");
  if (saved) ::setenv("ACTLAB_DATA", saved_value.c_str(), 1);
}

TEST(Registry, MissingDatasetSaysWhereItLookedAndHowToGetIt) {
  test::TempDir dir;
  LoadOptions options;
  options.data_dir = dir.path();
  expect_error([&] { load_dataset("mnist", Split::Train, options); },
               {(dir / "mnist").string(), "train-images-idx3-ubyte.gz", "--data-dir", "actlab data fetch mnist"});
  expect_error([&] { load_dataset("cifar10", Split::Test, options); }, {"cifar10", "actlab data fetch cifar10"});
  // A folder holding only the training split.
  test::write_file(dir / "fashion-mnist" / "train-images-idx3-ubyte.gz", test::gzip(test::idx_bytes({1, 2, 2}, {0})));
  test::write_file(dir / "fashion-mnist" / "train-labels-idx1-ubyte.gz", test::gzip(test::idx_bytes({1}, {0})));
  expect_error([&] { load_dataset("fashion-mnist", Split::Test, options); }, {"t10k-images-idx3-ubyte"});
  expect_error([&] { load_dataset("fashion-mnist", Split::Train, options); }, {"holds 1 samples, expected 60000"});
}

TEST(DatasetCatalog, GeneratedSetsLoadWithTheirCatalogShapeAndClasses) {
  for (const std::string& name : synthetic_names()) {
    const DatasetSpec& info = dataset_info(name);
    EXPECT_TRUE(info.synthetic) << name;
    const Dataset set = load_dataset(name, Split::Train, default_load_options(name, 60));
    EXPECT_EQ(set.sample_shape(), info.sample_shape) << name;
    EXPECT_EQ(set.num_classes(), info.classes) << name;
    EXPECT_EQ(set.size(), 60) << name;
  }
  EXPECT_EQ(default_load_options("spirals", 10).synthetic.noise, 0.05);
  expect_error([] { dataset_spec("spirals"); }, {"'spirals' is generated", "no files to fetch"});
  expect_error([] { dataset_info("imagenet"); }, {"unknown dataset 'imagenet'", "cifar100", "spirals"});
}

TEST(DatasetCatalog, EveryNameIsInTheCatalogOnce) {
  const std::vector<std::string> names = dataset_names();
  for (const std::string& name : synthetic_names())
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 1) << name;
  for (const std::string name : {"mnist", "fashion-mnist", "kmnist", "cifar10", "cifar100"}) {
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 1) << name;
    EXPECT_FALSE(dataset_info(name).synthetic);
  }
  EXPECT_EQ(dataset_info("cifar100").sample_shape, (Shape{3, 32, 32}));
  EXPECT_EQ(dataset_info("cifar100").classes, 100);
  EXPECT_EQ(dataset_info("fashion-mnist").classes, 10);
}

TEST(DatasetCatalog, Cifar100LoadsThroughTheCatalog) {
  // A two-record train file: the CIFAR-100 reader runs, then the split-size check names the gap.
  test::TempDir dir;
  const std::filesystem::path folder = dir / "cifar100" / "cifar-100-binary";
  test::Bytes records(2 * 3074, 1);
  test::write_file(folder / "train.bin", records);
  std::string names;
  for (int c = 0; c < 100; ++c) names += "class" + std::to_string(c) + "\n";
  test::write_file(folder / "fine_label_names.txt", test::text_bytes(names));
  const LoadOptions options = default_load_options("cifar100", 0, dir.path());
  expect_error([&] { load_dataset("cifar100", Split::Train, options); },
               {"dataset 'cifar100'", "holds 2 samples, expected 50000", "actlab data fetch cifar100"});
}

}  // namespace
}  // namespace actlab::data
