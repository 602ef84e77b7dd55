// Writing kernel outputs: the one loop through which elementwise ops and activation kernels store.
//
// A store to a cache line that is not in cache first reads the line (read-for-ownership), so a
// kernel writing a fresh output moves its bytes twice. For outputs larger than the last-level
// cache, which would be evicted before anyone reads them again, write_row uses non-temporal
// stores: whole 64-byte lines go straight to memory. Smaller outputs use ordinary stores, since
// their next reader finds them in cache.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace actlab {

// Size of the last-level cache in bytes, read once (from sysfs, then sysconf; 32 MiB if neither
// knows), at most 8 MiB per CPU sharing it.
std::int64_t last_level_cache_bytes();

// Whether a kernel writing `output_bytes` should use non-temporal stores (output larger than the
// last-level cache, on a CPU where write_row can stream: any x86-64).
bool stream_output(std::int64_t output_bytes);

// How far ahead of its loop write_row prefetches the rows it reads. The hardware prefetchers
// cannot be relied on to run that far ahead: on a 2-CPU virtual machine whose loads waited on
// memory, sigmoid's forward over 16M floats ran 3x faster with it.
inline constexpr std::int64_t kPrefetchBytes = 4096;

// Prefetches the `bytes` of row, from element i on, kPrefetchBytes ahead. The address may lie past
// the row's end, where a prefetch is harmless (it never faults) but forming the pointer is not.
template <class In>
void prefetch_ahead(const In* row, std::int64_t i, std::int64_t bytes) {
  const std::uintptr_t address = reinterpret_cast<std::uintptr_t>(row + i) + kPrefetchBytes;
  for (std::int64_t offset = 0; offset < bytes; offset += 64)
    __builtin_prefetch(reinterpret_cast<const void*>(address + static_cast<std::uintptr_t>(offset)));
}

// Writes out[0, n) from value(i, count), which returns the V for elements i, i + 1, ...: V is T
// (one element per call) or a vector of T with kLanes, store(p), store(p, count) and stream(p)
// (p aligned to the vector's size); count >= kLanes asks for a whole vector, fewer for the first
// `count` lanes only (at the ragged ends). `inputs` are the rows value(i, ...) reads at element i,
// prefetched ahead. With `stream`, the whole 64-byte lines of out are written with non-temporal
// stores (the ragged ends with ordinary ones). Call it inside parallel_for, whose chunks end with
// the fence that makes those stores visible to other threads (a fence per row would stall short
// rows). T must fill 64 bytes with whole V's. Flattened: the element function and all it calls
// are inlined into the loops, so a kernel's constants stay in registers.
template <class V, class T, class Value, class... In>
[[gnu::flatten]] void write_row(T* out, std::int64_t n, bool stream, Value value, const In*... inputs) {
  constexpr bool kScalar = std::is_arithmetic_v<V>;
  constexpr std::int64_t kLanes = [] {
    if constexpr (kScalar)
      return 1;
    else
      return V::kLanes;
  }();
  constexpr std::int64_t kLine = 64 / static_cast<std::int64_t>(sizeof(T));
  static_assert(kLine % kLanes == 0, "write_row: a cache line must hold whole vectors");
  auto put = [&](std::int64_t i, std::int64_t remaining) {
    if constexpr (kScalar)
      out[i] = value(i, remaining);
    else if (remaining >= kLanes)
      value(i, remaining).store(out + i);
    else
      value(i, remaining).store(out + i, static_cast<int>(remaining));
  };
  // The input bytes one line of out reads.
  auto prefetch_line = [&]([[maybe_unused]] std::int64_t i) {
    (prefetch_ahead(inputs, i, kLine * static_cast<std::int64_t>(sizeof(In))), ...);
  };
  std::int64_t i = 0;
#if defined(__SSE2__)
  const auto address = reinterpret_cast<std::uintptr_t>(out);
  if (stream && address % sizeof(T) == 0 && n >= 2 * kLine) {
    const auto head = static_cast<std::int64_t>((64 - address % 64) % 64 / sizeof(T));
    for (; i < head; i += kLanes) put(i, head - i);
    i = head;
    for (; i + kLine <= n; i += kLine) {
      prefetch_line(i);
      if constexpr (kScalar) {
        alignas(64) T line[kLine];
        for (std::int64_t j = 0; j < kLine; ++j) line[j] = value(i + j, n - i - j);
        for (int part = 0; part < 4; ++part)
          _mm_stream_si128(reinterpret_cast<__m128i*>(out + i) + part, _mm_load_si128(reinterpret_cast<const __m128i*>(line) + part));
      } else {
        for (std::int64_t j = 0; j < kLine; j += kLanes) value(i + j, n - i - j).stream(out + i + j);
      }
    }
  }
#else
  (void)stream;
#endif
  for (; i + kLine <= n; i += kLine) {
    prefetch_line(i);
    for (std::int64_t j = 0; j < kLine; j += kLanes) put(i + j, n - i - j);
  }
  for (; i < n; i += kLanes) put(i, n - i);
}

#if defined(__SSE2__)
// 16 bytes of T for write_row (copy_row's vector).
template <class T>
struct Bytes16 {
  static constexpr std::int64_t kLanes = 16 / sizeof(T);
  __m128i bits;
  static Bytes16 load(const T* p, std::int64_t count) {
    Bytes16 chunk{_mm_setzero_si128()};
    if (count >= kLanes)
      chunk.bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    else
      std::memcpy(&chunk.bits, p, static_cast<std::size_t>(count) * sizeof(T));
    return chunk;
  }
  void store(T* p) const { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), bits); }
  void store(T* p, int count) const { std::memcpy(p, &bits, static_cast<std::size_t>(count) * sizeof(T)); }
  void stream(T* p) const { _mm_stream_si128(reinterpret_cast<__m128i*>(p), bits); }
};
#endif

// out[0, n) = in[0, n), through write_row, 16 bytes at a time where SSE2 has them: element by
// element, the line buffer is read back in 16-byte loads that wait on the element stores (a 64 MB
// copy took 1.36x as long; docs/PERFORMANCE.md).
template <class T>
void copy_row(T* out, const T* in, std::int64_t n, bool stream) {
#if defined(__SSE2__)
  write_row<Bytes16<T>>(out, n, stream, [=](std::int64_t i, std::int64_t remaining) {
    return Bytes16<T>::load(in + i, remaining);
  }, in);
#else
  write_row<T>(out, n, stream, [=](std::int64_t i, std::int64_t) { return in[i]; }, in);
#endif
}

}  // namespace actlab
