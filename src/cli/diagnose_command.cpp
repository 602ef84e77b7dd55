// `actlab diagnose`: gradient-flow diagnostics of one model: a short training (or, with
// --at-init, the initialization alone), then the per-layer table and the verdicts.
#include <iostream>

#include "actlab/experiment/progress.h"
#include "actlab/experiment/runner.h"
#include "cli/commands.h"

namespace actlab::cli {
namespace {

struct DiagnoseArgs {
  std::string config;
  bool at_init = false;
  bool json = false;
  bool overwrite = false;
  std::shared_ptr<std::map<std::string, std::string>> values = std::make_shared<std::map<std::string, std::string>>();
};

void run_diagnose(const DiagnoseArgs& args) {
  // A short run of one model unless the config or the options say otherwise.
  experiment::Experiment e = args.config.empty() ? experiment::diagnose_defaults() : experiment::load_config(args.config);
  for (const auto& [key, value] : *args.values) experiment::override_setting(e, key, value, option_name(key));
  e.base.threads = capped_threads(e.base.threads);
  experiment::RunnerOptions options;
  options.tty = experiment::is_terminal(2);
  options.overwrite = args.overwrite;
  const experiment::Diagnosis diagnosis = experiment::diagnose(e, args.at_init, options);
  const nlohmann::json& diagnostics = diagnosis.diagnostics;
  if (!diagnosis.out_dir.empty())
    std::cerr << "wrote " << diagnosis.out_dir << "/report.html (gradient-flow charts) and summary.json\n";
  if (args.json) {
    std::cout << diagnostics.dump(2) << '\n';
    return;
  }
  std::cout << "\n" << e.arm(0).label << ", model " << e.base.model << ", init " << e.base.init << "\n"
            << experiment::diagnosis_text(diagnostics);
}

const CommandRegistration diagnose_registration([](CLI::App& app) {
  auto* diagnose = app.add_subcommand(
      "diagnose", "Per-layer gradient-flow statistics and verdicts (vanishing, exploding, dead, saturated) of one model");
  auto args = std::make_shared<DiagnoseArgs>();
  diagnose->add_option("--config", args->config, "TOML file with the model's settings (no [sweep])")
      ->check(CLI::ExistingFile);
  diagnose->add_flag("--at-init", args->at_init, "Only analyse the initialization (no training)");
  diagnose->add_flag("--json", args->json, "Print the diagnostics as JSON");
  diagnose->add_flag("--overwrite", args->overwrite, "Replace an earlier experiment in --out");
  add_setting_options(*diagnose, args->values);
  diagnose->callback([args] { run_diagnose(*args); });
  diagnose->footer(
      "Defaults: relu, 1 epoch on the first 10000 training samples, a snapshot every 20 steps. The same model, "
      "data, init and activation options as actlab compare, e.g.\n  actlab diagnose --model mlp:256x20 "
      "--activations sigmoid --init standard --at-init");
});

}  // namespace
}  // namespace actlab::cli
