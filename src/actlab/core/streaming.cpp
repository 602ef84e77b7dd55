#include "actlab/core/streaming.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace actlab {
namespace {

// How many CPUs a sysfs CPU list names ("0-1", "0-7,16-23"); 0 if it names none.
std::int64_t cpus_in_list(const std::string& list) {
  std::int64_t count = 0;
  std::istringstream ranges(list);
  for (std::string range; std::getline(ranges, range, ',');) {
    long first = 0, last = 0;
    const int fields = std::sscanf(range.c_str(), "%ld-%ld", &first, &last);
    if (fields < 1 || (fields == 2 && last < first)) return 0;
    count += (fields == 2 ? last : first) - first + 1;
  }
  return count;
}

// No CPU has more than this much L3 per logical CPU sharing it (8 MiB; Zen 4 has 2, Emerald
// Rapids 2.5, the 3D V-Cache parts 6).
constexpr std::int64_t kMaxL3PerCpu = std::int64_t{8} << 20;

// The level-3 entry of /sys/devices/system/cpu/cpu0/cache ("32768K"), or 0. Preferred over
// sysconf, which on some virtual machines reports the whole host's L3 (10x too large). Some
// virtual machines' sysfs does too (a 2-CPU machine with a 260 MiB L3 read a 16 MiB output back no
// faster than one written around the cache): it counts for at most kMaxL3PerCpu per CPU sharing it.
std::int64_t sysfs_l3_bytes() {
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    int level = 0;
    std::string size, sharing;
    if (!(std::ifstream(dir + "level") >> level)) break;
    if (level != 3 || !(std::ifstream(dir + "size") >> size)) continue;
    char* unit = nullptr;
    const std::int64_t bytes =
        std::strtoll(size.c_str(), &unit, 10) * (*unit == 'K' ? 1024 : *unit == 'M' ? 1024 * 1024 : 1);
    const std::int64_t cpus = std::ifstream(dir + "shared_cpu_list") >> sharing ? cpus_in_list(sharing) : 0;
    return cpus > 0 ? std::min(bytes, cpus * kMaxL3PerCpu) : bytes;
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
