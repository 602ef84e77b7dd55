// IDX files: the format of MNIST, Fashion-MNIST and KMNIST.
//
// An IDX file is a big-endian header (two zero bytes, a type code, the number of dimensions,
// then one uint32 size per dimension) followed by the elements in row-major order. actlab reads
// unsigned-byte files (type 0x08), raw or gzip-compressed (detected from the content, not the
// file name).
//
// Every reader validates the header, the sizes against the bytes present, and the gzip stream
// (including its CRC), and throws actlab::Error naming the file, what was expected, what was
// found and how to fix it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "actlab/core/tensor.h"
#include "actlab/data/dataset.h"

namespace actlab::data {

// Reads a whole file into memory. Throws Error naming the file when it is missing or unreadable.
std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path);

// Parses an IDX file held in memory (raw or gzip) into a uint8 tensor shaped like its header.
// `source` names the bytes in error messages. Never reads outside `bytes`; allocates at most
// what the bytes can decompress to.
Tensor parse_idx(std::span<const std::uint8_t> bytes, std::string_view source);

// Reads and parses an IDX file.
Tensor read_idx(const std::filesystem::path& path);

// Pairs an images file ([N, H, W]) with a labels file ([N]): returns images as [N, 1, H, W] and
// int64 labels. Throws when the ranks or counts disagree or a label is >= class_names.size().
Dataset make_idx_dataset(const Tensor& images, const Tensor& labels, std::vector<std::string> class_names,
                         std::string name, std::string_view images_source, std::string_view labels_source);

Dataset load_idx_dataset(const std::filesystem::path& images_path, const std::filesystem::path& labels_path,
                         std::vector<std::string> class_names, std::string name);

}  // namespace actlab::data
