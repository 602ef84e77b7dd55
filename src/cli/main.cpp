// The actlab command-line program. Each subcommand lives in its own file and registers itself
// here; see commands.h.
#include <CLI/CLI.hpp>

#include <iostream>

#include "actlab/core/error.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
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
  }
  return 0;
}
