// `actlab info`: version, CPU, instruction-set level, threads and BLAS, for bug reports and benchmark tables.
#include <cblas.h>

#include <iostream>
#include <string>
#include <vector>

#include "actlab/core/cpu.h"
#include "actlab/core/parallel.h"
#include "cli/commands.h"
#if ACTLAB_MPI
#include "actlab/distributed/world.h"
#endif

namespace actlab::cli {
namespace {

const CommandRegistration registration([](CLI::App& app) {
  auto* info = app.add_subcommand("info", "Print version, CPU, thread count and BLAS configuration");
  info->callback([] {
    std::string lower;  // the levels ACTLAB_ISA may ask for instead of the best, highest first
    const std::vector<Isa> levels = available_isas();
    for (auto isa = levels.rbegin(); isa != levels.rend(); ++isa)
      if (*isa != best_isa()) lower += (lower.empty() ? "" : " or ") + std::string(isa_name(*isa));
    std::cout << "actlab " << kVersion << '\n'
              << "cpu: " << cpu_model() << '\n'
              << "kernels: " << isa_name(active_isa()) << " = " << isa_description(active_isa())
              << " (best here: " << isa_name(best_isa())
              << (lower.empty() ? "; no lower level built" : "; set ACTLAB_ISA=" + lower + " for a lower level") << ")\n"
              << "threads: " << num_threads() << " (set OMP_NUM_THREADS or --threads to change)\n"
              << "blas: " << openblas_get_config() << '\n';
#if ACTLAB_MPI
    if (const auto* world = distributed::current_world()) std::cout << "mpi: " << world->describe() << '\n';
#endif
  });
});

}  // namespace
}  // namespace actlab::cli
