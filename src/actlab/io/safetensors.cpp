#include "actlab/io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <tuple>

#include "actlab/core/failpoint.h"

namespace actlab::io {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; so must the host be");

constexpr std::string_view kMetadataKey = "__metadata__";
// As the reference implementation: a larger header is refused before parsing it.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
// Elements of one tensor: any more could not be addressed in bytes as int64.
constexpr std::uint64_t kMaxElements = std::numeric_limits<std::int64_t>::max() / 8;

constexpr std::string_view dtype_code(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::UInt8: return "U8";
  }
  return "?";
}

std::optional<DType> dtype_from_code(std::string_view code) {
  for (DType d : {kFloat32, kFloat64, kInt64, kUInt8})
    if (dtype_code(d) == code) return d;
  return std::nullopt;
}

void put_u64_le(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64_le(std::string_view bytes) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  return v;
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin, end;
};

// Reads one tensor's header entry; `where` names the file and tensor in errors.
Entry parse_entry(const std::string& name, const nlohmann::json& info, const std::string& where) {
  ACTLAB_CHECK(info.is_object(), "{}: the header entry is not an object", where);
  for (const auto& [key, value] : info.items())
    ACTLAB_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", "{}: unexpected field '{}'", where, key);
  ACTLAB_CHECK(info.contains("dtype") && info["dtype"].is_string(), "{}: missing string field 'dtype'", where);
  const std::string code = info["dtype"].get<std::string>();
  const auto dtype = dtype_from_code(code);
  ACTLAB_CHECK(dtype.has_value(), "{}: dtype '{}' is not supported; actlab reads F32, F64, I64 and U8 "
               "(convert with tensor.float() before saving)", where, code);

  ACTLAB_CHECK(info.contains("shape") && info["shape"].is_array(), "{}: missing array field 'shape'", where);
  // The product of the non-zero dimensions must fit in int64 even for an empty tensor, so shape
  // arithmetic elsewhere cannot overflow.
  Shape shape;
  std::uint64_t product = 1;
  bool empty = false;
  for (const auto& dim : info["shape"]) {
    ACTLAB_CHECK(dim.is_number_unsigned(), "{}: shape {} holds something other than a non-negative integer", where,
                 info["shape"].dump());
    const std::uint64_t d = dim.get<std::uint64_t>();
    empty = empty || d == 0;
    if (d != 0) {
      ACTLAB_CHECK(product <= kMaxElements / d, "{}: shape {} is too large", where, info["shape"].dump());
      product *= d;
    }
    shape.push_back(static_cast<std::int64_t>(d));
  }
  const std::uint64_t numel = empty ? 0 : product;

  const auto& offsets = info.contains("data_offsets") ? info["data_offsets"] : nlohmann::json();
  ACTLAB_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                   offsets[1].is_number_unsigned(),
               "{}: 'data_offsets' must be [begin, end] with non-negative integers", where);
  const std::uint64_t begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
  ACTLAB_CHECK(begin <= end, "{}: data_offsets [{}, {}] end before they begin", where, begin, end);
  ACTLAB_CHECK(end - begin == numel * element_size(*dtype),
               "{}: data_offsets [{}, {}] hold {} bytes but {} of shape {} needs {}", where, begin, end, end - begin, code,
               info["shape"].dump(), numel * element_size(*dtype));
  return {name, *dtype, std::move(shape), begin, end};
}

}  // namespace

