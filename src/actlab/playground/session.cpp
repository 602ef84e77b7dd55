#include "actlab/playground/session.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>

#include "actlab/autograd/grad_mode.h"
#include "actlab/core/error.h"
#include "actlab/core/version.h"
#include "actlab/data/loader.h"
#include "actlab/data/registry.h"
#include "actlab/data/synthetic.h"
#include "actlab/diagnostics/recorder.h"
#include "actlab/diagnostics/verdicts.h"
#include "actlab/experiment/training.h"
#include "actlab/io/safetensors.h"
#include "actlab/nn/activation.h"
#include "actlab/nn/layers.h"
#include "actlab/nn/models.h"
#include "actlab/train/loop.h"

namespace actlab::playground {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kSurfaceGrid = 40;       // decision surface: kSurfaceGrid^2 points
constexpr std::int64_t kUnitGrid = 12;          // per-unit thumbnails
constexpr std::int64_t kShownUnits = 16;        // thumbnails and links per layer
constexpr std::int64_t kDiagnosticsEvery = 10;  // steps between Recorder snapshots
constexpr auto kDiagnosticsInterval = std::chrono::milliseconds(100);
constexpr std::size_t kMaxSnapshots = 120;  // older snapshots are thinned out beyond this
constexpr auto kImageMetricsInterval = std::chrono::milliseconds(500);
constexpr std::size_t kShownMisclassified = 12;

// One input feature (a name of feature_names()) of the point (x1, x2).
float feature(const std::string& name, float x1, float x2) {
  if (name == "x1") return x1;
  if (name == "x2") return x2;
  if (name == "x1^2") return x1 * x1;
  if (name == "x2^2") return x2 * x2;
  if (name == "x1x2") return x1 * x2;
  if (name == "sin x1") return std::sin(x1);
  return std::sin(x2);
}

// The input columns of 2-D points [N, 2] for the chosen features.
Tensor feature_columns(const std::vector<float>& xy, const std::vector<std::string>& features) {
  const std::size_t n = xy.size() / 2, f = features.size();
  std::vector<float> out(n * f);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < f; ++j) out[i * f + j] = feature(features[j], xy[2 * i], xy[2 * i + 1]);
  return from_vector(out, {static_cast<std::int64_t>(n), static_cast<std::int64_t>(f)});
}

// Points of a size x size grid over [-extent, extent]^2, row by row from the top (x2 = extent).
std::vector<float> grid_points(std::int64_t size, double extent) {
  std::vector<float> xy;
  xy.reserve(static_cast<std::size_t>(2 * size * size));
  for (std::int64_t r = 0; r < size; ++r)
    for (std::int64_t c = 0; c < size; ++c) {
      xy.push_back(static_cast<float>(-extent + 2 * extent * (c + 0.5) / size));
      xy.push_back(static_cast<float>(extent - 2 * extent * (r + 0.5) / size));
    }
  return xy;
}

// Cross-entropy plus an L1 penalty on the weight matrices.
class PenalizedClassification final : public train::Task {
 public:
  PenalizedClassification(double l1, std::vector<Tensor> weights) : l1_(l1), weights_(std::move(weights)) {}
  std::string name() const override { return "classification"; }
  Tensor loss(const Tensor& output, const data::Batch& batch) const override {
    Tensor loss = plain_.loss(output, batch);
    if (l1_ > 0)
      for (const Tensor& w : weights_) loss = loss + w.abs().sum() * l1_;
    return loss;
  }
  std::optional<double> correct(const Tensor& output, const data::Batch& batch) const override {
    return plain_.correct(output, batch);
  }

 private:
  train::Classification plain_;
  double l1_;
  std::vector<Tensor> weights_;
};

json optional_json(const std::optional<double>& v) { return v && std::isfinite(*v) ? json(*v) : json(nullptr); }

}  // namespace

