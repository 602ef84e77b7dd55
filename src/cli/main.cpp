// The actlab command-line program. Each subcommand lives in its own file and registers itself
// here; see commands.h.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <new>

#include "actlab/core/error.h"
#include "cli/commands.h"
#if ACTLAB_MPI
#include "actlab/distributed/world.h"
#endif

int main(int argc, char** argv) {
#if ACTLAB_MPI
  const actlab::distributed::World world;  // a rank of an MPI job when mpirun or srun started this process
#endif
  CLI::App app{"actlab: a laboratory for activation functions and gradient flow"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(actlab::kVersion));
  for (const auto& register_command : actlab::cli::command_registry()) register_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const actlab::Error& e) {
    std::cerr << "actlab: error: " << e.what() << '\n';
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    std::cerr << "actlab: error: " << e.code().message() << ": " << e.path1().string()
              << (e.path2().empty() ? "" : " -> " + e.path2().string()) << '\n';
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "actlab: error: out of memory; use a smaller model, batch or dataset\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "actlab: error: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
