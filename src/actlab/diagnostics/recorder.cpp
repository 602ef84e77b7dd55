#include "actlab/diagnostics/recorder.h"

#include <algorithm>
#include <cmath>

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

std::vector<std::int64_t> histogram(const std::vector<float>& values) {
  std::vector<std::int64_t> bins(kHistogramBins, 0);
  const double width = 2 * kHistogramRange / kHistogramBins;
  for (float v : values) {
    if (std::isnan(v)) continue;
    const double bin = std::floor((v + kHistogramRange) / width);
    ++bins[static_cast<std::size_t>(std::clamp(bin, 0.0, kHistogramBins - 1.0))];
  }
  return bins;
}

double fraction(const std::vector<float>& values, auto&& predicate) {
  if (values.empty()) return 0;
  return static_cast<double>(std::count_if(values.begin(), values.end(), predicate)) /
         static_cast<double>(values.size());
}

// Units (features, or channel x position) whose output is zero for every sample.
double dead_fraction(const Tensor& output) {
  const std::int64_t samples = output.size(0);
  const std::int64_t units = output.numel() / std::max<std::int64_t>(samples, 1);
  const std::vector<float> values = output.to_vector<float>();
  std::int64_t dead = 0;
  for (std::int64_t u = 0; u < units; ++u) {
    bool zero = true;
    for (std::int64_t s = 0; s < samples && zero; ++s) zero = values[static_cast<std::size_t>(s * units + u)] == 0.0f;
    dead += zero ? 1 : 0;
  }
  return units > 0 ? static_cast<double>(dead) / static_cast<double>(units) : 0.0;
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

struct Layer {
  LayerInfo info;
  std::shared_ptr<nn::Module> module;
  Tensor weight;                                 // defined for weighted layers
  std::unique_ptr<ActivationFunction> function;  // a fresh copy, for f'
  std::optional<double> saturation_scale;
  Tensor input, output, grad_output;             // captured during the probe
  Tensor weight_before_update;
};

}  // namespace

struct Recorder::State {
  std::shared_ptr<nn::Module> model;
  data::Batch probe;
  std::vector<Layer> layers;
  std::vector<LayerInfo> infos;
  std::vector<Snapshot> snapshots;
};

Recorder::Recorder(std::shared_ptr<nn::Module> model, data::Batch probe) : state_(std::make_unique<State>()) {
  ACTLAB_CHECK(probe.images.defined() && probe.images.dim() >= 1 && probe.images.size(0) > 0 &&
                   probe.labels.numel() == probe.images.size(0),
               "diagnostics::Recorder: the probe batch needs at least one sample and one label per sample");
  state_->model = std::move(model);
  state_->probe = std::move(probe);
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

  std::vector<nn::HookHandle> hooks;
  for (auto& layer : state_->layers) {
    hooks.push_back(layer.module->register_forward_hook([&layer](nn::Module&, const Tensor& in, const Tensor& out) {
      layer.input = in.detach();
      layer.output = out.detach();
    }));
    hooks.push_back(layer.module->register_backward_hook(
        [&layer](nn::Module&, const Tensor& grad) { layer.grad_output = grad.detach(); }));
  }
  Snapshot snapshot;
  snapshot.step = step;
  {
    const Tensor logits = model(state_->probe.images);
    const Tensor loss = nn::cross_entropy(logits, state_->probe.labels);
    snapshot.loss = loss.item();
    loss.backward();
  }
  for (auto& hook : hooks) hook.remove();

  for (auto& layer : state_->layers) {
    LayerStats s;
    std::vector<float> out = layer.output.to_vector<float>();
    const Moments m = moments(out);
    s.mean = m.mean;
    s.std = m.std;
    s.histogram = histogram(out);
    std::erase_if(out, [](float v) { return std::isnan(v); });  // NaN has no place in an order
    if (out.empty()) out.push_back(NAN);
    std::sort(out.begin(), out.end());
    s.p5 = percentile(out, 0.05);
    s.p50 = percentile(out, 0.50);
    s.p95 = percentile(out, 0.95);
    if (layer.info.activation) {
      s.negative_input_fraction = fraction(layer.input.to_vector<float>(), [](float v) { return v < 0; });
      s.dead_fraction = dead_fraction(layer.output);
      if (layer.saturation_scale) {
        const double floor = 0.01 * *layer.saturation_scale;
        s.saturated_fraction = fraction(derivative(*layer.function, layer.input).abs().to_vector<float>(),
                                        [floor](float v) { return v < floor; });
      }
    }
    if (layer.grad_output.defined()) {
      const Moments g = moments(layer.grad_output.to_vector<float>());
      s.grad_norm = g.norm;
      s.grad_std = g.std;
    }
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
    layer.input = layer.output = layer.grad_output = Tensor();
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

data::Batch probe_batch(const data::Dataset& dataset, const data::Normalization& normalization, std::int64_t samples) {
  ACTLAB_CHECK(dataset.size() > 0, "diagnostics: the probe batch needs a dataset with samples");
  data::DataLoader loader(dataset.narrow(0, std::min(samples, dataset.size())),
                          data::LoaderOptions().batch_size(samples).shuffle(false).normalize(normalization));
  return *loader.begin();
}

}  // namespace actlab::diagnostics
