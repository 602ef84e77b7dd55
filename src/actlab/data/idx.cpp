#include "actlab/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>

namespace actlab::data {
namespace {

constexpr std::string_view kRedownload =
    "the file is damaged, incomplete or not an IDX file: delete it and download it again "
    "(`actlab data fetch NAME`)";

// Sequential reader over raw or gzip bytes in memory.
class ByteStream {
 public:
  ByteStream(std::span<const std::uint8_t> bytes, std::string_view source) : bytes_(bytes), source_(source) {
    gzip_ = bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
    if (!gzip_) return;
    ACTLAB_CHECK(inflateInit2(&zs_, 15 + 16) == Z_OK, "{}: cannot initialise zlib", source_);
    zs_.next_in = const_cast<Bytef*>(bytes.data());  // zlib's API is not const-correct
    zs_.avail_in = static_cast<uInt>(std::min<std::size_t>(bytes.size(), UINT32_MAX));
  }
  ~ByteStream() {
    if (gzip_) inflateEnd(&zs_);
  }
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  bool gzip() const { return gzip_; }

  // The most bytes read() can still deliver: exact for raw bytes, deflate's 1032:1 bound for gzip.
  std::uint64_t max_remaining() const {
    const std::uint64_t left = bytes_.size() - (gzip_ ? consumed_input() : position_);
    return gzip_ ? left * 1032 + 64 : left;
  }

  // Reads up to n bytes into dst; fewer only at the end of the data.
  std::size_t read(std::uint8_t* dst, std::size_t n) {
    if (!gzip_) {
      const std::size_t count = std::min(n, bytes_.size() - position_);
      if (count) std::memcpy(dst, bytes_.data() + position_, count);
      position_ += count;
      return count;
    }
    std::size_t produced = 0;
    while (produced < n && !ended_) {
      zs_.next_out = dst + produced;
      zs_.avail_out = static_cast<uInt>(std::min<std::size_t>(n - produced, UINT32_MAX));
      const uInt before = zs_.avail_out;
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      produced += before - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        // Concatenated gzip members form one stream (as gunzip reads them).
        if (consumed_input() < bytes_.size() && inflateReset(&zs_) == Z_OK) continue;
        ended_ = true;
      } else if (rc == Z_BUF_ERROR || (rc == Z_OK && zs_.avail_in == 0 && zs_.avail_out > 0)) {
        fail("{}: the gzip stream ends early after {} compressed bytes; {}", source_, bytes_.size(), kRedownload);
      } else if (rc != Z_OK) {
        fail("{}: corrupt gzip data ({}); {}", source_, zs_.msg ? zs_.msg : "zlib error", kRedownload);
      }
    }
    return produced;
  }

  // Requires the data to end here (for gzip: the stream's trailer and CRC check out).
  void expect_end(std::string_view what) {
    std::uint8_t extra[64];
    std::uint64_t count = 0;
    while (std::size_t got = read(extra, sizeof extra)) count += got;
    ACTLAB_CHECK(count == 0, "{}: {} extra bytes after {}; {}", source_, count, what, kRedownload);
  }

 private:
  std::size_t consumed_input() const { return static_cast<std::size_t>(zs_.next_in - bytes_.data()); }

