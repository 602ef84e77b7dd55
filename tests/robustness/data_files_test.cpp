// Damaged data dirs end in a clear error naming the path, never a crash: a folder where a data
// file belongs, a --data-dir that is a file, and IDX headers whose sizes overflow.
#include <gtest/gtest.h>

#include "actlab/core/shape.h"
#include "actlab/data/idx.h"
#include "actlab/data/registry.h"
#include "robustness/cli_util.h"
#include "test_util.h"

namespace actlab::robustness {
namespace {

using actlab::testing::error_of;

TEST(RobustData, DirectoryWhereAnMnistFileBelongs) {
  TempDir dir;
  fs::create_directories(dir / "ds/mnist/train-images-idx3-ubyte.gz");
  test::write_file(dir / "ds/mnist/train-labels-idx1-ubyte.gz", test::idx_bytes({1}, {0}));
  const Result result = run_actlab({"data", "info", "mnist", "--data-dir", (dir / "ds").string()}, dir.path());
  expect_clean_error(result, (dir / "ds/mnist/train-images-idx3-ubyte.gz").string() + ": is a directory");
}

TEST(RobustData, DirectoryWhereACifarFileBelongs) {
  TempDir dir;
  fs::create_directories(dir / "ds/cifar10/cifar-10-batches-bin/data_batch_1.bin");
  const Result result = run_actlab({"data", "info", "cifar10", "--data-dir", (dir / "ds").string()}, dir.path());
  expect_clean_error(result, "data_batch_1.bin: is a directory");
  // The archive form too.
  fs::remove_all(dir / "ds/cifar10/cifar-10-batches-bin");
  fs::create_directories(dir / "ds/cifar10/cifar-10-binary.tar.gz");
  const Result archive = run_actlab({"data", "info", "cifar10", "--data-dir", (dir / "ds").string()}, dir.path());
  expect_clean_error(archive, "cifar-10-binary.tar.gz: is not a regular file");
}

TEST(RobustData, ReadingADirectoryAsBytesNamesIt) {
  TempDir dir;
  fs::create_directories(dir / "t10k-images-idx3-ubyte.gz");
  EXPECT_NE(error_of([&] { data::read_file_bytes(dir / "t10k-images-idx3-ubyte.gz"); }).find("is a directory"),
            std::string::npos);
}

TEST(RobustData, DataDirThatIsAFile) {
  TempDir dir;
  test::write_file(dir / "file", {1, 2, 3});
  const std::string file = (dir / "file").string();
  expect_clean_error(run_actlab({"data", "info", "mnist", "--data-dir", file}, dir.path()), "is a file, not a folder");
  expect_clean_error(run_actlab({"data", "fetch", "mnist", "--data-dir", file}, dir.path()), "is a file, not a folder");
  expect_clean_error(run_actlab({"compare", "--data", "mnist", "--data-dir", file, "--activations", "relu", "--out",
                                 (dir / "out").string()},
                                dir.path()),
                     "is a file, not a folder");
  EXPECT_FALSE(fs::exists(dir / "out"));  // refused before anything was written
}

// The input idx_fuzz found: a rank-4 header [0, 2^22, 2^17, 2^25] whose extent wrapped past 2^64.
TEST(RobustData, FuzzedIdxHeaderWithOverflowingExtent) {
  const test::Bytes input = {0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40,
                             0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
  EXPECT_NE(error_of([&] { data::parse_idx(input, "fuzz input"); }).find("too large"), std::string::npos);
}

TEST(RobustData, ShapeArithmeticThrowsOnOverflow) {
  const Shape huge{0, std::int64_t{1} << 22, std::int64_t{1} << 17, std::int64_t{1} << 25};
  EXPECT_NE(error_of([&] { contiguous_strides(huge); }).find("overflow"), std::string::npos);
  EXPECT_NE(error_of([&] { numel_of({std::int64_t{1} << 40, std::int64_t{1} << 40}); }).find("int64"),
            std::string::npos);
  EXPECT_EQ(numel_of(huge), 0);
  EXPECT_EQ(contiguous_strides({2, 0, 3}), (Strides{0, 3, 1}));
}

}  // namespace
}  // namespace actlab::robustness
