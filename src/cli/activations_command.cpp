// `actlab activations`: every registered activation with its properties (`--json` for machines,
// `--plot FILE.html` for a page drawing each function and its derivative).
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "actlab/activations/activation.h"
#include "actlab/io/safetensors.h"
#include "actlab/report/report.h"
#include "cli/commands.h"

namespace actlab::cli {
namespace {

std::string yes_no(bool value) { return value ? "yes" : "no"; }

std::string params_text(const ActivationInfo& info) {
  std::string out;
  for (const auto& p : info.params) out += fmt::format("{}{}={}", out.empty() ? "" : ",", p.name, p.default_value);
  return out.empty() ? "-" : out;
}

nlohmann::json to_json(const ActivationInfo& info) {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& p : info.params)
    params.push_back({{"name", p.name}, {"default", p.default_value}, {"doc", p.doc}, {"integer", p.integer}});
  return {{"name", info.name},
          {"aliases", info.aliases},
          {"params", params},
          {"formula", info.formula},
          {"latex", info.latex},
          {"derivative", info.derivative},
          {"output_range", info.output_range},
          {"zero_centred", info.zero_centred},
          {"monotonic", info.monotonic},
          {"smooth", info.smooth},
          {"saturates", info.saturates},
          {"learnable", info.learnable},
          {"gain", make_activation(info.name)->gain()},
          {"note", info.note}};
}

const CommandRegistration registration([](CLI::App& app) {
  auto* command = app.add_subcommand("activations", "List every activation with its formula and properties");
  static bool json = false;
  static std::string plot;
  static std::vector<std::string> specs;
  command->add_flag("--json", json, "Print JSON for machines");
  command->add_option("--plot", plot, "Write an HTML page drawing each activation and its derivative");
  command->add_option("specs", specs, "Activations to plot, with parameters if wanted (default: every one), "
                                      "e.g. relu leaky_relu:0.2 elu:alpha=0.5");
  command->callback([] {
    ACTLAB_CHECK(specs.empty() || !plot.empty(), "activation specs ({}) are only used with --plot FILE.html",
                 fmt::join(specs, " "));
    if (!plot.empty()) {
      if (specs.empty())
        for (const ActivationInfo* info : registered_activations()) specs.push_back(info->name);
      io::write_file_atomically(plot, report::render_activation_atlas(specs));
      std::cout << fmt::format("wrote {} ({} activations)\n", plot, specs.size());
      return;
    }
    if (json) {
      nlohmann::json out = nlohmann::json::array();
      for (const ActivationInfo* info : registered_activations()) out.push_back(to_json(*info));
      std::cout << out.dump(2) << '\n';
      return;
    }
    std::cout << fmt::format("{:<16} {:<28} {:<20} {:<5} {:<5} {:<6} {:<6} {:>6}  {}\n", "name", "parameters",
                             "range", "zero", "mono", "smooth", "learn", "gain", "formula");
    for (const ActivationInfo* info : registered_activations()) {
      std::cout << fmt::format("{:<16} {:<28} {:<20} {:<5} {:<5} {:<6} {:<6} {:>6.4f}  {}\n", info->name,
                               params_text(*info), info->output_range, yes_no(info->zero_centred),
                               yes_no(info->monotonic), yes_no(info->smooth), yes_no(info->learnable),
                               make_activation(info->name)->gain(), info->formula);
      std::cout << fmt::format("{:<16} {}\n", "", info->note);
    }
    std::cout << "\nBuild one with a spec string, e.g. relu, leaky_relu:0.1, elu:alpha=0.5, prelu:channels=64.\n";
  });
});

}  // namespace
}  // namespace actlab::cli
