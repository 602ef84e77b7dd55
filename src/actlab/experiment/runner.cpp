#include "actlab/experiment/runner.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "actlab/activations/activation.h"
#include "actlab/autograd/grad_mode.h"
#include "actlab/core/failpoint.h"
#include "actlab/core/parallel.h"
#include "actlab/core/version.h"
#include "actlab/data/fetch.h"
#include "actlab/data/loader.h"
#include "actlab/data/registry.h"
#include "actlab/diagnostics/dead_units.h"
#include "actlab/diagnostics/init_analysis.h"
#include "actlab/diagnostics/verdicts.h"
#include "actlab/experiment/checkpoint.h"
#include "actlab/experiment/observers.h"
#include "actlab/experiment/output_folder.h"
#include "actlab/experiment/progress.h"
#include "actlab/experiment/training.h"
#include "actlab/experiment/verdict_facts.h"
#include "actlab/io/safetensors.h"
#include "actlab/report/report.h"
#include "actlab/train/loop.h"

namespace actlab::experiment {
namespace {

std::atomic<bool> stop_requested{false};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr std::int64_t kSyntheticTrain = 4000;

struct Data {
  data::Dataset train;
  std::optional<data::Dataset> validation;
  data::Dataset test;
  data::Normalization normalization;
};

}  // namespace

data::LoadOptions load_options(const Settings& s) {
  std::optional<std::filesystem::path> dir;
  if (!s.data_dir.empty()) dir = s.data_dir;
  return data::default_load_options(s.data, kSyntheticTrain, dir);
}

namespace {

Data load_data(const Settings& s) {
  const auto options = load_options(s);
  Data d;
  data::Dataset train = data::load_dataset(s.data, data::Split::Train, options);
  d.test = data::load_dataset(s.data, data::Split::Test, options);
  if (s.limit_train > 0 && s.limit_train < train.size()) train = train.narrow(0, s.limit_train);
  // The validation set never takes more than a fifth of what is left for training.
  const std::int64_t val = std::min(s.val_size, train.size() / 5);
  if (val > 0) {
    auto split = data::split_validation(train, val);
    d.train = split.train;
    d.validation = split.validation;
  } else {
    d.train = train;
  }
  if (d.train.is_image()) d.normalization = data::channel_stats(d.train);
  return d;
}

// The dataset, or for the default experiment the spirals set when the files are missing and
// cannot be fetched.
Data load_or_fall_back(Experiment& experiment, const RunnerOptions& options, std::ostream& log) {
  try {
    return load_data(experiment.base);
  } catch (const Error& missing) {
    if (!options.fall_back_to_spirals || data::is_synthetic(experiment.base.data)) throw;
    log << "actlab: " << experiment.base.data << " is not available here:\n  " << missing.what() << '\n';
    try {
      data::FetchOptions fetch;
      if (!experiment.base.data_dir.empty()) fetch.data_dir = experiment.base.data_dir;
      fetch.progress = options.tty;
      fetch.connect_timeout_seconds = 5;
      data::fetch_dataset(experiment.base.data, fetch);
      return load_data(experiment.base);
    } catch (const Error& no_fetch) {
      log << "actlab: fetching it failed too:\n  " << no_fetch.what()
          << "\nactlab: running the default experiment on the built-in spirals set instead\n";
    }
    experiment.base.data = "spirals";
    experiment.base.model = "mlp:64x4";
    experiment.base.epochs = std::max<std::int64_t>(experiment.base.epochs, 20);
    experiment.base.batch = 64;
    experiment.base.lr = 0.01;
    experiment.base.target_acc = 0.9;
    return load_data(experiment.base);
  }
}

// The fixed probe batch of the diagnostics: the first validation samples (training ones without).
data::Batch probe_of(const Data& d) {
  return diagnostics::probe_batch(d.validation ? *d.validation : d.train, d.normalization);
}

diagnostics::Thresholds thresholds_of(const Settings& s) {
  return {s.vanishing_ratio, s.exploding_ratio, s.dead_threshold, s.saturation_threshold};
}

// An incomplete last batch of one sample cannot be batch-normalized (its variance is 0): drop
// it, and say so.
bool drop_last_batch(const Settings& s, std::int64_t train_size, Progress& progress) {
  if (s.norm != "batch" || train_size % s.batch != 1 || train_size == 1) return false;
  progress.print(fmt::format("  note: {} training samples in batches of {} leave a last batch of 1, which BatchNorm "
                             "cannot normalize; it is dropped each epoch", train_size, s.batch));
  return true;
}

// Trains one run (or takes its result from a finished checkpoint); the run's checkpoint is
// finished, not removed, on return (see RunCheckpoint).
RunResult train_run(const Arm& arm, std::uint64_t seed, const Data& data, const RunCheckpoint& checkpoint,
                    MetricsFiles& metrics, Progress& progress) {
  const Settings& s = arm.settings;
  RunResult run;
  run.arm = arm.label;
  run.activation = s.activations.front();
  run.axes = arm.axis_values;
  run.seed = seed;
  auto model = make_model(s, data.train.sample_shape(), data.train.num_classes(), seed);
  auto optimizer = make_optimizer(s, model->parameters());
  Schedule schedule(s, *optimizer);
  data::DataLoader loader(data.train, data::LoaderOptions()
                                          .batch_size(s.batch)
                                          .seed(seed)
                                          .normalize(data.normalization)
                                          .drop_last(drop_last_batch(s, data.train.size(), progress)));
  progress.start_run(fmt::format("{} · seed {}", arm.label, seed), s.epochs, loader.batches_per_epoch());
  train::TrainState state;
  if (auto restored = checkpoint.restore(*model, *optimizer, schedule)) {
    state = std::move(restored->state);
    if (restored->result) {
      checkpoint.write_model(*model, state.step);  // a kill may have come before it was written
      return *restored->result;
    }
    progress.print(fmt::format("  resumed from {} at step {}", checkpoint.checkpoint_path().string(), state.step));
  } else {
    checkpoint.save(*model, *optimizer, state);  // so a rerun drops this run's partial metrics
  }

  const std::unique_ptr<train::Task> task_of_data = train::make_task(data::dataset_info(s.data).target);
  const train::Task& task = *task_of_data;
  MetricsWriter metrics_writer(metrics, run);
  ProgressReporter progress_reporter(progress);
  DivergenceLocator locator(model);
  Checkpointer checkpointer(checkpoint);
  std::optional<GradientFlow> gradient_flow;
  std::vector<train::Observer*> observers = {&metrics_writer, &locator};
  const diagnostics::ProbeLoss probe_loss = [&task](const Tensor& output, const data::Batch& b) {
    return task.loss(output, b);
  };
  std::optional<ThroughTime> through_time;
  if (s.diagnostics_every > 0) {
    observers.push_back(&gradient_flow.emplace(model, probe_of(data),
                                               diagnostics::dead_unit_samples(data.train, data.normalization),
                                               s.diagnostics_every, probe_loss));
    if (auto sequence = std::dynamic_pointer_cast<nn::SequenceModel>(model))
      observers.push_back(&through_time.emplace(sequence, probe_of(data), probe_loss, s.diagnostics_every));
  }
  observers.push_back(&progress_reporter);
  observers.push_back(&checkpointer);

  train::LoopOptions options;
  options.step.clip_norm = s.clip_norm;
  options.log_every = s.log_every;
  options.validation = data.validation ? &*data.validation : nullptr;
  options.test = &data.test;
  options.normalization = data.normalization;
  options.schedule = [&](double monitored_loss) { schedule.epoch_end(monitored_loss); };
  options.should_stop = [] { return stop_requested.load(); };
  train::Run context{*model, *optimizer, task, loader, state, s.epochs};
  const auto start = Clock::now();
  train::fit(context, options, observers);

  run.status = state.status;
  run.diverged_at_step = state.diverged_at_step;
  run.epochs = state.epochs;
  run.steps = state.steps;
  run.wall_seconds = seconds_since(start);
  run.samples_per_second = state.train_seconds > 0 ? static_cast<double>(state.samples) / state.train_seconds : 0;
  if (run.status == "diverged")
    progress.print(fmt::format("  diverged at step {}: {}", *run.diverged_at_step,
                               locator.anomaly() ? locator.anomaly()->describe()
                                                 : "the loss or the gradient norm became infinite or NaN"));
  if (gradient_flow) {
    auto facts = verdict_facts(s, run, data.train.num_classes(), s.epochs * loader.batches_per_epoch(), state.step);
    facts.dead_at_init = gradient_flow->dead_at_init(state);
    if (run.status != "diverged") facts.dead_at_end = gradient_flow->count_dead_units();
    run.diagnostics = diagnostics::to_json(gradient_flow->recorder(), thresholds_of(s), locator.anomaly(), facts);
    if (through_time) {
      const auto snapshots = ThroughTime::snapshots(state);
      run.diagnostics["through_time"] = state.observers.at("through_time");
      for (const auto& v : diagnostics::judge_through_time(snapshots, facts))
        run.diagnostics["verdicts"].push_back(
            {{"kind", v.kind}, {"step", v.step}, {"evidence", v.evidence}, {"remedies", v.remedies}});
    }
    std::string verdicts = diagnostics::format_verdicts(run.diagnostics);
    verdicts.pop_back();  // print adds the line end
    progress.print("  diagnostics:\n" + verdicts);
  } else if (locator.anomaly()) {
    run.diagnostics = {{"anomaly", diagnostics::to_json(*locator.anomaly())}};
  }
  if (run.status != "interrupted") checkpoint.finish(*model, *optimizer, state, run);
  return run;
}

std::string default_out_dir(const Settings& s) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::string name;
  for (char c : s.name) name += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '-';
  return fmt::format("runs/{:%Y%m%d-%H%M%S}-{}", fmt::localtime(now), name);
}

nlohmann::json settings_json(const Experiment& e) {
  nlohmann::json j;
  for (const auto& key : setting_keys()) {
    const std::string value = get_setting(e.base, key.key);
    if (key.key == "seeds")
      j[key.key] = e.base.seeds;
    else if (key.key == "activations")
      j[key.key] = e.base.activations;
    else if (key.type == "int")
      j[key.key] = std::stoll(value);
    else if (key.type == "float")
      j[key.key] = std::stod(value);
    else
      j[key.key] = value;
  }
  for (const auto& axis : e.sweep) j["sweep"][axis.key] = axis.values;
  return j;
}

}  // namespace

