// Aligned, caching allocation of tensor buffers.
//
// Training allocates and frees the same buffer sizes every step. Returning large blocks to the
// OS (munmap) and faulting them in again costs more than the arithmetic on them, so freed blocks
// are kept in per-size free lists and reused. Blocks are 64-byte aligned for AVX-512 loads.
#pragma once

#include <cstddef>
#include <memory>

namespace actlab {

struct BufferDeleter {
  std::size_t bytes;
  // Set for memory actlab did not allocate (a NumPy array's): the owner keeps it alive and is
  // released with the buffer; the memory itself is never freed here.
  std::shared_ptr<void> owner = {};
  void operator()(std::byte* ptr) const noexcept;
};

using Buffer = std::unique_ptr<std::byte[], BufferDeleter>;

// Returns an uninitialized 64-byte-aligned buffer of at least `bytes` bytes. Throws
// std::bad_alloc when memory is exhausted.
Buffer allocate_buffer(std::size_t bytes);

// A buffer over `bytes` bytes at `data` that someone else allocated; `owner` keeps them alive
// until the last tensor viewing them is gone. Requires owner != nullptr.
Buffer adopt_buffer(std::byte* data, std::size_t bytes, std::shared_ptr<void> owner);

// Bytes currently held in the cache (not in use by any tensor).
std::size_t cached_buffer_bytes();

// Returns every cached block to the system.
void release_cached_buffers();

}  // namespace actlab
