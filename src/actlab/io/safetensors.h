// safetensors files: named tensors and a string-to-string metadata map, in the format of
// Hugging Face's `safetensors` package, so PyTorch users open actlab weights with
// `safetensors.torch.load_file` and actlab loads theirs.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON header (padded with spaces so
// the data starts at a multiple of 8), then the raw little-endian tensor data. The header maps
// each name to {"dtype": "F32" | "F64" | "I64" | "U8", "shape": [...], "data_offsets": [begin,
// end]} (offsets relative to the data region) and may hold "__metadata__": {string: string}.
// Tensors are written largest element size first, so each is aligned to its element size.
//
// Reading trusts nothing: the header length must fit the file, the header must be a JSON
// object, every dtype and shape must be known and consistent with its byte range, and the byte
// ranges must not overlap and must cover the data region exactly. Any violation throws Error
// naming the file, the tensor and what was wrong. Other dtypes (BF16, F16, I32, ...) are rejected
// with the list of supported ones.
//
// Writing is atomic: a temporary file beside the target is written, fsynced and renamed, so a
// crash leaves either the old file or the new one, never a torn one; a failed write (a full disk)
// removes the temporary file before it throws.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actlab/core/tensor.h"

namespace actlab::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using Metadata = std::map<std::string, std::string>;

struct SafetensorsContents {
  NamedTensors tensors;  // in the order of their data in the file
  Metadata metadata;
};

// The file's bytes for `tensors` (any strides; names unique and non-empty) and `metadata`.
// Throws Error on a duplicate or empty name or the reserved name "__metadata__".
std::string encode_safetensors(const NamedTensors& tensors, const Metadata& metadata = {});

// Parses and validates a whole file held in memory; `origin` names it in errors.
SafetensorsContents decode_safetensors(std::string_view bytes, std::string_view origin = "safetensors data");

// Writes `path` atomically. Throws Error when it cannot be written.
void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});

// Reads and validates `path`. Throws Error when it is missing or malformed.
SafetensorsContents load_safetensors(const std::string& path);

// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace actlab::io
