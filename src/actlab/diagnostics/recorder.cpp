#include "actlab/diagnostics/recorder.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <tuple>
#include <utility>

#include "actlab/autograd/grad_mode.h"
#include "actlab/nn/activation.h"
#include "actlab/nn/loss.h"

namespace actlab::diagnostics {
namespace {

struct Moments {
  double mean = 0, std = 0, norm = 0;
};

Moments moments(const std::vector<float>& values) {
  Moments m;
  if (values.empty()) return m;
  double sum = 0, squares = 0;
  for (float v : values) {
    sum += v;
    squares += static_cast<double>(v) * v;
  }
  const auto n = static_cast<double>(values.size());
  m.mean = sum / n;
  m.std = std::sqrt(std::max(0.0, squares / n - m.mean * m.mean));
  m.norm = std::sqrt(squares);
  return m;
}

double percentile(std::vector<float>& sorted, double q) {
  const auto index = static_cast<std::size_t>(std::llround(q * static_cast<double>(sorted.size() - 1)));
  return sorted[index];
}

// kHistogramBins equal bins over [low, high]; values outside land in the end bins, NaN in none.
std::vector<std::int64_t> histogram(const std::vector<float>& values, double low, double high) {
  std::vector<std::int64_t> bins(kHistogramBins, 0);
  const double width = (high - low) / kHistogramBins;
  for (float v : values) {
    if (std::isnan(v)) continue;
    const double bin = width > 0 ? std::floor((v - low) / width) : 0.0;
    ++bins[static_cast<std::size_t>(std::clamp(bin, 0.0, kHistogramBins - 1.0))];
  }
  return bins;
}

// The smallest and largest finite values ({0, 0} when there is none).
std::pair<double, double> finite_range(const std::vector<float>& values) {
  double low = INFINITY, high = -INFINITY;
  for (float v : values)
    if (std::isfinite(v)) {
      low = std::min<double>(low, v);
      high = std::max<double>(high, v);
    }
  return low <= high ? std::pair{low, high} : std::pair{0.0, 0.0};
}

double fraction(const std::vector<float>& values, auto&& predicate) {
  if (values.empty()) return 0;
  return static_cast<double>(std::count_if(values.begin(), values.end(), predicate)) /
         static_cast<double>(values.size());
}

// Units (features, or channel x position) whose output is zero for every sample, over the output
// tensors of one or several calls; each call's units count apart.
double dead_fraction(const std::vector<Tensor>& outputs) {
  std::int64_t dead = 0, units_total = 0;
  for (const Tensor& output : outputs) {
    const std::int64_t samples = output.dim() > 0 ? output.size(0) : 1;
    const std::int64_t units = output.numel() / std::max<std::int64_t>(samples, 1);
    const std::vector<float> values = output.to_vector<float>();
    for (std::int64_t u = 0; u < units; ++u) {
      bool zero = true;
      for (std::int64_t s = 0; s < samples && zero; ++s) zero = values[static_cast<std::size_t>(s * units + u)] == 0.0f;
      dead += zero ? 1 : 0;
    }
    units_total += units;
  }
  return units_total > 0 ? static_cast<double>(dead) / static_cast<double>(units_total) : 0.0;
}

// f'(x) elementwise, by autograd through a fresh copy of the activation.
Tensor derivative(ActivationFunction& f, const Tensor& x) {
  Tensor input = x.detach().requires_grad_();
  f.forward(input).sum().backward();
  return input.grad();
}

// For an activation that flattens out in both tails: the largest |f'| (saturated means below 1%
// of it). Learnable activations and those that keep a slope in a tail have none.
std::optional<double> saturation_scale(ActivationFunction& f) {
  if (f.info().learnable) return std::nullopt;
  try {
    const std::vector<float> slope =
        derivative(f, arange(-30.0, 30.0001, 0.01, kFloat32).reshape({1, -1})).abs().to_vector<float>();
    const double top = *std::max_element(slope.begin(), slope.end());
    if (top > 0 && slope.front() < 0.01 * top && slope.back() < 0.01 * top) return top;
  } catch (const Error&) {
    // activations that need a channel layout (softmax over a dim) have no scalar slope
  }
  return std::nullopt;
}

// The tensors of one call of a layer during the probe.
struct Capture {
  std::vector<Tensor> inputs, outputs;
  std::vector<Tensor> grads;  // grads[i] reached outputs[i]; undefined when none did
};

struct Layer {
  LayerInfo info;
  std::shared_ptr<nn::Module> module;
  Tensor weight;                                 // defined for weighted layers
  std::unique_ptr<ActivationFunction> function;  // a fresh copy, for f'
  std::optional<double> saturation_scale;
  std::vector<Capture> calls;                    // captured during the probe, by call index
  Tensor weight_before_update;
};

// The elements of every tensor of `part` in `calls`, in call order.
std::vector<float> values_of(std::span<const Capture> calls, std::vector<Tensor> Capture::*part) {
  std::vector<float> out;
  for (const Capture& call : calls)
    for (const Tensor& t : call.*part)
      if (t.defined()) {
        const std::vector<float> values = t.to_vector<float>();
        out.insert(out.end(), values.begin(), values.end());
      }
  return out;
}

std::vector<Tensor> tensors_of(std::span<const Capture> calls, std::vector<Tensor> Capture::*part) {
  std::vector<Tensor> out;
  for (const Capture& call : calls) out.insert(out.end(), (call.*part).begin(), (call.*part).end());
  return out;
}

// The forward and output-gradient statistics of `calls` taken together (no weight statistics).
LayerStats call_stats(const Layer& layer, std::span<const Capture> calls) {
  LayerStats s;
  std::vector<float> out = values_of(calls, &Capture::outputs);
  const Moments m = moments(out);
  s.mean = m.mean;
  s.std = m.std;
  std::tie(s.min, s.max) = finite_range(out);
  s.histogram = histogram(out, -kHistogramRange, kHistogramRange);
  std::erase_if(out, [](float v) { return std::isnan(v); });  // NaN has no place in an order
  if (out.empty()) out.push_back(NAN);
  std::sort(out.begin(), out.end());
  s.p5 = percentile(out, 0.05);
  s.p50 = percentile(out, 0.50);
  s.p95 = percentile(out, 0.95);
  if (layer.info.activation) {
    s.negative_input_fraction = fraction(values_of(calls, &Capture::inputs), [](float v) { return v < 0; });
    s.dead_fraction = dead_fraction(tensors_of(calls, &Capture::outputs));
    if (layer.saturation_scale) {
      const double floor = 0.01 * *layer.saturation_scale;
      std::vector<float> slopes;
      for (const Tensor& input : tensors_of(calls, &Capture::inputs)) {
        const std::vector<float> slope = derivative(*layer.function, input).abs().to_vector<float>();
        slopes.insert(slopes.end(), slope.begin(), slope.end());
      }
      s.saturated_fraction = fraction(slopes, [floor](float v) { return v < floor; });
    }
  }
  const std::vector<float> grads = values_of(calls, &Capture::grads);
  const Moments g = moments(grads);
  s.grad_norm = g.norm;
  s.grad_mean = g.mean;
  s.grad_std = g.std;
  std::tie(s.grad_min, s.grad_max) = finite_range(grads);
  s.grad_histogram = histogram(grads, s.grad_min, s.grad_max);
  return s;
}

}  // namespace

struct Recorder::State {
  std::shared_ptr<nn::Module> model;
  data::Batch probe;
  ProbeLoss loss;
  std::vector<Layer> layers;
  std::vector<LayerInfo> infos;
  std::vector<Snapshot> snapshots;
};

Recorder::Recorder(std::shared_ptr<nn::Module> model, data::Batch probe, ProbeLoss loss)
    : state_(std::make_unique<State>()) {
  ACTLAB_CHECK(probe.images.defined() && probe.images.dim() >= 1 && probe.images.size(0) > 0 &&
                   probe.labels.dim() >= 1 && probe.labels.size(0) == probe.images.size(0),
               "diagnostics::Recorder: the probe batch needs at least one sample and one label per sample");
  state_->model = std::move(model);
  state_->probe = std::move(probe);
  state_->loss = loss ? std::move(loss) : [](const Tensor& output, const data::Batch& batch) {
    return nn::cross_entropy(output, batch.labels);
  };
  for (auto& [name, module] : state_->model->named_modules()) {
    if (!module->named_children().empty()) continue;
    Layer layer;
    layer.module = module;
    layer.info.name = name;
    layer.info.type = module->type_name();
    for (const auto& [pname, p] : module->named_parameters())
      if (pname == "weight" && p.dim() >= 2) layer.weight = p;
    layer.info.weighted = layer.weight.defined();
    if (auto* activation = dynamic_cast<nn::Activation*>(module.get())) {
      layer.info.activation = true;
      layer.info.type = "Activation(" + activation->spec() + ")";
      layer.function = make_activation(activation->spec());
      layer.function->set_training(false);
      layer.saturation_scale = saturation_scale(*layer.function);
    }
    if (layer.info.weighted || layer.info.activation || !module->named_parameters().empty()) {
      state_->infos.push_back(layer.info);
      state_->layers.push_back(std::move(layer));
    }
  }
}

Recorder::~Recorder() = default;

const std::vector<LayerInfo>& Recorder::layers() const { return state_->infos; }
const std::vector<Snapshot>& Recorder::snapshots() const { return state_->snapshots; }
std::int64_t Recorder::probe_samples() const { return state_->probe.images.size(0); }

void Recorder::before_update() {
  for (auto& layer : state_->layers)
    if (layer.weight.defined()) layer.weight_before_update = layer.weight.detach().clone();
}

const Snapshot& Recorder::record(std::int64_t step) {
  ACTLAB_CHECK(grad_enabled(), "diagnostics::Recorder::record: needs grad mode on (it runs a backward pass); "
               "call it outside NoGradGuard");
  nn::Module& model = *state_->model;
  const std::vector<Tensor> parameters = model.parameters();
  std::vector<Tensor> saved_grads;
  for (const auto& p : parameters) {
    saved_grads.push_back(p.grad());
    p.set_grad(Tensor());
  }
  std::vector<Tensor> saved_buffers;
  for (const auto& [name, b] : model.named_buffers()) saved_buffers.push_back(b.clone());
  const bool was_training = model.is_training();
  model.eval();
  for (auto& [name, module] : model.named_modules())
    if (module->type_name().starts_with("BatchNorm")) module->train(true);

  // Registered for this pass only, so call indices number the calls of the probe pass.
  std::vector<nn::HookHandle> hooks;
  for (auto& layer : state_->layers) {
    hooks.push_back(layer.module->register_forward_hook([&layer](nn::Module&, const nn::Call& call) {
      if (static_cast<std::size_t>(call.index) >= layer.calls.size()) layer.calls.resize(call.index + 1);
      Capture& capture = layer.calls[static_cast<std::size_t>(call.index)];
      for (const Tensor& t : call.inputs) capture.inputs.push_back(t.detach());
      for (const Tensor& t : call.outputs) capture.outputs.push_back(t.detach());
      capture.grads.resize(capture.outputs.size());
    }));
    hooks.push_back(layer.module->register_backward_hook(
        [&layer](nn::Module&, std::int64_t call, std::size_t output, const Tensor& grad) {
          layer.calls.at(static_cast<std::size_t>(call)).grads.at(output) = grad.detach();
        }));
  }
  Snapshot snapshot;
  snapshot.step = step;
  {
    const Tensor logits = model(state_->probe.images);
    const Tensor loss = state_->loss(logits, state_->probe);
    snapshot.loss = loss.item();
    loss.backward();
  }
  for (auto& hook : hooks) hook.remove();

  for (auto& layer : state_->layers) {
    LayerStats s = call_stats(layer, layer.calls);
    if (layer.calls.size() > 1)
      for (const Capture& call : layer.calls) s.calls.push_back(call_stats(layer, std::span(&call, 1)));
    if (layer.weight.defined() && layer.weight.grad().defined()) {
      const Moments g = moments(layer.weight.grad().to_vector<float>());
      s.weight_grad_norm = g.norm;
      s.weight_grad_std = g.std;
    }
    if (layer.weight_before_update.defined()) {
      NoGradGuard no_grad;
      const double before = moments(layer.weight_before_update.to_vector<float>()).norm;
      const double change = moments((layer.weight.detach() - layer.weight_before_update).to_vector<float>()).norm;
      s.update_ratio = before > 0 ? change / before : 0.0;
      layer.weight_before_update = Tensor();
    }
    layer.calls.clear();
    snapshot.layers.push_back(std::move(s));
  }

  {
    NoGradGuard no_grad;
    std::size_t i = 0;
    for (const auto& [name, b] : model.named_buffers()) Tensor(b).copy_(saved_buffers[i++]);
  }
  model.train(was_training);
  for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].set_grad(saved_grads[i]);
  state_->snapshots.push_back(std::move(snapshot));
  return state_->snapshots.back();
}

