// Subcommand registration: each src/cli/*_command.cpp adds a function that attaches its
// CLI::App subcommand, through a static ActLabCommand object.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string_view>
#include <vector>

#include "actlab/core/version.h"

namespace actlab::cli {

using RegisterCommand = std::function<void(CLI::App&)>;

inline std::vector<RegisterCommand>& command_registry() {
  static std::vector<RegisterCommand> registry;
  return registry;
}

// `static const CommandRegistration reg([](CLI::App& app) { ... });` in a command's file.
struct CommandRegistration {
  explicit CommandRegistration(RegisterCommand fn) { command_registry().push_back(std::move(fn)); }
};

}  // namespace actlab::cli
