// `actlab info`: version, CPU, instruction-set level, threads and BLAS, for bug reports and benchmark tables.
#include <cblas.h>

#include <iostream>
#include <string>

#include "actlab/core/cpu.h"
#include "actlab/core/parallel.h"
#include "cli/commands.h"

namespace actlab::cli {
namespace {

const CommandRegistration registration([](CLI::App& app) {
  auto* info = app.add_subcommand("info", "Print version, CPU, thread count and BLAS configuration");
  info->callback([] {
    std::cout << "actlab " << kVersion << '\n'
              << "cpu: " << cpu_model() << '\n'
              << "kernels: " << isa_name(active_isa()) << " (best here: " << isa_name(best_isa())
              << "; set ACTLAB_ISA=avx2 or baseline for a lower level)\n"
              << "threads: " << num_threads() << " (set OMP_NUM_THREADS or --threads to change)\n"
              << "blas: " << openblas_get_config() << '\n';
  });
});

}  // namespace
}  // namespace actlab::cli