  std::span<const std::uint8_t> bytes_;
  std::string source_;
  bool gzip_ = false;
  bool ended_ = false;
  std::size_t position_ = 0;
  z_stream zs_{};
};

std::uint32_t big_endian(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  ACTLAB_CHECK(!std::filesystem::exists(status) || std::filesystem::is_regular_file(status),
               "{}: is a {}, not a data file; remove it and put the file there (`actlab data fetch NAME`)",
               path.string(), std::filesystem::is_directory(status) ? "directory" : "special file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  ACTLAB_CHECK(in, "{}: cannot open the file ({}); check the path or the data dir (--data-dir / ACTLAB_DATA)",
               path.string(), std::filesystem::exists(status) ? "permission denied?" : "no such file");
  const std::streamoff end = in.tellg();
  ACTLAB_CHECK(end >= 0, "{}: cannot tell the file's size; is it a regular file?", path.string());
  const auto size = static_cast<std::size_t>(end);
  std::vector<std::uint8_t> bytes(size);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  ACTLAB_CHECK(in.gcount() == static_cast<std::streamsize>(size), "{}: read {} of {} bytes", path.string(),
               in.gcount(), size);
  return bytes;
}

Tensor parse_idx(std::span<const std::uint8_t> bytes, std::string_view source) {
  ByteStream stream(bytes, source);
  std::uint8_t magic[4];
  const std::size_t got = stream.read(magic, 4);
  ACTLAB_CHECK(got == 4, "{}: expected a 4-byte IDX magic number, found only {} bytes; {}", source, got, kRedownload);
  ACTLAB_CHECK(magic[0] == 0 && magic[1] == 0 && magic[3] >= 1 && magic[3] <= 4,
               "{}: expected an IDX magic number 0x000008NN (NN = 1..4 dimensions), found 0x{:02x}{:02x}{:02x}{:02x}; {}",
               source, magic[0], magic[1], magic[2], magic[3], kRedownload);
  ACTLAB_CHECK(magic[2] == 0x08,
               "{}: expected unsigned-byte IDX data (type code 0x08), found type code 0x{:02x}; actlab reads only "
               "uint8 IDX files such as MNIST's",
               source, magic[2]);
  const int rank = magic[3];
  std::uint8_t header[16];
  const std::size_t header_got = stream.read(header, 4 * rank);
  ACTLAB_CHECK(header_got == 4u * rank, "{}: expected {} header bytes of dimension sizes, found {}; {}", source,
               4 * rank, header_got, kRedownload);
  Shape shape;
  std::uint64_t total = 1;
  std::uint64_t extent = 1;  // product of the non-zero sizes: bounds the strides even when total is 0
  constexpr std::uint64_t kMaxExtent = std::uint64_t{1} << 40;
  for (int d = 0; d < rank; ++d) {
    shape.push_back(big_endian(header + 4 * d));
    const std::uint64_t size = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(shape.back()));
    // Checked before multiplying: a product past 2^64 would wrap and pass.
    ACTLAB_CHECK(extent <= kMaxExtent / size, "{}: the header declares shape {}, too large for any dataset; {}",
                 source, shape_str(shape), kRedownload);
    extent *= size;
    total *= static_cast<std::uint64_t>(shape.back());  // at most extent, so below 2^40
    ACTLAB_CHECK(total <= stream.max_remaining(),
                 "{}: the header declares shape {} ({} bytes or more), but the file holds at most {} bytes of data; {}",
                 source, shape_str(shape), total, stream.max_remaining(), kRedownload);
  }
  Tensor out = Tensor::empty(shape, kUInt8);
  const std::size_t read = stream.read(out.data<std::uint8_t>(), total);
  ACTLAB_CHECK(read == total, "{}: truncated: expected {} bytes of data for shape {}, found {}; {}", source, total,
               shape_str(shape), read, kRedownload);
  stream.expect_end(fmt::format("the {} data bytes its header declares", total));
  return out;
}

Tensor read_idx(const std::filesystem::path& path) { return parse_idx(read_file_bytes(path), path.string()); }

Dataset make_idx_dataset(const Tensor& images, const Tensor& labels, std::vector<std::string> class_names,
                         std::string name, std::string_view images_source, std::string_view labels_source) {
  ACTLAB_CHECK(images.dim() == 3, "{}: expected an images file with 3 dimensions [N, rows, cols], found shape {}",
               images_source, shape_str(images.shape()));
  ACTLAB_CHECK(labels.dim() == 1, "{}: expected a labels file with 1 dimension [N], found shape {}", labels_source,
               shape_str(labels.shape()));
  ACTLAB_CHECK(images.size(0) == labels.size(0),
               "{} holds {} images but {} holds {} labels; the two files must come from the same split", images_source,
               images.size(0), labels_source, labels.size(0));
  const std::int64_t n = labels.size(0);
  Tensor int_labels = Tensor::empty({n}, kInt64);
  const std::uint8_t* src = labels.data<std::uint8_t>();
  std::int64_t* dst = int_labels.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    ACTLAB_CHECK(src[i] < class_names.size(), "{}: label {} at index {} is outside [0, {}); {}", labels_source,
                 src[i], i, class_names.size(), kRedownload);
    dst[i] = src[i];
  }
  return {std::move(name), images.view({n, 1, images.size(1), images.size(2)}), int_labels, std::move(class_names)};
}

Dataset load_idx_dataset(const std::filesystem::path& images_path, const std::filesystem::path& labels_path,
                         std::vector<std::string> class_names, std::string name) {
  return make_idx_dataset(read_idx(images_path), read_idx(labels_path), std::move(class_names), std::move(name),
                          images_path.string(), labels_path.string());
}

}  // namespace actlab::data
