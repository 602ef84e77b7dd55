// Checks against the real datasets in $ACTLAB_DATA (see its README.md); skipped without them.
#include <gtest/gtest.h>

#include "actlab/data/registry.h"
#include "data/data_test_util.h"

namespace actlab::data {
namespace {

std::optional<Dataset> real(const std::string& name, Split split) {
  const char* dir = test::real_data_dir();
  if (!dir || !std::filesystem::exists(std::filesystem::path(dir) / name)) return std::nullopt;
  LoadOptions options;
  options.data_dir = dir;
  return load_dataset(name, split, options);
}

#define REAL_OR_SKIP(var, name, split)                                                        \
  const std::optional<Dataset> var = real(name, split);                                       \
  if (!var) GTEST_SKIP() << "set ACTLAB_DATA to the datasets folder to check " << name << ""; \
  static_assert(true)

std::vector<std::int64_t> first_labels(const Dataset& set) {
  const auto labels = set.labels.to_vector<std::int64_t>();
  return {labels.begin(), labels.begin() + 10};
}

TEST(RealData, Mnist) {
  REAL_OR_SKIP(train, "mnist", Split::Train);
  REAL_OR_SKIP(test, "mnist", Split::Test);
  EXPECT_EQ(train->inputs.shape(), (Shape{60000, 1, 28, 28}));
  EXPECT_EQ(test->inputs.shape(), (Shape{10000, 1, 28, 28}));
  EXPECT_EQ(class_counts(*train), (std::vector<std::int64_t>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}));
  EXPECT_EQ(class_counts(*test), (std::vector<std::int64_t>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
  EXPECT_EQ(first_labels(*train), (std::vector<std::int64_t>{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}));
  EXPECT_EQ(first_labels(*test), (std::vector<std::int64_t>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}));
  const Normalization stats = channel_stats(*train);
  EXPECT_NEAR(stats.mean[0], 0.1307, 1e-4);  // the values every MNIST tutorial normalizes with
  EXPECT_NEAR(stats.std[0], 0.3081, 1e-4);
}

TEST(RealData, FashionMnist) {
  REAL_OR_SKIP(train, "fashion-mnist", Split::Train);
  REAL_OR_SKIP(test, "fashion-mnist", Split::Test);
  EXPECT_EQ(class_counts(*train), std::vector<std::int64_t>(10, 6000));
  EXPECT_EQ(class_counts(*test), std::vector<std::int64_t>(10, 1000));
  EXPECT_EQ(first_labels(*train), (std::vector<std::int64_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
  EXPECT_EQ(first_labels(*test), (std::vector<std::int64_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}));
  EXPECT_EQ(train->class_names[9], "Ankle boot");
}

TEST(RealData, Cifar10) {
  REAL_OR_SKIP(train, "cifar10", Split::Train);
  REAL_OR_SKIP(test, "cifar10", Split::Test);
  EXPECT_EQ(train->inputs.shape(), (Shape{50000, 3, 32, 32}));
  EXPECT_EQ(class_counts(*train), std::vector<std::int64_t>(10, 5000));
  EXPECT_EQ(class_counts(*test), std::vector<std::int64_t>(10, 1000));
  EXPECT_EQ(class_counts(train->narrow(0, 10000)),
            (std::vector<std::int64_t>{1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981}));
  EXPECT_EQ(first_labels(*train), (std::vector<std::int64_t>{6, 9, 9, 4, 1, 1, 2, 7, 8, 3}));
  EXPECT_EQ(first_labels(*test), (std::vector<std::int64_t>{3, 8, 8, 0, 6, 6, 1, 6, 3, 1}));
  EXPECT_EQ(train->class_names, (std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog",
                                                          "frog", "horse", "ship", "truck"}));
}

}  // namespace
}  // namespace actlab::data