std::string encode_safetensors(const NamedTensors& tensors, const Metadata& metadata) {
  // Largest elements first keeps every tensor aligned to its element size.
  std::vector<std::size_t> order(tensors.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return element_size(tensors[a].second.dtype()) > element_size(tensors[b].second.dtype());
  });

  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::vector<Tensor> contiguous;
  std::uint64_t offset = 0;
  for (std::size_t i : order) {
    const auto& [name, tensor] = tensors[i];
    ACTLAB_CHECK(!name.empty() && name != kMetadataKey, "save_safetensors: invalid tensor name '{}'", name);
    ACTLAB_CHECK(!header.contains(name), "save_safetensors: the name '{}' appears twice", name);
    ACTLAB_CHECK(tensor.defined(), "save_safetensors: tensor '{}' is undefined", name);
    const std::uint64_t bytes = static_cast<std::uint64_t>(tensor.numel()) * element_size(tensor.dtype());
    header[name] = {{"dtype", dtype_code(tensor.dtype())}, {"shape", tensor.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(tensor.contiguous());
  }
  std::string json;
  try {
    json = header.dump();
  } catch (const nlohmann::json::exception& e) {
    fail("save_safetensors: a name or metadata value is not valid UTF-8 ({})", e.what());
  }
  json.append((8 - json.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + json.size() + offset);
  put_u64_le(out, json.size());
  out += json;
  for (const Tensor& t : contiguous)
    out.append(static_cast<const char*>(t.raw_data()), static_cast<std::size_t>(t.numel()) * element_size(t.dtype()));
  return out;
}

SafetensorsContents decode_safetensors(std::string_view bytes, std::string_view origin) {
  ACTLAB_CHECK(bytes.size() >= 8, "{}: {} bytes is too short for a safetensors file (the header length alone is 8 bytes)",
               origin, bytes.size());
  const std::uint64_t header_size = get_u64_le(bytes);
  ACTLAB_CHECK(header_size <= bytes.size() - 8,
               "{}: the header length {} runs past the end of the file ({} bytes); the file is truncated or not a "
               "safetensors file", origin, header_size, bytes.size());
  ACTLAB_CHECK(header_size <= kMaxHeaderBytes, "{}: the header length {} exceeds the limit of {} bytes", origin,
               header_size, kMaxHeaderBytes);
  const std::string_view header_text = bytes.substr(8, header_size);
  ACTLAB_CHECK(!header_text.empty() && header_text.front() == '{', "{}: the header does not start with '{{'", origin);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: the header is not valid JSON ({})", origin, e.what());
  }
  ACTLAB_CHECK(header.is_object(), "{}: the header is not a JSON object", origin);

  SafetensorsContents contents;
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == kMetadataKey) {
      ACTLAB_CHECK(info.is_object(), "{}: '__metadata__' is not an object", origin);
      for (const auto& [key, value] : info.items()) {
        ACTLAB_CHECK(value.is_string(), "{}: metadata '{}' is not a string", origin, key);
        contents.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    ACTLAB_CHECK(!name.empty(), "{}: a tensor has an empty name", origin);
    entries.push_back(parse_entry(name, info, fmt::format("{}: tensor '{}'", origin, name)));
  }

  // The byte ranges, sorted, must tile the data region exactly.
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  const std::uint64_t data_size = bytes.size() - 8 - header_size;
  std::uint64_t expected = 0;
  for (const Entry& e : entries) {
    ACTLAB_CHECK(e.begin == expected, "{}: tensor '{}' starts at byte {} of the data but {}", origin, e.name, e.begin,
                 e.begin < expected ? fmt::format("overlaps the previous tensor, which ends at {}", expected)
                                    : fmt::format("bytes {}..{} belong to no tensor", expected, e.begin));
    ACTLAB_CHECK(e.end <= data_size, "{}: tensor '{}' ends at byte {} but the data region has {} bytes; the file is "
                 "truncated", origin, e.name, e.end, data_size);
    expected = e.end;
  }
  ACTLAB_CHECK(expected == data_size, "{}: the data region has {} bytes but the tensors cover {}", origin, data_size,
               expected);

  const char* data = bytes.data() + 8 + header_size;
  for (Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (e.end > e.begin) std::memcpy(t.raw_data(), data + e.begin, e.end - e.begin);
    contents.tensors.emplace_back(std::move(e.name), std::move(t));
  }
  return contents;
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ACTLAB_CHECK(fd >= 0, "cannot write {}: {}", temporary, std::strerror(errno));
  // A failed write (a full disk) leaves no partial file behind.
  const auto discard = [&](const std::string& why) {
    ::unlink(temporary.c_str());
    fail("cannot write {}: {}", temporary, why);
  };
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      discard(std::strerror(error));
    }
    written += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_error = errno;
  if (::close(fd) != 0 || !synced) discard(std::strerror(synced ? errno : sync_error));
  std::error_code error;
  failpoint("atomic-write.before-rename");
  std::filesystem::rename(temporary, path, error);
  if (error) ::unlink(temporary.c_str());
  ACTLAB_CHECK(!error, "cannot rename {} to {}: {}", temporary, path, error.message());
  // The rename itself is durable once the folder is synced.
  const std::string folder = std::filesystem::path(path).parent_path().string();
  const int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  write_file_atomically(path, encode_safetensors(tensors, metadata));
}

SafetensorsContents load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ACTLAB_CHECK(in.good(), "{}: cannot open ({})", path, std::strerror(errno));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ACTLAB_CHECK(!in.bad(), "{}: read error", path);
  return decode_safetensors(bytes, path);
}

}  // namespace actlab::io