void Recorder::restore(std::vector<Snapshot> snapshots) {
  for (const auto& s : snapshots)
    ACTLAB_CHECK(s.layers.size() == state_->layers.size(), "diagnostics::Recorder::restore: a snapshot of step {} has {} "
                 "layers but the model has {}", s.step, s.layers.size(), state_->layers.size());
  state_->snapshots = std::move(snapshots);
}

namespace {

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

std::optional<double> optional_from(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<double>();
}

}  // namespace

nlohmann::json to_json(const Snapshot& s) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : s.layers)
    layers.push_back({{"mean", l.mean}, {"std", l.std}, {"min", l.min}, {"max", l.max}, {"p5", l.p5}, {"p50", l.p50},
                      {"p95", l.p95}, {"histogram", l.histogram},
                      {"negative_input_fraction", optional_json(l.negative_input_fraction)},
                      {"dead_fraction", optional_json(l.dead_fraction)},
                      {"saturated_fraction", optional_json(l.saturated_fraction)}, {"grad_norm", l.grad_norm},
                      {"grad_mean", l.grad_mean}, {"grad_std", l.grad_std}, {"grad_min", l.grad_min},
                      {"grad_max", l.grad_max}, {"grad_histogram", l.grad_histogram},
                      {"weight_grad_norm", optional_json(l.weight_grad_norm)},
                      {"weight_grad_std", optional_json(l.weight_grad_std)}, {"update_ratio", optional_json(l.update_ratio)}});
  return {{"step", s.step}, {"loss", s.loss}, {"layers", layers}};
}