struct Session::State {
  Config config;
  std::chrono::milliseconds view_interval;
  data::Dataset train_set, test_set;
  double extent = 1;  // 2-D sets: half the side of the plotted square
  Tensor surface_inputs, unit_inputs;

  // Rebuilt by reset(); the worker holds model_mutex while it trains.
  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<PenalizedClassification> task;
  std::unique_ptr<data::DataLoader> loader;
  std::unique_ptr<diagnostics::Recorder> recorder;
  train::TrainState train_state;
  std::mutex model_mutex;

  json metrics = json::object(), confusion = nullptr, misclassified = nullptr, diagnostics = nullptr,
       verdicts = json::array();
  Clock::time_point last_view{}, last_metrics{};
  std::int64_t last_diagnostics_step = -1;
  Clock::time_point last_diagnostics_time{};

  // Controls, under `mutex`: the steps still to train (-1: until paused).
  std::mutex mutex;
  std::condition_variable changed;
  std::int64_t budget = 0;
  bool reset_requested = false, stopping = false;
  std::atomic<int> model_requests{0};
  View view;
  std::thread worker;

  void load_data(const std::optional<std::filesystem::path>& data_dir);
  void reset();
  void train_until_stopped();
  bool should_stop();
  void publish(bool force);
  json make_view();
  void update_metrics();
  void record_diagnostics();
  void add_plane_views(json& view);
  void work();
};

void Session::State::load_data(const std::optional<std::filesystem::path>& data_dir) {
  const Config& c = config;
  const auto train_count = static_cast<std::int64_t>(std::llround(c.samples * c.train_ratio));
  if (c.is_image()) {
    data::LoadOptions options;
    options.data_dir = data_dir;
    const data::Dataset train = data::load_dataset(c.data, data::Split::Train, options);
    const data::Dataset test = data::load_dataset(c.data, data::Split::Test, options);
    train_set = train.narrow(0, std::min(train_count, train.size()));
    test_set = test.narrow(0, std::min(c.samples - train_count, test.size()));
    return;
  }
  data::SyntheticOptions options{.samples = c.samples, .noise = c.noise, .classes = c.classes, .seed = c.data_seed};
  const data::Dataset points = data::make_synthetic(c.data, options);
  const std::vector<float> xy = points.inputs.to_vector<float>();
  double largest = 0;
  for (float v : xy) largest = std::max(largest, static_cast<double>(std::abs(v)));
  extent = std::max(0.5, std::ceil(largest * 11) / 10);
  data::Dataset all = points;
  all.inputs = feature_columns(xy, c.features);
  train_set = all.narrow(0, train_count);
  test_set = all.narrow(train_count, all.size());
  surface_inputs = feature_columns(grid_points(kSurfaceGrid, extent), c.features);
  unit_inputs = feature_columns(grid_points(kUnitGrid, extent), c.features);
}

void Session::State::reset() {
  const Config& c = config;
  nn::ModelOptions options;
  options.activation = c.activations.empty() ? "relu" : c.activations.front();
  options.layer_activations = c.activations;
  options.init = experiment::init_scheme(c.init);
  options.norm = norm_of(c);
  options.dropout = c.dropout;
  options.seed = c.seed;
  std::int64_t inputs = 1;
  for (auto d : train_set.sample_shape()) inputs *= d;
  model = nn::mlp(inputs, c.hidden, train_set.num_classes(), options);
  experiment::Settings settings;
  settings.optimizer = c.optimizer;
  settings.lr = c.lr;
  settings.weight_decay = c.l2;
  optimizer = experiment::make_optimizer(settings, model->parameters());
  std::vector<Tensor> weights;
  for (const auto& [name, tensor] : model->named_parameters())
    if (name.ends_with("weight") && tensor.dim() == 2) weights.push_back(tensor);
  task = std::make_unique<PenalizedClassification>(c.l1, std::move(weights));
  loader = std::make_unique<data::DataLoader>(train_set,
                                              data::LoaderOptions().batch_size(c.batch).seed(c.seed).prefetch(false));
  recorder = std::make_unique<diagnostics::Recorder>(model, diagnostics::probe_batch(train_set, {}));
  train_state = train::TrainState{};
  last_diagnostics_step = -1;
  confusion = nullptr;
  record_diagnostics();
  update_metrics();
}

