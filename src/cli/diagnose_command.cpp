// `actlab diagnose`: gradient-flow diagnostics of one model: a short training (or, with
// --at-init, the initialization alone), then the per-layer table and the verdicts.
#include <iostream>

#include "actlab/diagnostics/init_analysis.h"
#include "actlab/diagnostics/verdicts.h"
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
  experiment::Experiment e;
  // A short run of one model unless the config or the options say otherwise.
  e.base.name = "diagnose";
  e.base.activations = {"relu"};
  e.base.epochs = 1;
  e.base.limit_train = 10000;
  e.base.diagnostics_every = 20;
  if (!args.config.empty()) {
    const experiment::Experiment loaded = experiment::load_config(args.config);
    e.sweep = loaded.sweep;
    e.base = loaded.base;
  }
  for (const auto& [key, value] : *args.values) experiment::set_setting(e.base, key, value, option_name(key));
  e.base.seeds.resize(1);
  e.base.threads = capped_threads(e.base.threads);
  const auto arms = e.arms();
  ACTLAB_CHECK(arms.size() == 1,
               "diagnose: looks at one model, but these settings make {} arms; give one activation (--activations "
               "relu) and no [sweep] (use actlab compare to compare several)",
               arms.size());
  nlohmann::json diagnostics;
  if (args.at_init) {
    diagnostics = experiment::diagnose_at_init(e);
  } else {
    ACTLAB_CHECK(e.base.diagnostics_every > 0, "diagnose: --diagnostics-every must be at least 1");
    experiment::RunnerOptions options;
    options.tty = experiment::is_terminal(2);
    options.overwrite = args.overwrite;
    const auto outcome = experiment::run_experiment(e, options);
    diagnostics = outcome.summary.runs.front().diagnostics;
    std::cerr << "wrote " << outcome.out_dir << "/report.html (gradient-flow charts) and summary.json\n";
  }
  if (args.json) {
    std::cout << diagnostics.dump(2) << '\n';
    return;
  }
  std::cout << "\n" << arms.front().label << ", model " << e.base.model << ", init " << e.base.init << "\n"
            << diagnostics::format_table(diagnostics);
  if (diagnostics.contains("init_analysis"))
    std::cout << "\nat initialization, per fully-connected layer (Glorot & Bengio 2010):\n"
              << diagnostics::format_init_analysis(diagnostics["init_analysis"]);
  std::cout << "\nverdicts:\n" << diagnostics::format_verdicts(diagnostics);
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
