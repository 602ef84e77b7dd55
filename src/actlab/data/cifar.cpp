#include "actlab/data/cifar.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "actlab/data/idx.h"

namespace actlab::data {
namespace {
constexpr std::int64_t kPixels = 3 * 32 * 32;
}  // namespace

std::map<std::string, std::vector<std::uint8_t>> read_archive_members(const std::filesystem::path& path,
                                                                      const std::vector<std::string>& wanted) {
  ACTLAB_CHECK(std::filesystem::is_regular_file(path), "{}: is not a regular file (a directory?); remove it and put "
               "the downloaded archive there, or run `actlab data fetch`", path.string());
  std::unique_ptr<archive, decltype(&archive_read_free)> ar(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(ar.get());
  archive_read_support_format_tar(ar.get());
  ACTLAB_CHECK(archive_read_open_filename(ar.get(), path.c_str(), 1 << 20) == ARCHIVE_OK,
               "{}: cannot open the archive ({}); the file is damaged: download it again", path.string(), archive_error_string(ar.get()));
  std::map<std::string, std::vector<std::uint8_t>> members;
  archive_entry* entry = nullptr;
  int rc = ARCHIVE_OK;
  while ((rc = archive_read_next_header(ar.get(), &entry)) == ARCHIVE_OK) {
    const std::string name = archive_entry_pathname(entry);
    if (std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
    std::vector<std::uint8_t>& bytes = members[name];
    std::uint8_t chunk[1 << 16];
    la_ssize_t got = 0;
    while ((got = archive_read_data(ar.get(), chunk, sizeof chunk)) > 0) bytes.insert(bytes.end(), chunk, chunk + got);
    ACTLAB_CHECK(got == 0, "{}: cannot read member {} ({}); the archive is damaged: download it again", path.string(),
                 name, archive_error_string(ar.get()));
  }
  ACTLAB_CHECK(rc == ARCHIVE_EOF, "{}: not a readable tar archive ({}); download it again", path.string(),
               archive_error_string(ar.get()));
  return members;
}

const CifarLayout& cifar_layout(CifarVariant variant) {
  static const CifarLayout cifar10{"cifar-10-batches-bin",
                                   "cifar-10-binary.tar.gz",
                                   {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                                    "data_batch_5.bin"},
                                   {"test_batch.bin"},
                                   "batches.meta.txt",
                                   10,
                                   1 + kPixels};
  static const CifarLayout cifar100{
      "cifar-100-binary", "cifar-100-binary.tar.gz", {"train.bin"}, {"test.bin"}, "fine_label_names.txt", 100,
      2 + kPixels};
  return variant == CifarVariant::Cifar10 ? cifar10 : cifar100;
}

Dataset parse_cifar(std::span<const std::uint8_t> bytes, CifarVariant variant, std::vector<std::string> class_names,
                    std::string name, std::string_view source) {
  const CifarLayout& layout = cifar_layout(variant);
  const auto size = static_cast<std::int64_t>(bytes.size());
  ACTLAB_CHECK(size % layout.record_bytes == 0,
               "{}: expected a whole number of {}-byte records, found {} bytes ({} records and {} bytes over); the "
               "file is truncated or not a CIFAR batch: download it again",
               source, layout.record_bytes, size, size / layout.record_bytes, size % layout.record_bytes);
  ACTLAB_CHECK(static_cast<std::int64_t>(class_names.size()) == layout.num_classes,
               "parse_cifar: {} class names given for a {}-class set", class_names.size(), layout.num_classes);
  const std::int64_t n = size / layout.record_bytes;
  Tensor images = Tensor::empty({n, 3, 32, 32}, kUInt8);
  Tensor labels = Tensor::empty({n}, kInt64);
  std::uint8_t* pixels = images.data<std::uint8_t>();
  std::int64_t* label = labels.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint8_t* record = bytes.data() + i * layout.record_bytes;
    const std::int64_t value = record[layout.record_bytes - kPixels - 1];  // CIFAR-100: the fine label
    ACTLAB_CHECK(value < layout.num_classes,
                 "{}: record {} (byte offset {}) has label {}, expected 0..{}; the file is corrupt: download it again",
                 source, i, i * layout.record_bytes, value, layout.num_classes - 1);
    label[i] = value;
    std::memcpy(pixels + i * kPixels, record + layout.record_bytes - kPixels, kPixels);
  }
  return {std::move(name), images, labels, std::move(class_names)};
}

std::vector<std::string> parse_class_names(std::string_view text, std::int64_t expected, std::string_view source) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (!line.empty()) names.emplace_back(line);
    start = end + 1;
  }
  ACTLAB_CHECK(static_cast<std::int64_t>(names.size()) == expected,
               "{}: expected {} class names (one per line), found {}; download the dataset again", source, expected,
               names.size());
  return names;
}

Dataset load_cifar(const std::filesystem::path& root, CifarVariant variant, Split split) {
  const CifarLayout& layout = cifar_layout(variant);
  const std::vector<std::string>& batch_files = split == Split::Train ? layout.train_files : layout.test_files;
  std::vector<std::string> wanted = batch_files;
  wanted.push_back(layout.class_names_file);

  std::map<std::string, std::vector<std::uint8_t>> contents;
  std::filesystem::path where = root / layout.folder;
  if (std::filesystem::is_directory(where)) {
    for (const std::string& file : wanted) {
      const std::filesystem::path path = where / file;
      ACTLAB_CHECK(std::filesystem::exists(path),
                   "{}: missing; the folder {} lacks the {} split's file {}. Put the complete upstream folder there, "
                   "or run `actlab data fetch {}`",
                   path.string(), where.string(), split_name(split), file,
                   variant == CifarVariant::Cifar10 ? "cifar10" : "cifar100");
      contents[file] = read_file_bytes(path);
    }
  } else {
    where = root / layout.archive;
    ACTLAB_CHECK(std::filesystem::exists(where),
                 "CIFAR data not found: looked for the folder {} and the archive {}. Run `actlab data fetch {}`, or "
                 "extract the upstream archive into {}",
                 (root / layout.folder).string(), where.string(),
                 variant == CifarVariant::Cifar10 ? "cifar10" : "cifar100", root.string());
    std::vector<std::string> members;
    for (const std::string& file : wanted) members.push_back(layout.folder + "/" + file);
    auto found = read_archive_members(where, members);
    for (const std::string& file : wanted) {
      auto it = found.find(layout.folder + "/" + file);
      ACTLAB_CHECK(it != found.end(), "{}: the archive lacks the member {}/{}; download it again", where.string(),
                   layout.folder, file);
      contents[file] = std::move(it->second);
    }
  }

  const std::vector<std::uint8_t>& meta = contents[layout.class_names_file];
  std::vector<std::string> class_names =
      parse_class_names({reinterpret_cast<const char*>(meta.data()), meta.size()}, layout.num_classes,
                        (where / layout.class_names_file).string());
  std::vector<Tensor> images, labels;
  for (const std::string& file : batch_files) {
    Dataset batch = parse_cifar(contents[file], variant, class_names, {}, (where / file).string());
    images.push_back(batch.inputs);
    labels.push_back(batch.labels);
    contents.erase(file);  // keep peak memory near one copy of the split
  }
  const std::string name = std::string(variant == CifarVariant::Cifar10 ? "cifar10/" : "cifar100/") +
                           std::string(split_name(split));
  if (images.size() == 1) return {name, images[0], labels[0], std::move(class_names)};
  return {name, cat(images, 0), cat(labels, 0), std::move(class_names)};
}

}  // namespace actlab::data
