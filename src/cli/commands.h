// Subcommand registration: each src/cli/*_command.cpp adds a function that attaches its
// CLI::App subcommand, through a static ActLabCommand object.
#pragma once

#include <CLI/CLI.hpp>
#include <sched.h>

#include <csignal>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actlab/core/version.h"
#include "actlab/data/fetch.h"
#include "actlab/experiment/runner.h"
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

// The CPUs this process may run on.
inline std::int64_t usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  return ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
}

// `requested` threads (0: every core), capped at the cores here with a note: more threads than
// cores only slow each other down.
inline std::int64_t capped_threads(std::int64_t requested) {
  const std::int64_t cores = usable_cores();
  if (requested <= cores) return requested;
  std::cerr << "actlab: note: --threads " << requested << " is more than the " << cores
            << " cores here; using " << cores << '\n';
  return cores;
}

// While alive, Ctrl-C and SIGTERM ask the work in progress to stop cleanly (a run checkpoints, a
// download removes its temporary file) instead of ending the program; a second signal ends it at
// once. received() is the signal that came, or 0.
class StopSignals {
 public:
  StopSignals() {
    received_ = 0;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
  }
  ~StopSignals() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  int received() const { return received_; }

 private:
  static void on_signal(int signal) {
    received_ = signal;
    experiment::request_stop();
    data::request_fetch_stop();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
  static inline volatile std::sig_atomic_t received_ = 0;
};

// Throws Error when `dir` (given by `option`) exists but is not a folder.
inline void check_folder_option(const std::string& dir, const std::string& option) {
  std::error_code error;
  const auto status = std::filesystem::status(dir, error);
  ACTLAB_CHECK(dir.empty() || !std::filesystem::exists(status) || std::filesystem::is_directory(status),
               "{} {} is a file, not a folder; give a folder", option, dir);
}

}  // namespace actlab::cli
