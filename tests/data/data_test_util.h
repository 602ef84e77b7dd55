// Helpers for the data tests: temporary folders and small IDX / CIFAR / gzip files.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "actlab/core/error.h"

namespace actlab::test {

// A fresh directory under the system temp dir, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "actlab-data-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

using Bytes = std::vector<std::uint8_t>;

inline void write_file(const std::filesystem::path& path, const Bytes& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

inline Bytes gzip(const Bytes& raw) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&zs, raw.size()) + 32);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// An unsigned-byte IDX file of the given shape whose elements are `values` (cycled).
inline Bytes idx_bytes(const std::vector<std::uint32_t>& shape, const Bytes& values) {
  Bytes out{0, 0, 0x08, static_cast<std::uint8_t>(shape.size())};
  std::size_t count = 1;
  for (std::uint32_t d : shape) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(d >> shift));
    count *= d;
  }
  for (std::size_t i = 0; i < count; ++i) out.push_back(values[i % values.size()]);
  return out;
}

// CIFAR-10 records: label i % 10, pixels (i + k) % 256.
inline Bytes cifar10_records(int count) {
  Bytes out;
  for (int i = 0; i < count; ++i) {
    out.push_back(static_cast<std::uint8_t>(i % 10));
    for (int k = 0; k < 3072; ++k) out.push_back(static_cast<std::uint8_t>((i + k) % 256));
  }
  return out;
}

inline Bytes text_bytes(const std::string& text) { return Bytes(text.begin(), text.end()); }

inline const char* real_data_dir() {
  const char* dir = std::getenv("ACTLAB_DATA");
  return dir && *dir ? dir : nullptr;
}

// Runs fn, expecting an Error whose message contains every one of `parts`.
template <typename Fn>
void expect_error(Fn&& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    for (const std::string& part : parts) EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
        << "message lacks '" << part << "': " << e.what();
  }
}

}  // namespace actlab::test
