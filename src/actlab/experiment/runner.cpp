#include "actlab/experiment/runner.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
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
#include "actlab/experiment/dispatch.h"
#include "actlab/experiment/observers.h"
#include "actlab/experiment/output_folder.h"
#include "actlab/experiment/progress.h"
#include "actlab/experiment/tensorboard.h"
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

// An incomplete last batch too short to train on is dropped each epoch, and the run says so:
// BatchNorm cannot normalize one sample (its variance is 0), and each of the `shards` parts of a
// batch (ranks x micro-batches) needs a sample, two with BatchNorm.
bool drop_last_batch(const Settings& s, std::int64_t train_size, std::int64_t batch, std::int64_t shards,
                     Progress& progress) {
  const std::int64_t last = train_size % batch;
  if (last == 0 || train_size < batch) return false;
  if (s.norm == "batch" && last == 1) {
    progress.print(fmt::format("  note: {} training samples in batches of {} leave a last batch of 1, which BatchNorm "
                               "cannot normalize; it is dropped each epoch", train_size, batch));
    return true;
  }
  const std::int64_t per_part = s.norm == "batch" ? 2 : 1;
  if (last >= per_part * shards) return false;
  progress.print(fmt::format("  note: {} training samples in batches of {} leave a last batch of {}, too few for {} "
                             "parts (ranks x --accumulate) of {} sample(s) or more; it is dropped each epoch",
                             train_size, batch, last, shards, per_part));
  return true;
}

// Trains one run (or takes its result from a finished checkpoint); the run's checkpoint is
// finished, not removed, on return (see RunCheckpoint). With a data-parallel `group`, only its
// process 0 writes files (`metrics` is null on the others).
RunResult train_run(const Arm& arm, std::uint64_t seed, const Data& data, const RunCheckpoint& checkpoint,
                    MetricsFiles* metrics, Progress& progress, train::DataParallelGroup* group) {
  const Settings& s = arm.settings;
  const bool writer = group == nullptr || group->rank() == 0;  // data-parallel: process 0 writes the files
  RunResult run;
  run.arm = arm.label;
  run.activation = s.activations.front();
  run.axes = arm.axis_values;
  run.seed = seed;
  auto model = make_model(s, data.train.sample_shape(), data.train.num_classes(), seed);
  auto optimizer = make_optimizer(s, model->parameters());
  Schedule schedule(s, *optimizer);
  const std::int64_t ranks = group ? group->size() : 1, batch = s.batch * ranks;
  data::DataLoader loader(data.train, data::LoaderOptions()
                                          .batch_size(batch)
                                          .seed(seed)
                                          .normalize(data.normalization)
                                          .drop_last(drop_last_batch(s, data.train.size(), batch,
                                                                     ranks * s.accumulate, progress)));
  const std::string title = fmt::format("{} · seed {}", arm.label, seed);
  progress.start_run(title, s.epochs, loader.batches_per_epoch());
  train::TrainState state;
  std::optional<RunCheckpoint::Restored> restored;
  if (writer) {
    restored = checkpoint.restore(*model, *optimizer, schedule);
    if (!restored) checkpoint.save(*model, *optimizer, state);  // so a rerun drops this run's partial metrics
  }
  if (group) {
    group->barrier();  // the other processes read the checkpoint process 0 has settled
    if (!writer) restored = checkpoint.restore(*model, *optimizer, schedule, false);
  }
  if (restored) {
    state = std::move(restored->state);
    if (restored->result) {
      if (writer) checkpoint.write_model(*model, state.step);  // a kill may have come before it was written
      return *restored->result;
    }
    progress.print(fmt::format("  resumed from {} at step {}", checkpoint.checkpoint_path().string(), state.step));
  }

  const std::unique_ptr<train::Task> task_of_data = train::make_task(data::dataset_info(s.data).target);
  const train::Task& task = *task_of_data;
  std::optional<MetricsWriter> metrics_writer;
  ProgressReporter progress_reporter(progress);
  DivergenceLocator locator(model);
  Checkpointer checkpointer(checkpoint);
  std::optional<GradientFlow> gradient_flow;
  std::vector<train::Observer*> observers;
  if (writer) observers.push_back(&metrics_writer.emplace(*metrics, run));
  observers.push_back(&locator);
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
  std::optional<TensorBoardWriter> tensorboard;
  if (writer && !s.tensorboard.empty())
    observers.push_back(&tensorboard.emplace(std::filesystem::path(s.tensorboard) / run_file_name(arm.label, seed),
                                             title, s, gradient_flow ? &gradient_flow->recorder() : nullptr));
  if (writer) observers.push_back(&progress_reporter);
  if (writer) observers.push_back(&checkpointer);

  train::LoopOptions options;
  options.step.clip_norm = s.clip_norm;
  options.step.accumulate = s.accumulate;
  options.log_every = s.log_every;
  options.validation = data.validation ? &*data.validation : nullptr;
  options.test = &data.test;
  options.normalization = data.normalization;
  options.schedule = [&](double monitored_loss) { schedule.epoch_end(monitored_loss); };
  options.should_stop = [] { return stop_requested.load(); };
  options.data_parallel = group;
  train::Run context{*model, *optimizer, task, loader, state, s.epochs};
  const auto start = Clock::now();
  const double exchange_before = group ? group->exchange_seconds() : 0;
  train::fit(context, options, observers);
  if (group && state.train_seconds > 0)
    progress.print(fmt::format("  data-parallel over {} processes: the gradient exchange took {:.1f}% of the training "
                               "time ({:.3f} s)", group->size(),
                               100 * (group->exchange_seconds() - exchange_before) / state.train_seconds,
                               group->exchange_seconds() - exchange_before));

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
  if (run.status != "interrupted" && writer) checkpoint.finish(*model, *optimizer, state, run);
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
  for (const auto& figure : e.published)
    j["published"].push_back({{"arm", figure.arm}, {"metric", figure.metric}, {"value", figure.value}, {"source", figure.source}});
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

Experiment diagnose_defaults() {
  Experiment e;
  e.base.name = "diagnose";
  e.base.activations = {"relu"};
  e.base.epochs = 1;
  e.base.limit_train = 10000;
  e.base.diagnostics_every = 20;
  return e;
}

Diagnosis diagnose(Experiment experiment, bool at_init, const RunnerOptions& options) {
  experiment.base.seeds.resize(1);
  const std::size_t arms = experiment.arm_count();
  ACTLAB_CHECK(arms == 1,
               "diagnose: looks at one model, but these settings make {} arms; give one activation (--activations "
               "relu) and no [sweep] (use actlab compare to compare several)",
               arms);
  if (at_init) return {diagnose_at_init(experiment), ""};
  ACTLAB_CHECK(experiment.base.diagnostics_every > 0, "diagnose: --diagnostics-every must be at least 1");
  Outcome outcome = run_experiment(std::move(experiment), options);
  ACTLAB_CHECK(!outcome.summary.runs.empty(), "diagnose: stopped before the run began; nothing to diagnose");
  return {std::move(outcome.summary.runs.front().diagnostics), outcome.out_dir};
}

std::string diagnosis_text(const nlohmann::json& diagnostics) {
  std::string text = diagnostics::format_table(diagnostics);
  if (diagnostics.contains("init_analysis"))
    text += "\nat initialization, per fully-connected layer (Glorot & Bengio 2010):\n" +
            diagnostics::format_init_analysis(diagnostics["init_analysis"]);
  return text + "\nverdicts:\n" + diagnostics::format_verdicts(diagnostics);
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
      ACTLAB_CHECK(a.accumulate <= a.batch, "--accumulate {} splits each batch of {} samples into {} micro-batches of "
                   "at least one sample each; use an --accumulate of at most --batch, or a larger --batch",
                   a.accumulate, a.batch, a.accumulate);
    } catch (const Error& e) {
      fail("{}: {}", arm.label, e.what());
    }
    const std::string model = fmt::format("{}|{}|{}|{}|{}|{}", a.model, a.activations.front(), a.init, a.norm,
                                          a.dropout, a.max_parameters);
    if (built.insert(model).second) make_model(a, info.sample_shape, info.classes, 0);
  }
}

