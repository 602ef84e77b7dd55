// `actlab compare`: the activation experiment (see experiment/runner.h), and `actlab report DIR`,
// which re-renders a finished experiment's reports from its summary.json.
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "actlab/core/error.h"
#include "actlab/core/parallel.h"
#include "actlab/data/registry.h"
#include "actlab/experiment/progress.h"
#include "actlab/experiment/training.h"
#include "actlab/nn/loss.h"
#include "actlab/experiment/runner.h"
#include "actlab/report/report.h"
#include "cli/commands.h"
#if ACTLAB_MPI
#include "actlab/distributed/data_parallel.h"
#include "actlab/distributed/sweep.h"
#endif

namespace actlab::cli {
namespace {

struct CompareArgs {
  std::string config;
  std::string resume;  // an interrupted experiment's output folder
  bool overwrite = false;
  bool data_parallel = false;  // under mpirun: every run on all ranks
  bool check = false;
  std::size_t max_arms = 1000;  // more arms than this draw a warning
  std::shared_ptr<std::map<std::string, std::string>> values = std::make_shared<std::map<std::string, std::string>>();
};

// Samples per training epoch, as the runner splits the data, without loading it.
std::int64_t training_samples(const experiment::Settings& s) {
  const data::DatasetSpec& info = data::dataset_info(s.data);
  const std::int64_t train = info.train_size > 0 ? info.train_size : experiment::load_options(s).synthetic.samples;
  const std::int64_t used = s.limit_train > 0 ? std::min(s.limit_train, train) : train;
  return used - std::min(s.val_size, used / 5);
}

// Seconds one training step of `arm` takes here: a few steps on random inputs of the data's shape.
double seconds_per_step(const experiment::Arm& arm) {
  const experiment::Settings& s = arm.settings;
  const data::DatasetSpec& info = data::dataset_info(s.data);
  const Shape& sample = info.sample_shape;
  auto model = experiment::make_model(s, sample, info.classes, 0);
  auto optimizer = experiment::make_optimizer(s, model->parameters());
  Shape batch_shape{s.batch};
  batch_shape.insert(batch_shape.end(), sample.begin(), sample.end());
  Generator generator(0);  // not the default one, which the runs use
  const Tensor images = randn(batch_shape, generator);
  constexpr int kSteps = 3;
  std::chrono::steady_clock::duration spent{};
  for (int i = 0; i <= kSteps; ++i) {  // the first step warms up and is not counted
    const auto start = std::chrono::steady_clock::now();
    optimizer->zero_grad();
    (*model)(images).mean().backward();  // the loss's own cost is negligible beside the model's
    optimizer->step();
    if (i > 0) spent += std::chrono::steady_clock::now() - start;
  }
  return std::chrono::duration<double>(spent).count() / kSteps;
}

std::string duration_text(double seconds) {
  if (seconds < 120) return fmt::format("{:.0f} s", seconds);
  if (seconds < 7200) return fmt::format("{:.0f} min", seconds / 60);
  if (seconds < 2 * 86400) return fmt::format("{:.1f} h", seconds / 3600);
  return fmt::format("{:.1f} days", seconds / 86400);
}

// The sweep's size and an estimate of its training time (from the first arm's step time), with a
// warning when it has more than `max_arms` arms. Says nothing when the first arm cannot be built:
// validate() then says why.
void describe_size(const experiment::Experiment& e, std::size_t max_arms) {
  const std::size_t arms = e.arm_count();
  const experiment::Settings& s = e.base;
  const auto runs = static_cast<double>(arms) * static_cast<double>(s.seeds.size());
  double steps = 0, seconds = 0;
  try {
    steps = static_cast<double>((training_samples(s) + s.batch - 1) / s.batch) * static_cast<double>(s.epochs);
    seconds = runs * steps * seconds_per_step(e.arm(0));
  } catch (const Error&) {
    return;
  }
  std::cerr << fmt::format("actlab: {} arm(s) x {} seed(s) = {:.0f} runs of {:.0f} steps; estimated training time {} on {} "
                           "thread(s) here (from the first arm's step time; evaluation adds to it)\n",
                           arms, s.seeds.size(), runs, steps, duration_text(seconds), num_threads());
  if (arms > max_arms)
    std::cerr << fmt::format("actlab: warning: {} arms is more than --max-arms {}; check the [sweep] axes (every "
                             "axis multiplies the arms), or raise --max-arms\n",
                             arms, max_arms);
}

void run_compare(const CompareArgs& args) {
  if (!args.resume.empty()) {
    ACTLAB_CHECK(args.config.empty() && (args.values->empty() || (args.values->size() == 1 && args.values->contains("threads"))),
                 "--resume continues {} with its own config.toml; only --threads may be given with it", args.resume);
  }
  const std::string config = args.resume.empty() ? args.config : args.resume + "/config.toml";
  experiment::Experiment e = config.empty() ? experiment::Experiment{} : experiment::load_config(config);
  if (!args.resume.empty()) e.base.out = args.resume;
  for (const auto& [key, value] : *args.values) experiment::override_setting(e, key, value, option_name(key));
  e.base.threads = capped_threads(e.base.threads);
  check_folder_option(e.base.data_dir, "--data-dir");
  if (e.base.threads > 0) set_num_threads(static_cast<int>(e.base.threads));
  if (e.arm_count() > 0 && (args.check || e.arm_count() > args.max_arms)) describe_size(e, args.max_arms);
  if (args.check) {
    experiment::validate(e);
    const std::size_t arms = e.arm_count();
    std::cout << "valid: " << arms << " arm(s) x " << e.base.seeds.size() << " seed(s)\n";
    for (std::size_t i = 0; i < std::min(arms, args.max_arms); ++i) std::cout << "  " << e.arm(i).label << '\n';
    if (arms > args.max_arms) std::cout << "  ... and " << arms - args.max_arms << " more (list them with a higher --max-arms)\n";
    return;
  }
  experiment::RunnerOptions options;
  options.fall_back_to_spirals = config.empty() && !args.values->contains("data");
  options.resume = !args.resume.empty();
  options.overwrite = args.overwrite;
  options.tty = experiment::is_terminal(2);
#if ACTLAB_MPI
  std::optional<distributed::SweepOverRanks> over_ranks;
  std::optional<distributed::DataParallelSweep> data_parallel_sweep;
  std::optional<distributed::DataParallelOverRanks> data_parallel;
  std::ostringstream quiet;  // data-parallel: rank 0 alone reports progress
  const distributed::World* world = distributed::current_world();
  ACTLAB_CHECK(!args.data_parallel || (world != nullptr && world->size() > 1),
               "--data-parallel trains each run on several MPI ranks: start it with mpirun -np N (N >= 2), or leave "
               "--data-parallel out to train in this process alone");
  if (world != nullptr && world->size() > 1 && args.data_parallel) {
    options.dispatcher = &data_parallel_sweep.emplace(*world);
    options.data_parallel = &data_parallel.emplace(*world, e.base.deterministic);
    if (world->rank() != 0) options.log = &quiet;
  } else if (world != nullptr && world->size() > 1) {
    options.dispatcher = &over_ranks.emplace(*world);
  }
#else
  ACTLAB_CHECK(!args.data_parallel, "--data-parallel: this actlab is built without MPI; install libopenmpi-dev and "
               "openmpi-bin (scripts/install-deps.sh), rebuild, and start it with mpirun");
#endif
  const StopSignals signals;
  const experiment::Outcome outcome = experiment::run_experiment(e, options);
  if (options.dispatcher != nullptr && !options.dispatcher->coordinator()) return;  // rank 0 reports
  std::cout << "\n" << report::render_markdown(outcome.summary) << "\nwrote " << outcome.out_dir
            << "/{report.html, report.md, summary.json, metrics.jsonl, metrics.csv, config.toml, models/}\n";
  if (outcome.interrupted) {
    std::cerr << "actlab: interrupted; the finished runs are saved in " << outcome.out_dir
              << "; continue with: actlab compare --resume " << outcome.out_dir << '\n';
    std::exit(128 + (signals.received() != 0 ? signals.received() : SIGINT));
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
  compare->add_flag("--overwrite", args->overwrite,
                    "Replace an earlier experiment in --out (its results, models and checkpoints); without it, or "
                    "--resume, an --out that holds one is refused")
      ->excludes("--resume");
  compare->add_flag("--data-parallel", args->data_parallel,
                    "Under mpirun: train each run on all ranks, --batch samples per rank, gradients averaged over "
                    "the ranks (docs/DISTRIBUTED.md); resume such a sweep with the same ranks and this flag");
  compare->add_option("--max-arms", args->max_arms, "Warn when the sweep has more arms than this")
      ->check(CLI::PositiveNumber);
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
