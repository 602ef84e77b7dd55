// write_row writes exactly out[0, n), streamed or not, at every alignment and length, for
// scalar and vector values, and copy_row copies exactly; streaming is chosen only for outputs
// beyond the cache.
#include "actlab/core/streaming.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "actlab/activations/functional.h"
#include "actlab/activations/simd.h"
#include "actlab/core/cpu.h"
#include "actlab/core/tensor.h"

namespace actlab {
namespace {

constexpr int kSentinel = 99;  // never written: the values are 3 i + 1

// Writes value 3 i + 1 to buffer[offset, offset + n) and checks it, and that the rest is untouched.
template <class V, class T>
void check_write_row(std::int64_t offset, std::int64_t n, bool stream) {
  std::vector<T> storage(static_cast<std::size_t>(offset + n + 96), static_cast<T>(kSentinel));
  // Align the start to 64 bytes so that `offset` decides the misalignment.
  const auto misalignment = reinterpret_cast<std::uintptr_t>(storage.data()) % 64 / sizeof(T);
  T* base = storage.data() + (64 / sizeof(T) - misalignment) % (64 / sizeof(T));
  write_row<V>(base + offset, n, stream, [&](std::int64_t i, std::int64_t remaining) {
    if constexpr (std::is_arithmetic_v<V>) {
      return static_cast<T>(3 * i + 1);
    } else {
      alignas(64) float lane[V::kLanes];
      for (int j = 0; j < V::kLanes; ++j) lane[j] = j < remaining ? static_cast<float>(3 * (i + j) + 1) : -1.0f;  // must not be stored
      return V::load(lane);
    }
  });
  for (T* p = storage.data(); p < storage.data() + storage.size(); ++p) {
    const std::int64_t i = p - (base + offset);
    const T expected = i >= 0 && i < n ? static_cast<T>(3 * i + 1) : static_cast<T>(kSentinel);
    ASSERT_EQ(*p, expected) << "offset " << offset << " n " << n << " stream " << stream << " at " << i;
  }
}

template <class V, class T>
void check_all_alignments() {
  for (const bool stream : {false, true})
    for (std::int64_t offset = 0; offset < 64 / static_cast<std::int64_t>(sizeof(T)); ++offset)
      for (std::int64_t n : {0, 1, 15, 16, 17, 31, 32, 33, 47, 64, 65, 100, 1000})
        check_write_row<V, T>(offset, n, stream);
}

TEST(WriteRow, ScalarsAtEveryAlignment) {
  check_all_alignments<float, float>();
  check_all_alignments<double, double>();
  check_all_alignments<std::uint8_t, std::uint8_t>();
  check_all_alignments<std::int64_t, std::int64_t>();
}

TEST(WriteRow, VectorsAtEveryAlignment) { check_all_alignments<simd::Vec, float>(); }

// copy_row from a source at `in_offset` to a destination at `out_offset` (both from 64-byte-aligned
// buffers): out[0, n) equals the source, and nothing around it is written.
template <class T>
void check_copy_row(std::int64_t in_offset, std::int64_t out_offset, std::int64_t n, bool stream) {
  constexpr std::int64_t kLine = 64 / static_cast<std::int64_t>(sizeof(T));
  struct alignas(64) Line {
    T values[kLine];
  };
  std::vector<Line> source(static_cast<std::size_t>((in_offset + n) / kLine + 2));
  std::vector<Line> target(static_cast<std::size_t>((out_offset + n) / kLine + 2));
  T* in = source.front().values + in_offset;
  T* out = target.front().values + out_offset;
  for (std::int64_t i = 0; i < n; ++i) in[i] = static_cast<T>(3 * i + 1);
  std::fill(target.front().values, target.back().values + kLine, static_cast<T>(kSentinel));
  copy_row(out, in, n, stream);
  for (T* p = target.front().values; p < target.back().values + kLine; ++p) {
    const std::int64_t i = p - out;
    const T expected = i >= 0 && i < n ? static_cast<T>(3 * i + 1) : static_cast<T>(kSentinel);
    ASSERT_EQ(*p, expected) << "in at " << in_offset << ", out at " << out_offset << ", n " << n << ", stream "
                            << stream << ": element " << i;
  }
}

template <class T>
void check_copies() {
  constexpr std::int64_t kLine = 64 / static_cast<std::int64_t>(sizeof(T));
  for (const bool stream : {false, true})
    for (const std::int64_t in_offset : {std::int64_t{0}, std::int64_t{1}, kLine - 1})
      for (std::int64_t out_offset = 0; out_offset < kLine; ++out_offset)
        for (std::int64_t n : {0, 1, 15, 16, 17, 31, 32, 33, 47, 64, 65, 100, 1000})
          check_copy_row<T>(in_offset, out_offset, n, stream);
}

TEST(CopyRow, EveryElementTypeAtEveryAlignment) {
  check_copies<float>();
  check_copies<double>();
  check_copies<std::uint8_t>();
  check_copies<std::int64_t>();
}

TEST(WriteRow, StreamsOnlyOutputsBeyondTheCache) {
  const std::int64_t cache = last_level_cache_bytes();
  EXPECT_GE(cache, std::int64_t{1} << 20);
  EXPECT_FALSE(stream_output(0));
  EXPECT_FALSE(stream_output(cache));
#if defined(__SSE2__)
  EXPECT_TRUE(stream_output(cache + 1));
#endif
}

// An elementwise op and an activation (forward and backward) with outputs beyond the last-level
// cache (the streamed path), checked element by element, including the odd tail.
void check_large_outputs() {
  const std::int64_t n = last_level_cache_bytes() / 4 + 1003;
  Tensor x = (arange(0.0, static_cast<double>(n), 1.0) - static_cast<double>(n / 2)).requires_grad_();
  const Tensor y = relu(x + 0.5);
  y.backward(full_like(y, 2.0));
  const auto inputs = x.to_vector<float>(), values = y.to_vector<float>(), grads = x.grad().to_vector<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(values[i], std::max(inputs[i] + 0.5f, 0.0f)) << "at " << i;
    ASSERT_EQ(grads[i], inputs[i] + 0.5f > 0 ? 2.0f : 0.0f) << "at " << i;
  }
}

// ... at every instruction-set level.
TEST(WriteRow, LargeOutputsAreExact) {
  for (const Isa isa : available_isas()) {
    const IsaGuard level(isa);
    SCOPED_TRACE(std::string(isa_name(isa)));
    check_large_outputs();
  }
}

}  // namespace
}  // namespace actlab
