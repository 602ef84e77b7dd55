#include "actlab/core/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace actlab {
namespace {

constexpr std::size_t kAlignment = 64;
// Below this, malloc's own bins are fast; above it we cache.
constexpr std::size_t kCacheMinBytes = 64 * 1024;
constexpr std::size_t kCacheMaxBytes = std::size_t{2} << 30;

struct BufferCache {
  std::mutex mutex;
  std::map<std::size_t, std::vector<std::byte*>> free_blocks;  // by exact rounded size
  std::size_t cached_bytes = 0;

  void release_all() {
    std::lock_guard lock(mutex);
    for (auto& [bytes, blocks] : free_blocks)
      for (auto* block : blocks) std::free(block);
    free_blocks.clear();
    cached_bytes = 0;
  }
};

// Never destroyed: tensors held by other static objects may be freed after main returns.
BufferCache& cache() {
  static auto* instance = new BufferCache;
  return *instance;
}

// Round so that slightly different sizes share blocks: 1/8 steps of the next power of two.
std::size_t round_size(std::size_t bytes) {
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (bytes < kCacheMinBytes) return bytes;
  std::size_t power = kCacheMinBytes;
  while (power < bytes) power <<= 1;
  const std::size_t step = power / 8;
  return (bytes + step - 1) / step * step;
}

}  // namespace

void BufferDeleter::operator()(std::byte* ptr) const noexcept {
  if (ptr == nullptr || owner) return;
  if (bytes >= kCacheMinBytes) {
    auto& c = cache();
    std::lock_guard lock(c.mutex);
    if (c.cached_bytes + bytes <= kCacheMaxBytes) {
      c.free_blocks[bytes].push_back(ptr);
      c.cached_bytes += bytes;
      return;
    }
  }
  std::free(ptr);
}

Buffer allocate_buffer(std::size_t bytes) {
  const std::size_t rounded = round_size(bytes == 0 ? kAlignment : bytes);
  if (rounded >= kCacheMinBytes) {
    auto& c = cache();
    std::lock_guard lock(c.mutex);
    auto it = c.free_blocks.find(rounded);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      std::byte* block = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= rounded;
      return Buffer(block, BufferDeleter{rounded});
    }
  }
  void* block = std::aligned_alloc(kAlignment, rounded);
  if (block == nullptr) {
    release_cached_buffers();
    block = std::aligned_alloc(kAlignment, rounded);
    if (block == nullptr) throw std::bad_alloc();
  }
  return Buffer(static_cast<std::byte*>(block), BufferDeleter{rounded});
}

Buffer adopt_buffer(std::byte* data, std::size_t bytes, std::shared_ptr<void> owner) {
  return Buffer(data, BufferDeleter{bytes, std::move(owner)});
}

std::size_t cached_buffer_bytes() {
  auto& c = cache();
  std::lock_guard lock(c.mutex);
  return c.cached_bytes;
}

void release_cached_buffers() { cache().release_all(); }

}  // namespace actlab
