// `actlab info`: version, CPU, threads and BLAS, for bug reports and benchmark tables.
#include <cblas.h>

#include <iostream>
#include <string>

#include "actlab/core/parallel.h"
#include "cli/commands.h"

namespace actlab::cli {
namespace {

const CommandRegistration registration([](CLI::App& app) {
  auto* info = app.add_subcommand("info", "Print version, CPU, thread count and BLAS configuration");
  info->callback([] {
    std::cout << "actlab " << kVersion << '\n'
              << "cpu: " << cpu_model() << '\n'
              << "threads: " << num_threads() << " (set OMP_NUM_THREADS or --threads to change)\n"
              << "blas: " << openblas_get_config() << '\n';
  });
});

}  // namespace
}  // namespace actlab::cli
