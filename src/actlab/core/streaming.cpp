#include "actlab/core/streaming.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace actlab {
namespace {

// The level-3 entry of /sys/devices/system/cpu/cpu0/cache ("32768K"), or 0. Preferred over
// sysconf, which on some virtual machines reports the whole host's L3 (10x too large).
std::int64_t sysfs_l3_bytes() {
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    int level = 0;
    std::string size;
    if (!(std::ifstream(dir + "level") >> level)) break;
    if (level != 3 || !(std::ifstream(dir + "size") >> size)) continue;
    char* unit = nullptr;
    const std::int64_t value = std::strtoll(size.c_str(), &unit, 10);
    return value * (*unit == 'K' ? 1024 : *unit == 'M' ? 1024 * 1024 : 1);
  }
  return 0;
}

}  // namespace

std::int64_t last_level_cache_bytes() {
  static const std::int64_t bytes = [] {
    if (const std::int64_t sysfs = sysfs_l3_bytes(); sysfs > 0) return sysfs;
    if (const long reported = sysconf(_SC_LEVEL3_CACHE_SIZE); reported > 0) return static_cast<std::int64_t>(reported);
    return std::int64_t{32} << 20;
  }();
  return bytes;
}

bool stream_output(std::int64_t output_bytes) {
#if defined(__SSE2__)
  return output_bytes > last_level_cache_bytes();
#else
  (void)output_bytes;
  return false;
#endif
}

}  // namespace actlab
