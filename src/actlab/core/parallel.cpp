#include "actlab/core/parallel.h"

#include <cblas.h>

#include <fstream>

#include "actlab/core/error.h"

namespace actlab {

int num_threads() { return omp_get_max_threads(); }

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
