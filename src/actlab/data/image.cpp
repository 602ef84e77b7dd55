#include "actlab/data/image.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "actlab/core/error.h"
#include "actlab/data/idx.h"

namespace actlab::data {
namespace {

constexpr std::uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

// libpng's simplified API: one struct per image, freed on every path out.
class PngImage {
 public:
  PngImage() {
    std::memset(&image_, 0, sizeof image_);
    image_.version = PNG_IMAGE_VERSION;
  }
  ~PngImage() { png_image_free(&image_); }
  PngImage(const PngImage&) = delete;
  PngImage& operator=(const PngImage&) = delete;

  png_image* get() { return &image_; }
  png_image* operator->() { return &image_; }

 private:
  png_image image_;
};

png_uint_32 png_format(std::int64_t channels) { return channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB; }

// The image functions take uint8 [C, H, W]; returns it contiguous.
Tensor checked_image(const Tensor& image, std::string_view function) {
  ACTLAB_CHECK(image.dtype() == kUInt8 && image.dim() == 3, "{}: expected uint8 [C, H, W], got {} {}", function,
               dtype_name(image.dtype()), shape_str(image.shape()));
  return image.contiguous();
}

}  // namespace

bool is_png(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= sizeof kPngSignature && std::equal(std::begin(kPngSignature), std::end(kPngSignature), bytes.begin());
}

Tensor decode_png(std::span<const std::uint8_t> bytes, std::string_view source, std::int64_t channels) {
  ACTLAB_CHECK(channels == 1 || channels == 3, "decode_png: channels must be 1 (gray) or 3 (RGB), got {}", channels);
  ACTLAB_CHECK(is_png(bytes), "{}: not a PNG file (its first bytes are not the PNG signature); convert the image to PNG",
               source);
  PngImage image;
  if (!png_image_begin_read_from_memory(image.get(), bytes.data(), bytes.size()))
    fail("{}: cannot read the PNG header: {}; the file is damaged, re-export it", source, image->message);
  // Bounds a corrupt header's claim before allocating for it.
  constexpr png_uint_32 kMaxSide = 1 << 14;
  ACTLAB_CHECK(image->width <= kMaxSide && image->height <= kMaxSide,
               "{}: the PNG claims {}x{} pixels, more than the {} per side actlab accepts; scale the image down", source,
               image->width, image->height, kMaxSide);
  image->format = png_format(channels);
  const auto height = static_cast<std::int64_t>(image->height);
  const auto width = static_cast<std::int64_t>(image->width);
  std::vector<std::uint8_t> pixels(PNG_IMAGE_SIZE(*image.get()));
  if (!png_image_finish_read(image.get(), nullptr, pixels.data(), 0, nullptr))
    fail("{}: cannot decode the PNG: {}; the file is damaged, re-export it", source, image->message);

  // libpng writes interleaved rows (HWC); models take planes (CHW).
  return from_vector(pixels, {height, width, channels}).permute({2, 0, 1}).contiguous();
}

std::vector<std::uint8_t> encode_png(const Tensor& image) {
  const Tensor chw = checked_image(image, "encode_png");
  ACTLAB_CHECK(chw.size(0) == 1 || chw.size(0) == 3, "encode_png: expected 1 or 3 channels, got shape {}",
               shape_str(chw.shape()));
  const Tensor interleaved = chw.permute({1, 2, 0}).contiguous();  // libpng takes HWC rows

  PngImage png;
  png->width = static_cast<png_uint_32>(chw.size(2));
  png->height = static_cast<png_uint_32>(chw.size(1));
  png->format = png_format(chw.size(0));
  png_alloc_size_t size = 0;
  if (!png_image_write_get_memory_size(*png.get(), size, 0, interleaved.data<std::uint8_t>(), 0, nullptr))
    fail("encode_png: {}", png->message);
  std::vector<std::uint8_t> bytes(size);
  if (!png_image_write_to_memory(png.get(), bytes.data(), &size, 0, interleaved.data<std::uint8_t>(), 0, nullptr))
    fail("encode_png: {}", png->message);
  bytes.resize(size);
  return bytes;
}

Tensor resize_area(const Tensor& image, std::int64_t height, std::int64_t width) {
  const Tensor src = checked_image(image, "resize_area");
  ACTLAB_CHECK(height > 0 && width > 0, "resize_area: target size must be positive, got {}x{}", height, width);
  const std::int64_t channels = src.size(0), in_h = src.size(1), in_w = src.size(2);
  ACTLAB_CHECK(in_h > 0 && in_w > 0, "resize_area: the image is empty ({})", shape_str(src.shape()));
  const double scale_y = static_cast<double>(in_h) / static_cast<double>(height);
  const double scale_x = static_cast<double>(in_w) / static_cast<double>(width);

  // Weight of input index i in the output cell [begin, end) along one axis.
  const auto coverage = [](std::int64_t i, double begin, double end) {
    return std::max(0.0, std::min(end, static_cast<double>(i + 1)) - std::max(begin, static_cast<double>(i)));
  };
  Tensor out = Tensor::empty({channels, height, width}, kUInt8);
  const std::uint8_t* in = src.data<std::uint8_t>();
  std::uint8_t* dst = out.data<std::uint8_t>();
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t y = 0; y < height; ++y) {
      const double y0 = static_cast<double>(y) * scale_y, y1 = y0 + scale_y;
      for (std::int64_t x = 0; x < width; ++x) {
        const double x0 = static_cast<double>(x) * scale_x, x1 = x0 + scale_x;
        double sum = 0, area = 0;
        for (auto iy = static_cast<std::int64_t>(y0); iy < std::min(in_h, static_cast<std::int64_t>(std::ceil(y1))); ++iy)
          for (auto ix = static_cast<std::int64_t>(x0); ix < std::min(in_w, static_cast<std::int64_t>(std::ceil(x1))); ++ix) {
            const double weight = coverage(iy, y0, y1) * coverage(ix, x0, x1);
            sum += weight * in[(c * in_h + iy) * in_w + ix];
            area += weight;
          }
        dst[(c * height + y) * width + x] = static_cast<std::uint8_t>(std::lround(sum / area));
      }
    }
  return out;
}