bool Session::State::should_stop() {
  std::lock_guard lock(mutex);
  if (stopping || reset_requested || model_requests > 0 || budget == 0) return true;
  if (budget > 0) --budget;
  return false;
}

namespace {

// Publishes the views of a run as it trains.
class ViewObserver final : public train::Observer {
 public:
  explicit ViewObserver(Session::State& state) : state_(state) {}
  // A snapshot costs about a step on kProbeSamples samples: one every kDiagnosticsEvery steps, at
  // most one per kDiagnosticsInterval, keeps it a small part of the training time.
  void on_after_backward(train::Run& run, const data::Batch&, const train::StepResult&) override {
    due_ = run.state.step + 1 - state_.last_diagnostics_step >= kDiagnosticsEvery &&
           Clock::now() - state_.last_diagnostics_time >= kDiagnosticsInterval;
    if (due_) state_.recorder->before_update();
  }
  void on_step_end(train::Run&, const train::StepResult&) override {
    if (due_) state_.record_diagnostics();
    state_.publish(false);
  }
  void on_run_end(train::Run&) override { state_.publish(true); }

 private:
  Session::State& state_;
  bool due_ = false;
};

}  // namespace

void Session::State::train_until_stopped() {
  std::lock_guard lock(model_mutex);
  train::Run run{*model, *optimizer, *task, *loader, train_state, std::numeric_limits<std::int32_t>::max()};
  train::LoopOptions options;
  options.test = &test_set;
  options.log_every = 10;
  options.should_stop = [this] { return should_stop(); };
  ViewObserver observer(*this);
  train::fit(run, options, {&observer});
  if (train_state.finished) {  // diverged: nothing more to train until a reset
    std::lock_guard guard(mutex);
    budget = 0;
  }
}

namespace {

// While alive, the worker leaves the model alone: it stops training before its next step and
// waits until the access ends.
class ModelAccess {
 public:
  explicit ModelAccess(Session::State& state) : state_(state) {
    ++state_.model_requests;
    lock_ = std::unique_lock(state_.model_mutex);
  }
  ~ModelAccess() {
    lock_.unlock();
    {
      std::lock_guard guard(state_.mutex);
      --state_.model_requests;
    }
    state_.changed.notify_all();
  }
  ModelAccess(const ModelAccess&) = delete;
  ModelAccess& operator=(const ModelAccess&) = delete;

 private:
  Session::State& state_;
  std::unique_lock<std::mutex> lock_;
};

}  // namespace

void Session::State::update_metrics() {
  const Clock::time_point now = Clock::now();
  train::Classification plain;
  const train::Score train_score = train::evaluate(*model, plain, train_set, {});
  const train::Score test_score = train::evaluate(*model, plain, test_set, {});
  metrics = {{"step", train_state.step},
             {"train_loss", optional_json(train_score.loss())},
             {"train_acc", optional_json(train_score.accuracy())},
             {"test_loss", optional_json(test_score.loss())},
             {"test_acc", optional_json(test_score.accuracy())}};
  last_metrics = now;
  if (!config.is_image()) return;
  NoGradGuard no_grad;
  model->eval();
  const Tensor predicted = model->forward(data::to_float32(test_set)).argmax(1);
  model->train();
  const auto labels = test_set.labels.to_vector<std::int64_t>();
  const auto guesses = predicted.to_vector<std::int64_t>();
  const auto k = static_cast<std::size_t>(test_set.num_classes());
  std::vector<std::vector<std::int64_t>> matrix(k, std::vector<std::int64_t>(k, 0));
  for (std::size_t i = 0; i < labels.size(); ++i) ++matrix[labels[i]][guesses[i]];
  confusion = matrix;
  // The first few misclassified test images, with their pixels (channels first).
  const Shape shape = test_set.sample_shape();
  const auto pixels = static_cast<std::size_t>(shape[0] * shape[1] * shape[2]);
  const std::vector<std::uint8_t> bytes = test_set.inputs.contiguous().to_vector<std::uint8_t>();
  misclassified = json::array();
  for (std::size_t i = 0; i < labels.size() && misclassified.size() < kShownMisclassified; ++i)
    if (labels[i] != guesses[i])
      misclassified.push_back(
          {{"label", labels[i]},
           {"predicted", guesses[i]},
           {"shape", shape},
           {"pixels", std::vector<int>(bytes.begin() + i * pixels, bytes.begin() + (i + 1) * pixels)}});
}

