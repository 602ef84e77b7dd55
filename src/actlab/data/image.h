// Single images for `actlab predict`: PNG files through libpng, and fitting an image to the
// shape a model takes (channel count, size, light-on-dark polarity).
//
// Decoding validates the whole file (signature, chunk CRCs, zlib stream) and throws
// actlab::Error naming the file on any defect; it never crashes on bad input.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "actlab/core/tensor.h"

namespace actlab::data {

// True when `bytes` start with the 8-byte PNG signature.
bool is_png(std::span<const std::uint8_t> bytes);

// Decodes a PNG held in memory into uint8 [channels, H, W], channels 1 (gray) or 3 (RGB).
// libpng converts any PNG colour type and bit depth; colour becomes gray by its luminance, and
// transparent pixels are composited onto black (the background of MNIST-like data).
Tensor decode_png(std::span<const std::uint8_t> bytes, std::string_view source, std::int64_t channels);

// Encodes uint8 [1 or 3, H, W] as a PNG (gray or RGB).
std::vector<std::uint8_t> encode_png(const Tensor& image);

// Resamples uint8 [C, H, W] to [C, height, width] by area averaging: each output pixel is the
// mean of the input area it covers, so downscaling a large drawing keeps thin strokes visible.
Tensor resize_area(const Tensor& image, std::int64_t height, std::int64_t width);

// Mean of the outermost ring of pixels of uint8 [C, H, W], in [0, 255]. A bright border means a
// dark-on-light picture, the opposite polarity of MNIST.
double border_mean(const Tensor& image);

// Images gathered from IDX files ([N, H, W] or [H, W]) and PNG files, fitted to one sample shape.
struct ImageSet {
  Tensor pixels;                    // uint8 [N, C, H, W]
  std::vector<std::string> names;   // per image: "file.png" or "file.idx[7]"
  std::vector<std::string> notes;   // what was changed to fit (resized, inverted), for the user
};

struct FitOptions {
  bool invert = false;  // x -> 255 - x: dark strokes on a light background become MNIST-like
};

// Reads every file (PNG or IDX, raw or gzip, told apart by content) and fits each image to
// `sample_shape` [C, H, W]: PNGs are decoded to C channels and area-resized to H x W; IDX images
// must already be [H, W] with C = 1. A PNG with a light border while `invert` is off gets a note
// suggesting it. Throws Error naming the file when it cannot be read or fitted.
ImageSet read_images(const std::vector<std::filesystem::path>& paths, const Shape& sample_shape, const FitOptions& options = {});

}  // namespace actlab::data