double border_mean(const Tensor& image) {
  const Tensor src = checked_image(image, "border_mean");
  const std::int64_t channels = src.size(0), h = src.size(1), w = src.size(2);
  const std::uint8_t* p = src.data<std::uint8_t>();
  double sum = 0;
  std::int64_t count = 0;
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x)
        if (y == 0 || y == h - 1 || x == 0 || x == w - 1) {
          sum += p[(c * h + y) * w + x];
          ++count;
        }
  return count ? sum / static_cast<double>(count) : 0.0;
}

ImageSet read_images(const std::vector<std::filesystem::path>& paths, const Shape& sample_shape, const FitOptions& options) {
  ACTLAB_CHECK(sample_shape.size() == 3, "read_images: the model must take images [C, H, W], not samples of shape {}",
               shape_str(sample_shape));
  const std::int64_t channels = sample_shape[0], height = sample_shape[1], width = sample_shape[2];
  ImageSet set;
  std::vector<Tensor> images;  // each uint8 [n, C, H, W]
  for (const auto& path : paths) {
    const std::string source = path.string();
    const std::vector<std::uint8_t> bytes = read_file_bytes(path);
    if (is_png(bytes)) {
      Tensor image = decode_png(bytes, source, channels);
      if (image.size(1) != height || image.size(2) != width) {
        set.notes.push_back(fmt::format("{}: resized from {}x{} to {}x{}", source, image.size(2), image.size(1), width, height));
        image = resize_area(image, height, width);
      }
      if (!options.invert && border_mean(image) > 127)
        set.notes.push_back(fmt::format("{}: light background; the model was trained on light-on-dark images, "
                                        "so add --invert if it shows dark strokes on white", source));
      images.push_back(image.unsqueeze(0));
      set.names.push_back(source);
      continue;
    }
    const bool idx_or_gzip = bytes.size() >= 2 && ((bytes[0] == 0 && bytes[1] == 0) || (bytes[0] == 0x1f && bytes[1] == 0x8b));
    ACTLAB_CHECK(idx_or_gzip, "{}: neither a PNG nor an IDX image file; give PNG images or IDX files like t10k-images-idx3-ubyte.gz",
                 source);
    Tensor pixels = parse_idx(bytes, source);
    if (pixels.dim() == 2) pixels = pixels.unsqueeze(0);
    ACTLAB_CHECK(pixels.dim() == 3, "{}: expected IDX images [N, H, W] or one image [H, W], got shape {}", source,
                 shape_str(pixels.shape()));
    const Shape sample = {1, pixels.size(1), pixels.size(2)};
    ACTLAB_CHECK(sample == sample_shape, "{}: IDX images of shape {} but the model takes {}; use images of that shape",
                 source, shape_str(sample), shape_str(sample_shape));
    images.push_back(pixels.unsqueeze(1));
    for (std::int64_t i = 0; i < pixels.size(0); ++i) set.names.push_back(fmt::format("{}[{}]", source, i));
  }
  ACTLAB_CHECK(!set.names.empty(), "read_images: no images in {} file(s)", paths.size());
  set.pixels = cat(images, 0);
  if (options.invert) {
    std::uint8_t* p = set.pixels.data<std::uint8_t>();
    for (std::int64_t i = 0; i < set.pixels.numel(); ++i) p[i] = static_cast<std::uint8_t>(255 - p[i]);
    set.notes.push_back("inverted every image (x -> 255 - x)");
  }
  return set;
}

}  // namespace actlab::data
