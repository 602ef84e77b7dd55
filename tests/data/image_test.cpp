#include "actlab/data/image.h"

#include <gtest/gtest.h>

#include "../test_util.h"
#include "data_test_util.h"

namespace actlab::data {
namespace {

using actlab::test::Bytes;
using actlab::test::TempDir;
using actlab::test::write_file;
using actlab::testing::error_of;

Tensor pattern_image(std::int64_t channels, std::int64_t height, std::int64_t width) {
  Tensor image = Tensor::empty({channels, height, width}, kUInt8);
  std::uint8_t* p = image.data<std::uint8_t>();
  for (std::int64_t i = 0; i < image.numel(); ++i) p[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
  return image;
}

// [C, H, W] filled with one value per channel.
Tensor solid_image(const std::vector<std::uint8_t>& colour, std::int64_t height, std::int64_t width) {
  std::vector<std::uint8_t> values;
  for (std::uint8_t c : colour) values.insert(values.end(), static_cast<std::size_t>(height * width), c);
  return from_vector(values, {static_cast<std::int64_t>(colour.size()), height, width});
}

TEST(Png, RoundTripsGrayAndRgbExactly) {
  for (std::int64_t channels : {1, 3}) {
    const Tensor image = pattern_image(channels, 7, 13);
    const Bytes png = encode_png(image);
    ASSERT_TRUE(is_png(png));
    const Tensor decoded = decode_png(png, "pattern.png", channels);
    EXPECT_EQ(decoded.shape(), image.shape());
    EXPECT_EQ(decoded.to_vector<std::int64_t>(), image.to_vector<std::int64_t>()) << channels << " channels";
  }
}

TEST(Png, ConvertsColourToGrayAndGrayToRgb) {
  const Tensor colours = cat({solid_image({255, 255, 255}, 1, 1), solid_image({0, 0, 0}, 1, 1),
                              solid_image({0, 255, 0}, 1, 1), solid_image({0, 0, 255}, 1, 1)},
                             2);
  const auto gray = decode_png(encode_png(colours), "colours.png", 1).to_vector<std::int64_t>();
  EXPECT_EQ(gray[0], 255);
  EXPECT_EQ(gray[1], 0);
  EXPECT_GT(gray[2], gray[3]) << "green is brighter than blue";

  const Tensor rgb = decode_png(encode_png(solid_image({90}, 2, 3)), "gray.png", 3);
  EXPECT_EQ(rgb.shape(), (Shape{3, 2, 3}));
  for (std::int64_t v : rgb.to_vector<std::int64_t>()) EXPECT_EQ(v, 90);
}

TEST(Png, RejectsWhatIsNotAWholePng) {
  const Bytes png = encode_png(pattern_image(1, 16, 16));
  EXPECT_NE(error_of([] { decode_png(Bytes{'G', 'I', 'F', '8', '9', 'a', 0, 0, 0}, "x.gif", 1); }).find("not a PNG"),
            std::string::npos);

  const Bytes truncated(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(png.size() / 2));
  EXPECT_NE(error_of([&] { decode_png(truncated, "half.png", 1); }).find("half.png"), std::string::npos);

  Bytes corrupt = png;
  corrupt[png.size() / 2] ^= 0x55;  // inside the image data: the chunk CRC no longer matches
  EXPECT_NE(error_of([&] { decode_png(corrupt, "flipped.png", 1); }).find("damaged"), std::string::npos);

  EXPECT_NE(error_of([&] { decode_png(png, "x.png", 2); }).find("1 (gray) or 3 (RGB)"), std::string::npos);
}

TEST(ResizeArea, AveragesTheAreaEachOutputPixelCovers) {
  // 2x2 blocks of 0, 100, 200, 40 shrink to one pixel each.
  const Tensor image = from_vector<std::uint8_t>({0, 0, 100, 100,  //
                                                  0, 0, 100, 100,  //
                                                  200, 200, 40, 40,
                                                  200, 200, 40, 40},
                                                 {1, 4, 4});
  EXPECT_EQ(resize_area(image, 2, 2).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 100, 200, 40}));
  EXPECT_EQ(resize_area(image, 1, 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{85}));
  // Non-integer ratio: 3 -> 2 splits the middle pixel between both outputs.
  EXPECT_EQ(resize_area(from_vector<std::uint8_t>({0, 90, 180}, {1, 1, 3}), 1, 2).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{30, 150}));
  // Upscaling repeats pixels.
  EXPECT_EQ(resize_area(from_vector<std::uint8_t>({7}, {1, 1, 1}), 2, 3).to_vector<std::int64_t>(), std::vector<std::int64_t>(6, 7));
}

