// `actlab compare`: the activation experiment (see experiment/runner.h), and `actlab report DIR`,
// which re-renders a finished experiment's reports from its summary.json.
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>

#include "actlab/core/error.h"
#include "actlab/experiment/progress.h"
#include "actlab/experiment/runner.h"
#include "actlab/report/report.h"
#include "cli/commands.h"

namespace actlab::cli {
namespace {

struct CompareArgs {
  std::string config;
  std::string resume;  // an interrupted experiment's output folder
  bool check = false;
  std::shared_ptr<std::map<std::string, std::string>> values = std::make_shared<std::map<std::string, std::string>>();
};

// Ctrl-C and SIGTERM (a scheduler's or `kill`'s request) both checkpoint and stop.
void on_interrupt(int) {
  experiment::request_stop();
  std::signal(SIGINT, SIG_DFL);  // a second one ends the program at once
  std::signal(SIGTERM, SIG_DFL);
}

void run_compare(const CompareArgs& args) {
  if (!args.resume.empty()) {
    ACTLAB_CHECK(args.config.empty() && (args.values->empty() || (args.values->size() == 1 && args.values->contains("threads"))),
                 "--resume continues {} with its own config.toml; only --threads may be given with it", args.resume);
  }
  const std::string config = args.resume.empty() ? args.config : args.resume + "/config.toml";
  experiment::Experiment e = config.empty() ? experiment::Experiment{} : experiment::load_config(config);
  if (!args.resume.empty()) e.base.out = args.resume;
  for (const auto& [key, value] : *args.values) experiment::set_setting(e.base, key, value, option_name(key));
  if (args.check) {
    experiment::validate(e);
    const auto arms = e.arms();
    std::cout << "valid: " << arms.size() << " arm(s) x " << e.base.seeds.size() << " seed(s)\n";
    for (const auto& arm : arms) std::cout << "  " << arm.label << '\n';
    return;
  }
  experiment::RunnerOptions options;
  options.fall_back_to_spirals = config.empty() && !args.values->contains("data");
  options.resume = !args.resume.empty();
  options.tty = experiment::is_terminal(2);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  const experiment::Outcome outcome = experiment::run_experiment(e, options);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  std::cout << "\n" << report::render_markdown(outcome.summary) << "\nwrote " << outcome.out_dir
            << "/{report.html, report.md, summary.json, metrics.jsonl, metrics.csv, config.toml, models/}\n";
  if (outcome.interrupted) {
    std::cerr << "actlab: interrupted; the finished runs are saved in " << outcome.out_dir
              << "; continue with: actlab compare --resume " << outcome.out_dir << '\n';
    std::exit(130);
  }
}

const CommandRegistration compare_registration([](CLI::App& app) {
  auto* compare = app.add_subcommand(
      "compare", "Train the same model with each activation under identical conditions and compare them");
  auto args = std::make_shared<CompareArgs>();
  compare->add_option("--config", args->config, "TOML file with fixed settings and a [sweep] table of axes")
      ->check(CLI::ExistingFile);
  compare->add_flag("--check", args->check, "Validate the settings and list the arms, without training");
  compare->add_option("--resume", args->resume,
                      "Continue the interrupted experiment in DIR: keep its finished runs, resume the others from "
                      "their last checkpoint")
      ->check(CLI::ExistingDirectory)
      ->type_name("DIR");
  add_setting_options(*compare, args->values);
  compare->callback([args] { run_compare(*args); });
  compare->footer(
      "With no options this runs the default experiment: MNIST, an MLP with 4 hidden layers of 256, seven "
      "activations, one seed, 5 epochs of Adam. Options override a --config file.");
});

const CommandRegistration report_registration([](CLI::App& app) {
  auto* report = app.add_subcommand("report", "Re-render report.md and report.html from DIR/summary.json");
  auto dir = std::make_shared<std::string>();
  report->add_option("dir", *dir, "An experiment's output folder")->required()->check(CLI::ExistingDirectory);
  report->callback([dir] {
    const std::string path = *dir + "/summary.json";
    std::ifstream in(path);
    ACTLAB_CHECK(in.good(), "{}: not found; is {} the output folder of actlab compare?", path, *dir);
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: not valid JSON ({})", path, e.what());
    }
    report::write_reports(*dir, experiment::summary_from_json(json));
    std::cout << "wrote " << *dir << "/report.md and " << *dir << "/report.html\n";
  });
});

}  // namespace
}  // namespace actlab::cli
