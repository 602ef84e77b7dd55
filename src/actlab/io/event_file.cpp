#include "actlab/io/event_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstring>

#include "actlab/core/error.h"

namespace actlab::io {
namespace {

constexpr std::array<std::uint32_t, 256> kCrcTable = [] {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    table[i] = c;
  }
  return table;
}();

void put_little_endian(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

// The proto3 wire format: each field is a key (field number and wire type) and its payload.
enum class Wire : std::uint8_t { Varint = 0, Fixed64 = 1, Bytes = 2, Fixed32 = 5 };

void put_varint(std::string& out, std::uint64_t value) {
  for (; value >= 0x80; value >>= 7) out += static_cast<char>((value & 0x7f) | 0x80);
  out += static_cast<char>(value);
}

void put_key(std::string& out, int field, Wire wire) {
  put_varint(out, (static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(wire));
}

void put_integer(std::string& out, int field, std::int64_t value) {
  put_key(out, field, Wire::Varint);
  put_varint(out, static_cast<std::uint64_t>(value));  // negative int64: ten bytes, as protobuf does
}

void put_double(std::string& out, int field, double value) {
  put_key(out, field, Wire::Fixed64);
  put_little_endian(out, std::bit_cast<std::uint64_t>(value), 8);
}

void put_float(std::string& out, int field, float value) {
  put_key(out, field, Wire::Fixed32);
  put_little_endian(out, std::bit_cast<std::uint32_t>(value), 4);
}

void put_bytes(std::string& out, int field, std::string_view bytes) {
  put_key(out, field, Wire::Bytes);
  put_varint(out, bytes.size());
  out += bytes;
}

void put_packed_doubles(std::string& out, int field, const std::vector<double>& values) {
  std::string packed;
  for (double v : values) put_little_endian(packed, std::bit_cast<std::uint64_t>(v), 8);
  put_bytes(out, field, packed);
}

// Event fields.
constexpr int kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5, kSessionLog = 7;

std::string event_head(double wall_time, std::int64_t step) {
  std::string event;
  put_double(event, kWallTime, wall_time);
  put_integer(event, kStep, step);
  return event;
}

}  // namespace

std::uint32_t crc32c(std::string_view data) {
  std::uint32_t c = 0xffffffffu;
  for (const char byte : data) c = kCrcTable[(c ^ static_cast<unsigned char>(byte)) & 0xff] ^ (c >> 8);
  return ~c;
}

std::uint32_t mask_crc32c(std::uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

std::string tfrecord(std::string_view data) {
  std::string record;
  put_little_endian(record, data.size(), 8);
  put_little_endian(record, mask_crc32c(crc32c(record)), 4);
  record += data;
  put_little_endian(record, mask_crc32c(crc32c(data)), 4);
  return record;
}

Summary& Summary::scalar(std::string_view tag, double value) {
  std::string v;
  put_bytes(v, 1, tag);
  put_float(v, 2, static_cast<float>(value));
  put_bytes(values_, 1, v);
  return *this;
}

Summary& Summary::histogram(std::string_view tag, const Histogram& h) {
  std::string histo;
  put_double(histo, 1, h.min);
  put_double(histo, 2, h.max);
  put_double(histo, 3, h.num);
  put_double(histo, 4, h.sum);
  put_double(histo, 5, h.sum_squares);
  put_packed_doubles(histo, 6, h.bucket_limit);
  put_packed_doubles(histo, 7, h.bucket);
  std::string v;
  put_bytes(v, 1, tag);
  put_bytes(v, 5, histo);
  put_bytes(values_, 1, v);
  return *this;
}

Summary& Summary::text(std::string_view tag, std::string_view markdown) {
  constexpr std::int64_t kDtString = 7;
  std::string plugin_data, metadata, tensor, v;
  put_bytes(plugin_data, 1, "text");
  put_bytes(metadata, 1, plugin_data);
  put_integer(tensor, 1, kDtString);
  put_bytes(tensor, 2, "");  // no dimensions: a scalar
  put_bytes(tensor, 8, markdown);
  put_bytes(v, 1, tag);
  put_bytes(v, 9, metadata);
  put_bytes(v, 8, tensor);
  put_bytes(values_, 1, v);
  return *this;
}

std::string Summary::event(double wall_time, std::int64_t step) const {
  std::string event = event_head(wall_time, step);
  put_bytes(event, kSummary, values_);
  return event;
}

std::string file_version_event(double wall_time) {
  std::string event = event_head(wall_time, 0);
  put_bytes(event, kFileVersion, "brain.Event:2");
  return event;
}

std::string session_start_event(double wall_time, std::int64_t step) {
  constexpr std::int64_t kStart = 1;
  std::string session_log;
  put_integer(session_log, 1, kStart);
  std::string event = event_head(wall_time, step);
  put_bytes(event, kSessionLog, session_log);
  return event;
}

EventFile::EventFile(std::filesystem::path path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ACTLAB_CHECK(fd_ >= 0, "cannot open the TensorBoard event file {}: {}", path_.string(), std::strerror(errno));
  struct stat info {};
  if (::fstat(fd_, &info) == 0 && S_ISREG(info.st_mode)) bytes_ = static_cast<std::uint64_t>(info.st_size);
}

EventFile::~EventFile() { ::close(fd_); }

void EventFile::write(std::string_view event) {
  const std::string record = tfrecord(event);
  std::size_t written = 0;
  while (written < record.size()) {
    const ssize_t n = ::write(fd_, record.data() + written, record.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ACTLAB_CHECK(n >= 0, "cannot write the TensorBoard event file {}: {}", path_.string(), std::strerror(errno));
    written += static_cast<std::size_t>(n);
  }
  bytes_ += record.size();
}

}  // namespace actlab::io