void request_stop() { stop_requested.store(true); }

nlohmann::json diagnose_at_init(const Experiment& experiment) {
  validate(experiment);
  const auto arms = experiment.arms();
  ACTLAB_CHECK(arms.size() == 1, "diagnose: needs one model, but the settings describe {} arms", arms.size());
  const Settings& s = arms.front().settings;
  const Data data = load_data(s);
  auto model = make_model(s, data.train.sample_shape(), data.train.num_classes(), s.seeds.front());
  const data::Batch probe = probe_of(data);
  diagnostics::Recorder recorder(model, probe);
  recorder.record(0);
  RunResult untrained;
  untrained.seed = s.seeds.front();
  auto facts = verdict_facts(s, untrained, data.train.num_classes(), 0, 0);
  facts.dead_at_init = diagnostics::count_dead_units(*model, diagnostics::dead_unit_samples(data.train, data.normalization));
  nlohmann::json result = diagnostics::to_json(recorder, thresholds_of(s), std::nullopt, facts);
  result["init_analysis"] = diagnostics::to_json(diagnostics::analyse_init(*model, probe));
  return result;
}

void validate(const Experiment& experiment) {
  const Settings& s = experiment.base;
  for (const auto& spec : s.activations) {
    try {
      make_activation(spec);
    } catch (const Error& e) {
      fail("--activations: {}", e.what());
    }
  }
  // The model must fit the data's shape: built once for each distinct model of the sweep, one arm
  // at a time, so a large sweep costs neither the memory of all its arms nor a model per arm.
  const data::DatasetSpec& info = data::dataset_info(s.data);
  std::set<std::string> built;
  for (std::size_t i = 0; i < experiment.arm_count(); ++i) {
    const Arm arm = experiment.arm(i);
    const Settings& a = arm.settings;
    try {
      init_scheme(a.init);
      check_schedule(a.schedule, a.epochs, "--schedule");
    } catch (const Error& e) {
      fail("{}: {}", arm.label, e.what());
    }
    const std::string model = fmt::format("{}|{}|{}|{}|{}|{}", a.model, a.activations.front(), a.init, a.norm,
                                          a.dropout, a.max_parameters);
    if (built.insert(model).second) make_model(a, info.sample_shape, info.classes, 0);
  }
}

