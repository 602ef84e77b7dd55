#include "actlab/core/parallel.h"

#include <cblas.h>

#include <atomic>
#include <fstream>

#include "actlab/core/error.h"

namespace actlab {

namespace {
std::atomic<bool> deterministic_mode{false};
}  // namespace

int num_threads() { return omp_get_max_threads(); }

bool deterministic() { return deterministic_mode.load(std::memory_order_relaxed); }
void set_deterministic(bool enabled) { deterministic_mode.store(enabled, std::memory_order_relaxed); }

void set_num_threads(int n) {
  ACTLAB_CHECK(n >= 1, "set_num_threads: need at least 1 thread, got {}", n);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

}  // namespace actlab
