#include "actlab/core/parallel.h"

#include <cblas.h>

#include "actlab/core/error.h"

namespace actlab {

int num_threads() { return omp_get_max_threads(); }

void set_num_threads(int n) {
  ACTLAB_CHECK(n >= 1, "set_num_threads: need at least 1 thread, got {}", n);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

}  // namespace actlab