void Session::State::record_diagnostics() {
  const diagnostics::Snapshot& snapshot = recorder->record(train_state.step);
  last_diagnostics_step = train_state.step;
  last_diagnostics_time = Clock::now();
  if (recorder->snapshots().size() > kMaxSnapshots) {
    std::vector<diagnostics::Snapshot> kept;
    const auto& all = recorder->snapshots();
    for (std::size_t i = 0; i < all.size(); i += 2) kept.push_back(all[i]);
    if (kept.back().step != all.back().step) kept.push_back(all.back());
    recorder->restore(std::move(kept));
  }
  json layers = json::array();
  const auto& infos = recorder->layers();
  for (std::size_t i = 0; i < infos.size(); ++i) {
    const diagnostics::LayerStats& s = snapshot.layers[i];
    layers.push_back({{"name", infos[i].name},
                      {"type", infos[i].type},
                      {"weighted", infos[i].weighted},
                      {"activation", infos[i].activation},
                      {"grad_norm", optional_json(s.grad_norm)},
                      {"weight_grad_norm", optional_json(s.weight_grad_norm)},
                      {"update_ratio", optional_json(s.update_ratio)},
                      {"dead", optional_json(s.dead_fraction)},
                      {"saturated", optional_json(s.saturated_fraction)},
                      {"mean", optional_json(s.mean)},
                      {"std", optional_json(s.std)},
                      {"histogram", s.histogram}});
  }
  diagnostics = {{"step", snapshot.step},
                 {"loss", optional_json(snapshot.loss)},
                 {"layers", layers},
                 {"histogram_range", diagnostics::kHistogramRange}};
  diagnostics::RunFacts facts;
  facts.classes = train_set.num_classes();
  facts.steps_done = train_state.step;
  facts.diverged_at_step = train_state.diverged_at_step;
  for (const auto& s : train_state.steps) facts.step_losses.emplace_back(s.step, s.loss);
  // The settings in effect, each as its own default: remedies already in effect are left out,
  // and each remedy's command line names only its change.
  const std::string activation = config.activations.empty() ? "relu" : config.activations.front();
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"activations", activation},
                                                        {"init", config.init},
                                                        {"norm", config.norm},
                                                        {"optimizer", config.optimizer},
                                                        {"lr", fmt::format("{}", config.lr)},
                                                        {"dropout", fmt::format("{}", config.dropout)},
                                                        {"weight_decay", fmt::format("{}", config.l2)},
                                                        {"clip_norm", "0"}})
    facts.settings.push_back({key, value, value});
  verdicts = json::array();
  for (const auto& v : diagnostics::judge(infos, recorder->snapshots(), diagnostics::Thresholds{}, std::nullopt, facts))
    verdicts.push_back({{"kind", v.kind}, {"step", v.step}, {"evidence", v.evidence}, {"remedies", v.remedies}});
}