Snapshot snapshot_from_json(const nlohmann::json& j) {
  Snapshot s;
  try {
    s.step = j.at("step").get<std::int64_t>();
    s.loss = optional_from(j, "loss").value_or(NAN);
    for (const auto& l : j.at("layers")) {
      LayerStats stats;
      stats.mean = optional_from(l, "mean").value_or(NAN);
      stats.std = optional_from(l, "std").value_or(NAN);
      stats.min = optional_from(l, "min").value_or(NAN);  // absent in files of earlier versions
      stats.max = optional_from(l, "max").value_or(NAN);
      stats.p5 = optional_from(l, "p5").value_or(NAN);
      stats.p50 = optional_from(l, "p50").value_or(NAN);
      stats.p95 = optional_from(l, "p95").value_or(NAN);
      stats.histogram = l.at("histogram").get<std::vector<std::int64_t>>();
      stats.negative_input_fraction = optional_from(l, "negative_input_fraction");
      stats.dead_fraction = optional_from(l, "dead_fraction");
      stats.saturated_fraction = optional_from(l, "saturated_fraction");
      stats.grad_norm = optional_from(l, "grad_norm").value_or(NAN);
      stats.grad_mean = optional_from(l, "grad_mean").value_or(NAN);
      stats.grad_std = optional_from(l, "grad_std").value_or(NAN);
      stats.grad_min = optional_from(l, "grad_min").value_or(NAN);
      stats.grad_max = optional_from(l, "grad_max").value_or(NAN);
      stats.grad_histogram = l.value("grad_histogram", std::vector<std::int64_t>{});
      stats.weight_grad_norm = optional_from(l, "weight_grad_norm");
      stats.weight_grad_std = optional_from(l, "weight_grad_std");
      stats.update_ratio = optional_from(l, "update_ratio");
      s.layers.push_back(std::move(stats));
    }
  } catch (const nlohmann::json::exception& e) {
    fail("diagnostics: malformed snapshot ({})", e.what());
  }
  return s;
}

data::Batch probe_batch(const data::Dataset& dataset, const data::Normalization& normalization, std::int64_t samples) {
  ACTLAB_CHECK(dataset.size() > 0, "diagnostics: the probe batch needs a dataset with samples");
  data::DataLoader loader(dataset.narrow(0, std::min(samples, dataset.size())),
                          data::LoaderOptions().batch_size(samples).shuffle(false).normalize(normalization));
  return *loader.begin();
}

}  // namespace actlab::diagnostics