namespace {

// Every run here, in sweep order.
class InOrder final : public RunDispatcher {
 public:
  bool coordinator() const override { return true; }
  bool concurrent() const override { return false; }
  void run(const SweepWork& work) override {
    for (const std::size_t i : work.prepare())
      if (!work.record(i, work.train(i))) return;
  }
};

}  // namespace

Outcome run_experiment(Experiment experiment, const RunnerOptions& options) {
  std::ostream& log = options.log ? *options.log : std::cerr;
  stop_requested.store(false);
  validate(experiment);
  if (experiment.base.threads > 0) set_num_threads(static_cast<int>(experiment.base.threads));
  set_deterministic(experiment.base.deterministic);
  InOrder in_order;
  RunDispatcher& dispatcher = options.dispatcher ? *options.dispatcher : in_order;

  const Data data = load_or_fall_back(experiment, options, log);
  Outcome outcome;
  outcome.out_dir = experiment.base.out.empty() ? default_out_dir(experiment.base) : experiment.base.out;
  const std::filesystem::path dir(outcome.out_dir);
  Summary& summary = outcome.summary;
  summary.experiment = experiment.base.name;
  summary.settings = settings_json(experiment);
  summary.environment = {cpu_model(), num_threads(), std::string(kVersion)};

  const auto arms = experiment.arms();
  const std::vector<std::uint64_t>& seeds = experiment.base.seeds;
  Progress progress(log, options.tty);
  const std::int64_t steps_per_epoch = (data.train.size() + experiment.base.batch - 1) / experiment.base.batch;
  progress.start_sweep(static_cast<std::int64_t>(arms.size() * seeds.size()) * experiment.base.epochs *
                       steps_per_epoch);

  auto checkpoint_of = [&](std::size_t run, const MetricsPaths& metrics) {
    return RunCheckpoint(dir, arms[run / seeds.size()], seeds[run % seeds.size()], data.train.sample_shape(),
                         data.train.class_names, data.normalization, metrics);
  };
  std::map<std::string, std::size_t> arm_of_label;
  for (std::size_t i = 0; i < arms.size(); ++i) arm_of_label.emplace(arms[i].label, i);
  auto sweep_index = [&](const RunResult& r) {
    const auto arm = arm_of_label.find(r.arm);
    const auto seed = std::find(seeds.begin(), seeds.end(), r.seed);
    return (arm == arm_of_label.end() ? arms.size() : arm->second) * seeds.size() +
           static_cast<std::size_t>(seed - seeds.begin());
  };
  // Runs that may train at the same time (and a sweep that began so) write their own metrics files.
  bool own_metrics = dispatcher.concurrent();
  std::optional<OutputFolder> folder;
  std::optional<MetricsFiles> shared_files;

  SweepWork work;
  work.prepare = [&] {
    const ExistingExperiment existing = options.resume      ? ExistingExperiment::Resume
                                        : options.overwrite ? ExistingExperiment::Overwrite
                                                            : ExistingExperiment::Refuse;
    folder.emplace(dir, existing);
    if (!experiment.base.tensorboard.empty()) {
      std::vector<std::string> run_names;
      for (const auto& arm : arms)
        for (std::uint64_t seed : seeds) run_names.push_back(run_file_name(arm.label, seed));
      claim_tensorboard_folder(experiment.base.tensorboard, run_names, existing);
    }
    io::write_file_atomically((dir / "config.toml").string(), to_toml(experiment));
    log << fmt::format("actlab compare: {} arm(s) x {} seed(s) on {} ({} train, {} validation, {} test samples), "
                       "model {}, {} epochs, {} lr {}, batch {}\n",
                       arms.size(), seeds.size(), experiment.base.data, data.train.size(),
                       data.validation ? data.validation->size() : 0, data.test.size(), experiment.base.model,
                       experiment.base.epochs, experiment.base.optimizer, experiment.base.lr, experiment.base.batch);
    log << "output: " << outcome.out_dir << '\n';
    own_metrics = own_metrics || std::filesystem::exists(dir / kRunMetricsFolder);
    if (own_metrics) {
      { const MetricsFiles with_header(dir); }  // the shared files, with the CSV's header, for the runs to join
      begin_run_metrics(dir);
    } else {
      shared_files.emplace(dir);
    }
    if (options.resume) summary.runs = finished_runs(dir);
    std::set<std::size_t> finished;
    for (const RunResult& r : summary.runs) finished.insert(sweep_index(r));
    std::vector<std::size_t> pending;
    for (std::size_t run = 0; run < arms.size() * seeds.size(); ++run) {
      if (finished.contains(run))
        checkpoint_of(run, shared_metrics(dir)).remove();  // left by a kill between the summary and the removal
      else
        pending.push_back(run);
    }
    return pending;
  };
  work.train = [&](std::size_t run) {
    const Arm& arm = arms[run / seeds.size()];
    const std::uint64_t seed = seeds[run % seeds.size()];
    const MetricsPaths paths = own_metrics ? run_metrics(dir, arm.label, seed) : shared_metrics(dir);
    std::optional<MetricsFiles> own_files;
    MetricsFiles* metrics = own_metrics ? &own_files.emplace(paths) : shared_files ? &*shared_files : nullptr;
    return train_run(arm, seed, data, checkpoint_of(run, paths), metrics, progress, options.data_parallel);
  };
  work.record = [&](std::size_t run, const RunResult& result) {
    // In sweep order, whichever process finished first.
    summary.runs.insert(std::upper_bound(summary.runs.begin(), summary.runs.end(), run,
                                         [&](std::size_t i, const RunResult& r) { return i < sweep_index(r); }),
                        result);
    failpoint("run.finished");
    summary.by_activation = summarize(summary.runs, experiment.base.target_acc);
    io::write_file_atomically((dir / "summary.json").string(), to_json(summary).dump(2));
    report::write_reports(outcome.out_dir, summary);
    failpoint("run.summarized");
    if (result.status == "interrupted") {
      outcome.interrupted = true;
      return false;
    }
    checkpoint_of(run, shared_metrics(dir)).remove();
    return true;
  };
  dispatcher.run(work);
  if (dispatcher.coordinator() && own_metrics && !outcome.interrupted) {
    std::vector<std::pair<std::string, std::uint64_t>> runs;
    for (const Arm& arm : arms)
      for (const std::uint64_t seed : seeds) runs.emplace_back(arm.label, seed);
    assemble_run_metrics(dir, runs);
  }
  progress.finish();
  return outcome;
}

}  // namespace actlab::experiment