TEST(ResizeArea, KeepsAThinStrokeOfALargeDrawing) {
  Tensor drawing = zeros({1, 280, 280}, kUInt8);
  for (std::int64_t y = 40; y < 240; ++y) drawing.at<std::uint8_t>({0, y, 140}) = 255;  // one-pixel vertical line
  const Tensor small = resize_area(drawing, 28, 28);
  EXPECT_GT(small.at<std::uint8_t>({0, 14, 14}), 20);
  EXPECT_EQ(small.at<std::uint8_t>({0, 14, 3}), 0);
}

TEST(ReadImages, FitsPngsAndIdxImagesToTheModelsInput) {
  TempDir dir;
  Tensor drawing = solid_image({255}, 56, 56);  // dark stroke on white, twice MNIST's size
  for (std::int64_t x = 10; x < 46; ++x) drawing.at<std::uint8_t>({0, 28, x}) = drawing.at<std::uint8_t>({0, 29, x}) = 0;
  write_file(dir / "digit.png", encode_png(drawing));
  write_file(dir / "two.idx", actlab::test::idx_bytes({2, 28, 28}, {3, 4, 5}));

  const ImageSet plain = read_images({dir / "digit.png", dir / "two.idx"}, {1, 28, 28});
  EXPECT_EQ(plain.pixels.shape(), (Shape{3, 1, 28, 28}));
  ASSERT_EQ(plain.names.size(), 3u);
  EXPECT_EQ(plain.names[0], (dir / "digit.png").string());
  EXPECT_EQ(plain.names[2], (dir / "two.idx").string() + "[1]");
  ASSERT_EQ(plain.notes.size(), 2u);
  EXPECT_NE(plain.notes[0].find("resized from 56x56 to 28x28"), std::string::npos);
  EXPECT_NE(plain.notes[1].find("--invert"), std::string::npos);
  EXPECT_EQ(plain.pixels.at<std::uint8_t>({0, 0, 0, 0}), 255);

  const ImageSet inverted = read_images({dir / "digit.png"}, {1, 28, 28}, {.invert = true});
  EXPECT_EQ(inverted.pixels.at<std::uint8_t>({0, 0, 0, 0}), 0);
  EXPECT_EQ(inverted.pixels.at<std::uint8_t>({0, 0, 14, 14}), 255);

  const ImageSet rgb = read_images({dir / "digit.png"}, {3, 32, 32});
  EXPECT_EQ(rgb.pixels.shape(), (Shape{1, 3, 32, 32}));
}

TEST(ReadImages, NamesTheFileThatDoesNotFit) {
  TempDir dir;
  write_file(dir / "small.idx", actlab::test::idx_bytes({1, 8, 8}, {1}));
  write_file(dir / "notes.txt", Bytes{'h', 'i'});
  EXPECT_NE(error_of([&] { read_images({dir / "small.idx"}, {1, 28, 28}); }).find("small.idx"), std::string::npos);
  EXPECT_NE(error_of([&] { read_images({dir / "small.idx"}, {3, 8, 8}); }).find("[3,8,8]"), std::string::npos);
  EXPECT_NE(error_of([&] { read_images({dir / "notes.txt"}, {1, 28, 28}); }).find("neither a PNG nor an IDX"), std::string::npos);
  EXPECT_NE(error_of([&] { read_images({dir / "small.idx"}, {784}); }).find("[C, H, W]"), std::string::npos);
}

}  // namespace
}  // namespace actlab::data