void Session::State::add_plane_views(json& view) {
  NoGradGuard no_grad;
  model->eval();
  const std::vector<float> logits = model->forward(surface_inputs).to_vector<float>();
  const auto k = static_cast<std::size_t>(train_set.num_classes());
  // Per grid point: the winning class * 100 + its probability in percent.
  std::vector<int> surface;
  surface.reserve(logits.size() / k);
  for (std::size_t p = 0; p < logits.size() / k; ++p) {
    const float* row = &logits[p * k];
    const std::size_t best = static_cast<std::size_t>(std::max_element(row, row + k) - row);
    double total = 0;
    for (std::size_t j = 0; j < k; ++j) total += std::exp(static_cast<double>(row[j] - row[best]));
    surface.push_back(static_cast<int>(best * 100 + std::lround(100.0 / total)));
  }
  view["surface"] = {{"size", kSurfaceGrid}, {"classes", k}, {"extent", extent}, {"values", surface}};

  json units = json::array(), links = json::array();
  Tensor x = unit_inputs;
  std::int64_t shown_inputs = std::min<std::int64_t>(kShownUnits, x.size(1));
  for (std::size_t i = 0; i < model->size(); ++i) {
    const auto& layer = (*model)[i];
    x = layer->forward(x);
    if (const auto* linear = dynamic_cast<const nn::Linear*>(layer.get())) {
      const std::int64_t outs = std::min<std::int64_t>(kShownUnits, linear->weight.size(0));
      const Tensor w = linear->weight.narrow(0, 0, outs).narrow(1, 0, shown_inputs).contiguous();
      std::vector<float> values = w.to_vector<float>();
      std::vector<double> rounded(values.begin(), values.end());
      for (double& v : rounded) v = std::round(v * 1000) / 1000;
      links.push_back({{"rows", outs}, {"cols", shown_inputs}, {"values", rounded}});
      shown_inputs = outs;
    }
    if (dynamic_cast<const nn::Activation*>(layer.get()) == nullptr) continue;
    const std::int64_t shown = std::min<std::int64_t>(kShownUnits, x.size(1));
    const std::vector<float> out = x.narrow(1, 0, shown).contiguous().to_vector<float>();
    float largest = 1e-6f;
    for (float v : out) largest = std::max(largest, std::isfinite(v) ? std::abs(v) : 0.0f);
    json layer_units = json::array();
    for (std::int64_t u = 0; u < shown; ++u) {
      std::vector<int> q(static_cast<std::size_t>(kUnitGrid * kUnitGrid));
      for (std::size_t p = 0; p < q.size(); ++p) {
        const float v = out[p * static_cast<std::size_t>(shown) + static_cast<std::size_t>(u)];
        q[p] = std::isfinite(v) ? static_cast<int>(std::lround(100 * v / largest)) : 0;
      }
      layer_units.push_back(q);
    }
    units.push_back(layer_units);
  }
  model->train();
  view["units"] = {{"size", kUnitGrid}, {"layers", units}};
  view["weights"] = links;
}

json Session::State::make_view() {
  const auto interval = config.is_image() ? kImageMetricsInterval : view_interval;
  if (Clock::now() - last_metrics >= interval) update_metrics();
  std::lock_guard lock(mutex);
  json view = {{"step", train_state.step},
               {"epoch", train_state.epoch},
               {"status", train_state.status == "diverged" ? "diverged" : "ok"},
               {"playing", budget != 0},
               {"metrics", metrics},
               {"diagnostics", diagnostics},
               {"verdicts", verdicts}};
  if (!confusion.is_null()) {
    view["confusion"] = confusion;
    view["misclassified"] = misclassified;
  }
  return view;
}

void Session::State::publish(bool force) {
  const Clock::time_point now = Clock::now();
  bool stepping;
  {
    std::lock_guard lock(mutex);
    stepping = budget == 0;
  }
  if (!force && !stepping && now - last_view < view_interval) return;
  last_view = now;
  json view = make_view();
  if (!config.is_image()) add_plane_views(view);
  std::lock_guard lock(mutex);
  view["version"] = this->view.version + 1;
  this->view = View{this->view.version + 1, view.dump()};
  changed.notify_all();
}