Outcome run_experiment(Experiment experiment, const RunnerOptions& options) {
  std::ostream& log = options.log ? *options.log : std::cerr;
  stop_requested.store(false);
  validate(experiment);
  if (experiment.base.threads > 0) set_num_threads(static_cast<int>(experiment.base.threads));
  set_deterministic(experiment.base.deterministic);

  const Data data = load_or_fall_back(experiment, options, log);
  Outcome outcome;
  outcome.out_dir = experiment.base.out.empty() ? default_out_dir(experiment.base) : experiment.base.out;
  const OutputFolder folder(outcome.out_dir, options.resume      ? ExistingExperiment::Resume
                                             : options.overwrite ? ExistingExperiment::Overwrite
                                                                 : ExistingExperiment::Refuse);
  io::write_file_atomically((std::filesystem::path(outcome.out_dir) / "config.toml").string(), to_toml(experiment));
  MetricsFiles metrics(outcome.out_dir);

  Summary& summary = outcome.summary;
  if (options.resume) summary.runs = finished_runs(outcome.out_dir);
  summary.experiment = experiment.base.name;
  summary.settings = settings_json(experiment);
  summary.environment = {cpu_model(), num_threads(), std::string(kVersion)};

  const auto arms = experiment.arms();
  log << fmt::format("actlab compare: {} arm(s) x {} seed(s) on {} ({} train, {} validation, {} test samples), "
                     "model {}, {} epochs, {} lr {}, batch {}\n",
                     arms.size(), experiment.base.seeds.size(), experiment.base.data, data.train.size(),
                     data.validation ? data.validation->size() : 0, data.test.size(), experiment.base.model,
                     experiment.base.epochs, experiment.base.optimizer, experiment.base.lr, experiment.base.batch);
  log << "output: " << outcome.out_dir << '\n';
  Progress progress(log, options.tty);
  const std::int64_t steps_per_epoch = (data.train.size() + experiment.base.batch - 1) / experiment.base.batch;
  progress.start_sweep(static_cast<std::int64_t>(arms.size() * experiment.base.seeds.size()) * experiment.base.epochs *
                       steps_per_epoch);
  for (const auto& arm : arms) {
    for (std::uint64_t seed : experiment.base.seeds) {
      const RunCheckpoint checkpoint(outcome.out_dir, arm, seed, data.train.sample_shape(), data.train.class_names,
                                     data.normalization);
      if (std::any_of(summary.runs.begin(), summary.runs.end(),
                      [&](const RunResult& r) { return r.arm == arm.label && r.seed == seed; })) {
        checkpoint.remove();  // left by a kill between the summary and the removal
        continue;
      }
      summary.runs.push_back(train_run(arm, seed, data, checkpoint, metrics, progress));
      failpoint("run.finished");
      summary.by_activation = summarize(summary.runs, experiment.base.target_acc);
      const auto dir = std::filesystem::path(outcome.out_dir);
      io::write_file_atomically((dir / "summary.json").string(), to_json(summary).dump(2));
      report::write_reports(outcome.out_dir, summary);
      failpoint("run.summarized");
      if (summary.runs.back().status != "interrupted") checkpoint.remove();
      if (summary.runs.back().status == "interrupted") {
        outcome.interrupted = true;
        progress.finish();
        return outcome;
      }
    }
  }
  progress.finish();
  return outcome;
}

}  // namespace actlab::experiment
