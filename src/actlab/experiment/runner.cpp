#include "actlab/experiment/runner.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "actlab/activations/activation.h"
#include "actlab/autograd/grad_mode.h"
#include "actlab/core/parallel.h"
#include "actlab/core/version.h"
#include "actlab/data/fetch.h"
#include "actlab/data/loader.h"
#include "actlab/data/registry.h"
#include "actlab/diagnostics/dead_units.h"
#include "actlab/diagnostics/init_analysis.h"
#include "actlab/diagnostics/verdicts.h"
#include "actlab/experiment/checkpoint.h"
#include "actlab/experiment/progress.h"
#include "actlab/io/safetensors.h"
#include "actlab/experiment/training.h"
#include "actlab/experiment/verdict_facts.h"
#include "actlab/nn/loss.h"
#include "actlab/optim/clip.h"
#include "actlab/report/report.h"

namespace actlab::experiment {
namespace {

std::atomic<bool> stop_requested{false};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr std::int64_t kSyntheticTrain = 4000;
constexpr std::int64_t kEvalBatch = 1000;

struct Data {
  data::Dataset train;
  std::optional<data::Dataset> validation;
  data::Dataset test;
  data::Normalization normalization;
};

}  // namespace

data::LoadOptions load_options(const Settings& s) {
  data::LoadOptions options;
  if (!s.data_dir.empty()) options.data_dir = s.data_dir;
  options.synthetic.samples = kSyntheticTrain;
  options.synthetic.classes = s.data == "spirals" || s.data == "blobs" ? 3 : 2;
  options.synthetic.noise = s.data == "spirals" ? 0.05 : 0.1;
  return options;
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

struct Evaluation {
  double loss = 0, accuracy = 0;
};

Evaluation evaluate(nn::Module& model, const data::Dataset& dataset, const data::Normalization& normalization) {
  NoGradGuard no_grad;
  model.eval();
  data::DataLoader loader(dataset, data::LoaderOptions().batch_size(kEvalBatch).shuffle(false).normalize(normalization));
  double loss = 0;
  std::int64_t correct = 0;
  for (data::Batch& batch : loader) {
    const Tensor logits = model(batch.images);
    loss += nn::cross_entropy(logits, batch.labels, {.reduction = nn::Reduction::Sum}).item();
    correct += static_cast<std::int64_t>(logits.argmax(1).eq(batch.labels).sum().item());
  }
  model.train();
  return {loss / static_cast<double>(dataset.size()), static_cast<double>(correct) / static_cast<double>(dataset.size())};
}

class MetricsFiles {
 public:
  explicit MetricsFiles(const std::filesystem::path& dir)
      : jsonl_(dir / "metrics.jsonl", std::ios::app), csv_(dir / "metrics.csv", std::ios::app) {
    ACTLAB_CHECK(jsonl_ && csv_, "cannot write metrics into {}", dir.string());
    if (std::filesystem::file_size(dir / "metrics.csv") == 0)
      csv_ << "arm,activation,seed,kind,epoch,step,loss,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,lr,seconds\n";
  }

  void step(const RunResult& run, const StepMetrics& s) {
    jsonl_ << nlohmann::json{{"kind", "step"}, {"arm", run.arm}, {"activation", run.activation}, {"seed", run.seed},
                             {"step", s.step}, {"epoch", s.epoch}, {"loss", s.loss}}.dump() << '\n';
    csv_ << fmt::format("\"{}\",\"{}\",{},step,{:.4f},{},{},,,,,,,,\n", run.arm, run.activation, run.seed, s.epoch, s.step, s.loss);
    flush();
  }

  void epoch(const RunResult& run, const EpochMetrics& e, std::int64_t step) {
    auto optional = [](const std::optional<double>& v) { return v ? fmt::format("{}", *v) : std::string(); };
    jsonl_ << nlohmann::json{{"kind", "epoch"}, {"arm", run.arm}, {"activation", run.activation}, {"seed", run.seed},
                             {"epoch", e.epoch}, {"step", step}, {"train_loss", e.train_loss}, {"train_acc", e.train_acc},
                             {"val_loss", e.val_loss ? nlohmann::json(*e.val_loss) : nlohmann::json()},
                             {"val_acc", e.val_acc ? nlohmann::json(*e.val_acc) : nlohmann::json()},
                             {"test_loss", e.test_loss}, {"test_acc", e.test_acc}, {"lr", e.lr}, {"seconds", e.seconds}}
                  .dump()
           << '\n';
    csv_ << fmt::format("\"{}\",\"{}\",{},epoch,{},{},,{},{},{},{},{},{},{},{}\n", run.arm, run.activation, run.seed, e.epoch,
                        step, e.train_loss, e.train_acc, optional(e.val_loss), optional(e.val_acc), e.test_loss, e.test_acc,
                        e.lr, e.seconds);
    flush();
  }

 private:
  void flush() {
    jsonl_.flush();
    csv_.flush();
  }
  std::ofstream jsonl_, csv_;
};

RunResult train_run(const Arm& arm, std::uint64_t seed, const Data& data, MetricsFiles& metrics, Progress& progress,
                    const std::string& out_dir) {
  const Settings& s = arm.settings;
  RunResult run;
  run.arm = arm.label;
  run.activation = s.activations.front();
  run.axes = arm.axis_values;
  run.seed = seed;
  auto model = make_model(s, data.train.sample_shape(), data.train.num_classes(), seed);
  const std::vector<Tensor> parameters = model->parameters();
  auto optimizer = make_optimizer(s, parameters);
  Schedule schedule(s, *optimizer);
  data::DataLoader loader(data.train,
                          data::LoaderOptions().batch_size(s.batch).seed(seed).normalize(data.normalization));
  progress.start_run(fmt::format("{} · seed {}", arm.label, seed), s.epochs, loader.batches_per_epoch());
  const RunCheckpoint checkpoint(out_dir, arm, seed, data.train.sample_shape(), data.train.class_names,
                                 data.normalization);
  const auto restored = checkpoint.restore(*model, *optimizer, schedule, loader, run);
  const LoopState resume = restored.value_or(LoopState{});
  if (restored)
    progress.print(fmt::format("  resumed from {} at step {}", checkpoint.checkpoint_path().string(), resume.step));
  else
    checkpoint.save(*model, *optimizer, run, resume);  // so a rerun drops this run's partial metrics
  diagnostics::Locator locator(model);
  std::optional<diagnostics::Anomaly> anomaly;
  std::optional<diagnostics::Recorder> recorder;
  const Tensor dead_samples =
      s.diagnostics_every > 0 ? diagnostics::dead_unit_samples(data.train, data.normalization) : Tensor();
  std::vector<diagnostics::DeadUnits> dead_at_init;
  if (s.diagnostics_every > 0) {
    recorder.emplace(model, probe_of(data));
    if (!restored) recorder->record(0);  // a resumed run keeps only the snapshots from here on
    if (!restored) dead_at_init = diagnostics::count_dead_units(*model, dead_samples);
  }

  const auto start = Clock::now();
  double train_seconds = resume.train_seconds;
  std::int64_t step = resume.step, samples = resume.samples;
  double interval_loss = resume.interval_loss;
  std::int64_t interval_steps = resume.interval_steps;
  for (std::int64_t epoch = resume.epoch; epoch <= s.epochs && run.status == "ok"; ++epoch) {
    const auto epoch_start = Clock::now();
    const bool resumed_epoch = epoch == resume.epoch;
    double loss_sum = resumed_epoch ? resume.loss_sum : 0;
    std::int64_t correct = resumed_epoch ? resume.correct : 0, seen = resumed_epoch ? resume.seen : 0,
                 step_in_epoch = resumed_epoch ? resume.step_in_epoch : 0;
    const double lr = optimizer->lr();
    auto loop_state = [&](std::int64_t at_epoch, data::LoaderPosition position) {
      return LoopState{at_epoch, step, samples, interval_loss, interval_steps, loss_sum, correct, seen, step_in_epoch,
                       train_seconds, position};
    };
    for (data::Batch& batch : loader) {
      if (stop_requested.load()) {
        checkpoint.save(*model, *optimizer, run, loop_state(epoch, {loader.position().epoch, step_in_epoch}));
        run.status = "interrupted";
        break;
      }
      ++step;
      ++step_in_epoch;
      Tensor logits;
      double loss_value = NAN;
      try {
        logits = locator.forward(step, batch.images);
        const Tensor loss = nn::cross_entropy(logits, batch.labels);
        loss_value = loss.item();
        if (std::isfinite(loss_value)) {
          optimizer->zero_grad();
          locator.backward(step, loss);
        }
      } catch (const diagnostics::AnomalyError& e) {
        anomaly = e.anomaly;
      }
      if (anomaly || !std::isfinite(loss_value)) {
        run.status = "diverged";
        run.diverged_at_step = step;
        progress.print(fmt::format("  diverged at step {} (epoch {}): {}", step, epoch,
                                   anomaly ? anomaly->describe() : fmt::format("the loss became {}", loss_value)));
        break;
      }
      if (s.clip_norm > 0) optim::clip_grad_norm_(parameters, s.clip_norm);
      const bool snapshot = recorder && step % s.diagnostics_every == 0;
      if (snapshot) recorder->before_update();
      optimizer->step();
      if (snapshot) recorder->record(step);

      const std::int64_t n = batch.labels.numel();
      seen += n;
      samples += n;
      loss_sum += loss_value * static_cast<double>(n);
      correct += static_cast<std::int64_t>(logits.detach().argmax(1).eq(batch.labels).sum().item());
      interval_loss += loss_value;
      ++interval_steps;
      if (step % s.log_every == 0) {
        const StepMetrics m{step, static_cast<double>(epoch - 1) +
                                      static_cast<double>(step_in_epoch) / static_cast<double>(loader.batches_per_epoch()),
                            interval_loss / static_cast<double>(interval_steps)};
        run.steps.push_back(m);
        metrics.step(run, m);
        interval_loss = 0;
        interval_steps = 0;
      }
      const double elapsed = train_seconds + seconds_since(epoch_start);
      progress.step(epoch, step_in_epoch, loss_sum / static_cast<double>(seen),
                    static_cast<double>(correct) / static_cast<double>(seen), static_cast<double>(samples) / elapsed);
      if (checkpoint.due(step))
        checkpoint.save(*model, *optimizer, run, loop_state(epoch, {loader.position().epoch, step_in_epoch}));
    }
    train_seconds += seconds_since(epoch_start);
    if (run.status == "interrupted" || seen == 0) break;
    EpochMetrics e;
    e.epoch = epoch;
    e.seconds = seconds_since(epoch_start);
    e.lr = lr;
    e.train_loss = run.status == "diverged" ? NAN : loss_sum / static_cast<double>(seen);
    e.train_acc = static_cast<double>(correct) / static_cast<double>(seen);
    if (data.validation) {
      const Evaluation v = evaluate(*model, *data.validation, data.normalization);
      e.val_loss = v.loss;
      e.val_acc = v.accuracy;
    }
    const Evaluation t = evaluate(*model, data.test, data.normalization);
    e.test_loss = t.loss;
    e.test_acc = t.accuracy;
    run.epochs.push_back(e);
    metrics.epoch(run, e, step);
    progress.print(fmt::format("  epoch {:>2}  train loss {:.4f} acc {:.2f}%  {}  test loss {:.4f} acc {:.2f}%  ({:.1f}s)",
                               epoch, e.train_loss, e.train_acc * 100,
                               e.val_acc ? fmt::format("val loss {:.4f} acc {:.2f}%", *e.val_loss, *e.val_acc * 100) : "",
                               e.test_loss, e.test_acc * 100, e.seconds));
    schedule.epoch_end(e.val_loss.value_or(e.test_loss));
    if (run.status == "ok") {
      loss_sum = 0;
      correct = seen = step_in_epoch = 0;
      checkpoint.save(*model, *optimizer, run, loop_state(epoch + 1, loader.position()));
    }
  }
  if (run.status != "interrupted") checkpoint.finish(*model, step);
  run.wall_seconds = seconds_since(start);
  if (recorder) {
    if (run.status != "diverged" && recorder->snapshots().back().step != step) recorder->record(step);
    auto facts = verdict_facts(s, run, data.train.num_classes(), s.epochs * loader.batches_per_epoch(), step);
    facts.dead_at_init = std::move(dead_at_init);
    if (run.status != "diverged") facts.dead_at_end = diagnostics::count_dead_units(*model, dead_samples);
    run.diagnostics = diagnostics::to_json(*recorder, thresholds_of(s), anomaly, facts);
    std::string verdicts = diagnostics::format_verdicts(run.diagnostics);
    verdicts.pop_back();  // print adds the line end
    progress.print("  diagnostics:\n" + verdicts);
  } else if (anomaly) {
    run.diagnostics = {{"anomaly", diagnostics::to_json(*anomaly)}};
  }
  run.samples_per_second = train_seconds > 0 ? static_cast<double>(samples) / train_seconds : 0;
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
  for (const auto& arm : experiment.arms()) {
    try {
      init_scheme(arm.settings.init);
      check_schedule(arm.settings.schedule, arm.settings.epochs, "--schedule");
    } catch (const Error& e) {
      fail("{}: {}", arm.label, e.what());
    }
  }
  // The model must fit the data's shape: build it once for the dataset's sample shape.
  const bool image = !data::is_synthetic(s.data);
  const Shape shape = !image ? Shape{2} : s.data == "cifar10" ? Shape{3, 32, 32} : Shape{1, 28, 28};
  for (const auto& arm : experiment.arms()) make_model(arm.settings, shape, 10, 0);
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
  std::filesystem::create_directories(outcome.out_dir);
  if (!options.resume) std::filesystem::remove_all(std::filesystem::path(outcome.out_dir) / "checkpoints");
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
      if (std::any_of(summary.runs.begin(), summary.runs.end(),
                      [&](const RunResult& r) { return r.arm == arm.label && r.seed == seed; }))
        continue;
      summary.runs.push_back(train_run(arm, seed, data, metrics, progress, outcome.out_dir));
      summary.by_activation = summarize(summary.runs, experiment.base.target_acc);
      const auto dir = std::filesystem::path(outcome.out_dir);
      io::write_file_atomically((dir / "summary.json").string(), to_json(summary).dump(2));
      report::write_reports(outcome.out_dir, summary);
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