void Session::State::work() {
  std::unique_lock lock(mutex);
  while (true) {
    changed.wait(lock, [&] { return stopping || reset_requested || (budget != 0 && model_requests == 0); });
    if (stopping) return;
    lock.unlock();
    bool resetting;
    {
      std::lock_guard guard(mutex);
      resetting = reset_requested;
      reset_requested = false;
    }
    if (resetting) {
      std::lock_guard model_lock(model_mutex);
      reset();
      publish(true);
    } else {
      train_until_stopped();
    }
    lock.lock();
  }
}

Session::Session(Config config, const std::optional<std::filesystem::path>& data_dir,
                 std::chrono::milliseconds view_interval)
    : state_(std::make_unique<State>()) {
  state_->config = std::move(config);
  state_->view_interval = view_interval;
  state_->load_data(data_dir);
  state_->reset();
  state_->publish(true);
  state_->worker = std::thread([s = state_.get()] { s->work(); });
}

Session::~Session() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->changed.notify_all();
  state_->worker.join();
}

const Config& Session::config() const { return state_->config; }

void Session::control(std::string_view action) {
  State& s = *state_;
  {
    std::lock_guard lock(s.mutex);
    if (action == "play")
      s.budget = -1;
    else if (action == "pause")
      s.budget = 0;
    else if (action == "step")
      s.budget = 1;
    else if (action == "reset")
      s.reset_requested = true, s.budget = 0;
    else
      fail("playground: unknown action '{}'; use play, pause, step or reset", std::string(action).substr(0, 40));
  }
  s.changed.notify_all();
}

View Session::wait_view(std::uint64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  state_->changed.wait_for(lock, timeout, [&] { return state_->view.version > after || state_->stopping; });
  return state_->view;
}

nlohmann::json Session::data_points() const {
  const State& s = *state_;
  json out = {{"classes", s.train_set.class_names}};
  if (s.config.is_image()) return out;
  const data::Dataset raw = data::make_synthetic(
      s.config.data,
      {.samples = s.config.samples, .noise = s.config.noise, .classes = s.config.classes, .seed = s.config.data_seed});
  const std::vector<float> xy = raw.inputs.to_vector<float>();
  const std::vector<std::int64_t> labels = raw.labels.to_vector<std::int64_t>();
  const std::size_t train_count = static_cast<std::size_t>(s.train_set.size());
  json train = json::array(), test = json::array();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    json point = {std::round(xy[2 * i] * 1000) / 1000, std::round(xy[2 * i + 1] * 1000) / 1000, labels[i]};
    (i < train_count ? train : test).push_back(std::move(point));
  }
  out["extent"] = s.extent;
  out["train"] = train;
  out["test"] = test;
  return out;
}

std::string Session::model_file() {
  State& s = *state_;
  ModelAccess access(s);
  const Config& c = s.config;
  const io::Metadata metadata = {{"actlab_version", std::string(kVersion)},
                                 {"data", c.data},
                                 {"model", model_spec(c)},
                                 {"activation", c.activations.empty() ? "relu" : c.activations.front()},
                                 {"init", c.init},
                                 {"norm", c.norm},
                                 {"dropout", fmt::format("{}", c.dropout)},
                                 {"sample_shape", json(s.train_set.sample_shape()).dump()},
                                 {"class_names", json(s.train_set.class_names).dump()},
                                 {"normalization", json{{"mean", json::array()}, {"std", json::array()}}.dump()},
                                 {"seed", std::to_string(c.seed)},
                                 {"step", std::to_string(s.train_state.step)},
                                 {"playground_config", to_json(c).dump()}};
  return io::encode_safetensors(s.model->state_dict(), metadata);
}

std::string Session::compare_config() {
  State& s = *state_;
  ModelAccess access(s);
  return to_toml(s.config, s.train_state.samples);
}

}  // namespace actlab::playground
