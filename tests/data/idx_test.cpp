#include <gtest/gtest.h>

#include "actlab/data/idx.h"
#include "data/data_test_util.h"

namespace actlab::data {
namespace {

using test::Bytes;
using test::expect_error;
using test::TempDir;

TEST(Idx, ParsesRawAndGzipIdentically) {
  const Bytes file = test::idx_bytes({3, 2, 4}, {7, 0, 255, 3, 9});
  const Tensor raw = parse_idx(file, "raw");
  const Tensor gz = parse_idx(test::gzip(file), "gz");
  EXPECT_EQ(raw.shape(), (Shape{3, 2, 4}));
  EXPECT_EQ(raw.dtype(), kUInt8);
  EXPECT_EQ(raw.to_vector<std::uint8_t>(), gz.to_vector<std::uint8_t>());
  EXPECT_EQ(raw.at<std::uint8_t>({0, 0, 2}), 255);
  EXPECT_EQ(raw.at<std::uint8_t>({2, 1, 3}), Bytes({7, 0, 255, 3, 9})[23 % 5]);
}

TEST(Idx, ReadsFilesAndPairsImagesWithLabels) {
  TempDir dir;
  test::write_file(dir / "images.gz", test::gzip(test::idx_bytes({4, 2, 2}, {1, 2, 3})));
  test::write_file(dir / "labels", test::idx_bytes({4}, {3, 1, 0, 2}));
  const Dataset set = load_idx_dataset(dir / "images.gz", dir / "labels", {"a", "b", "c", "d"}, "tiny");
  EXPECT_EQ(set.inputs.shape(), (Shape{4, 1, 2, 2}));
  EXPECT_EQ(set.labels.to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 1, 0, 2}));
  EXPECT_NO_THROW(validate(set));
}

TEST(Idx, RejectsWrongMagic) {
  Bytes file = test::idx_bytes({2}, {1});
  file[0] = 0x50;  // e.g. a PNG or text file
  expect_error([&] { parse_idx(file, "x.idx"); }, {"x.idx", "magic", "0x50000801", "download it again"});
  file = test::idx_bytes({2}, {1});
  file[2] = 0x0d;  // float data
  expect_error([&] { parse_idx(file, "x.idx"); }, {"x.idx", "type code 0x0d"});
}

TEST(Idx, RejectsTruncatedRawAndGzipFiles) {
  const Bytes file = test::idx_bytes({10, 28, 28}, {5});
  const Bytes cut(file.begin(), file.end() - 100);
  expect_error([&] { parse_idx(cut, "cut.idx"); }, {"cut.idx", "7840 bytes", "holds at most 7740"});
  const Bytes gz = test::gzip(file);
  const Bytes gz_cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  expect_error([&] { parse_idx(gz_cut, "cut.gz"); }, {"cut.gz", "ends early"});
  // Found by fuzzing: an empty first dimension must not excuse huge other ones.
  expect_error([] { parse_idx(test::idx_bytes({0, 0xe8000000u, 0xe8000000u}, {0}), "empty"); },
               {"empty", "too large"});
  const Bytes header_only(file.begin(), file.begin() + 6);
  expect_error([&] { parse_idx(header_only, "short"); }, {"short", "expected 12 header bytes", "found 2"});
}

TEST(Idx, RejectsCorruptGzipAndExtraBytes) {
  Bytes gz = test::gzip(test::idx_bytes({64, 8}, {1, 2, 3, 4, 5}));
  gz[gz.size() - 6] ^= 0xff;  // inside the CRC-32 trailer
  expect_error([&] { parse_idx(gz, "bad.gz"); }, {"bad.gz", "corrupt gzip data"});
  Bytes extra = test::idx_bytes({4}, {1});
  extra.push_back(0);
  expect_error([&] { parse_idx(extra, "long"); }, {"long", "1 extra bytes"});
}

TEST(Idx, RejectsInconsistentPairsAndLabels) {
  const Tensor images = parse_idx(test::idx_bytes({3, 2, 2}, {0}), "i");
  expect_error([&] { make_idx_dataset(images, parse_idx(test::idx_bytes({4}, {0}), "l"), {"a", "b"}, "s", "i", "l"); },
               {"3 images", "4 labels"});
  expect_error([&] { make_idx_dataset(images, parse_idx(test::idx_bytes({3}, {0, 1, 7}), "l"), {"a", "b"}, "s", "i", "l"); },
               {"label 7 at index 2", "[0, 2)"});
  expect_error([&] { make_idx_dataset(images, images, {"a"}, "s", "i", "l"); }, {"1 dimension", "[3,2,2]"});
}

TEST(Idx, MissingFileNamesThePath) {
  TempDir dir;
  expect_error([&] { read_idx(dir / "nope.gz"); }, {"nope.gz", "no such file", "--data-dir"});
}

}  // namespace
}  // namespace actlab::data
