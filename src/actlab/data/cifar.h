// CIFAR-10 and CIFAR-100, binary version ("suitable for C programs").
//
// A batch file is a bare concatenation of fixed-size records: the label byte(s), then 3072
// pixel bytes, channel-major (1024 red, 1024 green, 1024 blue, each 32x32 row-major). CIFAR-10
// records have one label byte (3073 bytes in all); CIFAR-100 records have a coarse and a fine
// label (3074 bytes), of which actlab uses the fine one (100 classes).
//
// Data is read from the extracted folder (cifar-10-batches-bin/, cifar-100-binary/) or, when
// that is absent, in place from the upstream archive (cifar-10-binary.tar.gz,
// cifar-100-binary.tar.gz) beside it. Errors name the file, the expectation and the fix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "actlab/data/dataset.h"

namespace actlab::data {

enum class CifarVariant { Cifar10, Cifar100 };

struct CifarLayout {
  std::string folder;                     // "cifar-10-batches-bin"
  std::string archive;                    // "cifar-10-binary.tar.gz"
  std::vector<std::string> train_files;   // batch files of the training split, in order
  std::vector<std::string> test_files;
  std::string class_names_file;           // "batches.meta.txt"
  std::int64_t num_classes = 0;
  std::int64_t record_bytes = 0;          // label bytes + 3072
};
const CifarLayout& cifar_layout(CifarVariant variant);

// Parses records held in memory into images [N, 3, 32, 32] and labels. Throws when the size is
// not a whole number of records or a label is out of range. `source` names the bytes in errors.
Dataset parse_cifar(std::span<const std::uint8_t> bytes, CifarVariant variant, std::vector<std::string> class_names,
                    std::string name, std::string_view source);

// One non-empty line per class; throws unless exactly `expected` names are found.
std::vector<std::string> parse_class_names(std::string_view text, std::int64_t expected, std::string_view source);

// Reads the named members of a tar archive (gzip or any compression libarchive knows) into
// memory; members not found are absent from the result. Throws on a damaged archive.
std::map<std::string, std::vector<std::uint8_t>> read_archive_members(const std::filesystem::path& path,
                                                                      const std::vector<std::string>& wanted);

// Loads one split from `root` (e.g. <data dir>/cifar10), holding either the extracted folder or
// the archive. Throws naming both places when neither is there, or the missing member file.
Dataset load_cifar(const std::filesystem::path& root, CifarVariant variant, Split split);

}  // namespace actlab::data
