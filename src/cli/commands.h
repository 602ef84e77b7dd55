// Subcommand registration: each src/cli/*_command.cpp adds a function that attaches its
// CLI::App subcommand, through a static ActLabCommand object.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actlab/core/version.h"
#include "actlab/experiment/settings.h"

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

// "--clip-norm" for the settings key "clip_norm".
inline std::string option_name(const std::string& key) {
  std::string name = "--" + key;
  for (char& c : name)
    if (c == '_') c = '-';
  return name;
}

// Adds one option per settings key; given values land in `values` (key -> text).
inline void add_setting_options(CLI::App& command, const std::shared_ptr<std::map<std::string, std::string>>& values) {
  for (const auto& key : experiment::setting_keys()) {
    const std::string name = key.key;
    if (key.type == "bool") {
      command.add_flag_function(
          option_name(name), [values, name](std::int64_t count) { (*values)[name] = count > 0 ? "true" : "false"; },
          key.help);
      continue;
    }
    command
        .add_option_function<std::string>(
            option_name(name), [values, name](const std::string& value) { (*values)[name] = value; }, key.help)
        ->type_name(key.type == "int" ? "INT" : key.type == "float" ? "FLOAT" : key.type == "list" ? "LIST" : "TEXT");
  }
}

}  // namespace actlab::cli
