#include <gtest/gtest.h>

#include <cstdlib>

#include "actlab/data/cifar.h"
#include "data/data_test_util.h"

namespace actlab::data {
namespace {

using test::Bytes;
using test::expect_error;
using test::TempDir;

const std::string kMeta = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";

// A cifar-10-batches-bin folder with `records` records per batch file.
void write_cifar10_folder(const std::filesystem::path& root, int records) {
  const std::filesystem::path folder = root / "cifar-10-batches-bin";
  for (const std::string& file : cifar_layout(CifarVariant::Cifar10).train_files)
    test::write_file(folder / file, test::cifar10_records(records));
  test::write_file(folder / "test_batch.bin", test::cifar10_records(records));
  test::write_file(folder / "batches.meta.txt", test::text_bytes(kMeta));
}

TEST(Cifar, ParsesRecordsChannelMajor) {
  const Dataset set = parse_cifar(test::cifar10_records(3), CifarVariant::Cifar10,
                                  parse_class_names(kMeta, 10, "meta"), "tiny", "tiny.bin");
  EXPECT_EQ(set.inputs.shape(), (Shape{3, 3, 32, 32}));
  EXPECT_EQ(set.labels.to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 2}));
  // Record 2, green channel (offset 1024), row 1, col 5 -> pixel byte (2 + 1024 + 32 + 5) % 256.
  EXPECT_EQ(set.inputs.at<std::uint8_t>({2, 1, 1, 5}), (2 + 1024 + 32 + 5) % 256);
  EXPECT_EQ(set.class_names[9], "truck");
}

TEST(Cifar, Cifar100UsesTheFineLabel) {
  Bytes record(3074, 0);
  record[0] = 3;   // coarse
  record[1] = 87;  // fine
  record[2] = 200;
  std::vector<std::string> names(100, "c");
  const Dataset set = parse_cifar(record, CifarVariant::Cifar100, names, "c100", "train.bin");
  EXPECT_EQ(set.labels.to_vector<std::int64_t>(), (std::vector<std::int64_t>{87}));
  EXPECT_EQ(set.inputs.at<std::uint8_t>({0, 0, 0, 0}), 200);
}

TEST(Cifar, RejectsPartialRecordsAndBadLabels) {
  Bytes bytes = test::cifar10_records(2);
  bytes.pop_back();
  const auto names = parse_class_names(kMeta, 10, "meta");
  expect_error([&] { parse_cifar(bytes, CifarVariant::Cifar10, names, "s", "b.bin"); },
               {"b.bin", "3073-byte records", "6145 bytes", "1 records and 3072 bytes over"});
  bytes = test::cifar10_records(2);
  bytes[3073] = 10;
  expect_error([&] { parse_cifar(bytes, CifarVariant::Cifar10, names, "s", "b.bin"); },
               {"b.bin", "record 1", "byte offset 3073", "label 10", "0..9"});
  expect_error([&] { parse_class_names("cat\ndog\n", 10, "batches.meta.txt"); },
               {"batches.meta.txt", "expected 10 class names", "found 2"});
}

TEST(Cifar, LoadsTheExtractedFolder) {
  TempDir dir;
  write_cifar10_folder(dir.path(), 4);
  const Dataset train = load_cifar(dir.path(), CifarVariant::Cifar10, Split::Train);
  EXPECT_EQ(train.size(), 20);
  EXPECT_EQ(train.name, "cifar10/train");
  EXPECT_EQ(train.labels.to_vector<std::int64_t>()[5], 1);  // first record of the second batch file
  EXPECT_EQ(load_cifar(dir.path(), CifarVariant::Cifar10, Split::Test).size(), 4);
}

TEST(Cifar, ReadsTheArchiveInPlace) {
  TempDir dir;
  write_cifar10_folder(dir / "src", 2);
  const std::string command = "tar -czf '" + (dir / "cifar-10-binary.tar.gz").string() + "' -C '" +
                              (dir / "src").string() + "' cifar-10-batches-bin";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const Dataset from_archive = load_cifar(dir.path(), CifarVariant::Cifar10, Split::Train);
  const Dataset from_folder = load_cifar(dir / "src", CifarVariant::Cifar10, Split::Train);
  EXPECT_EQ(from_archive.inputs.to_vector<std::uint8_t>(), from_folder.inputs.to_vector<std::uint8_t>());
  EXPECT_EQ(from_archive.labels.to_vector<std::int64_t>(), from_folder.labels.to_vector<std::int64_t>());

  test::write_file(dir / "broken" / "cifar-10-binary.tar.gz", Bytes{0x1f, 0x8b, 8, 0, 1, 2, 3});
  expect_error([&] { load_cifar(dir / "broken", CifarVariant::Cifar10, Split::Train); },
               {"cifar-10-binary.tar.gz", "download it again"});
}

TEST(Cifar, NamesTheMissingSplitFileOrFolder) {
  TempDir dir;
  write_cifar10_folder(dir.path(), 1);
  std::filesystem::remove(dir / "cifar-10-batches-bin" / "test_batch.bin");
  expect_error([&] { load_cifar(dir.path(), CifarVariant::Cifar10, Split::Test); },
               {"test_batch.bin", "lacks the test split", "actlab data fetch cifar10"});
  TempDir empty;
  expect_error([&] { load_cifar(empty.path(), CifarVariant::Cifar10, Split::Train); },
               {"cifar-10-batches-bin", "cifar-10-binary.tar.gz", "actlab data fetch cifar10"});
}

}  // namespace
}  // namespace actlab::data
