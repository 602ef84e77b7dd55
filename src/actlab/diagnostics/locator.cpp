#include "actlab/diagnostics/locator.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "actlab/autograd/node.h"

namespace actlab::diagnostics {

TensorStats tensor_stats(const Tensor& t) {
  TensorStats s;
  if (!t.defined()) return s;
  s.count = t.numel();
  double sum = 0, squares = 0;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  for (double v : t.to_vector<double>()) {
    if (!std::isfinite(v)) {
      ++s.non_finite;
      continue;
    }
    sum += v;
    squares += v * v;
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
  }
  const auto finite = static_cast<double>(s.count - s.non_finite);
  if (finite == 0) return {.count = s.count, .non_finite = s.non_finite};
  s.mean = sum / finite;
  s.std = std::sqrt(std::max(0.0, squares / finite - s.mean * s.mean));
  return s;
}

std::string Anomaly::describe() const {
  std::string text = fmt::format("non-finite value at step {} in the {} pass: layer {} ({}), op '{}'", step, phase,
                                 layer, layer_type, op);
  for (const auto& [what, s] : inputs)
    text += fmt::format("; {} of {} values: {} non-finite, finite ones in [{:.4g}, {:.4g}], mean {:.4g}, std {:.4g}",
                        what, s.count, s.non_finite, s.min, s.max, s.mean, s.std);
  return text;
}

struct Locator::State {
  std::shared_ptr<nn::Module> model;
  std::vector<nn::HookHandle> hooks;
  bool checking = false;
  std::int64_t step = 0;
  std::string layer = "(loss)", layer_type = "loss";  // the layer backward has reached
};

Locator::Locator(std::shared_ptr<nn::Module> model) : state_(std::make_unique<State>()) {
  state_->model = std::move(model);
  State* state = state_.get();
  for (auto& [name, module] : state_->model->named_modules()) {
    if (!module->named_children().empty()) continue;
    state_->hooks.push_back(module->register_forward_hook([state, name = name](nn::Module& m, const nn::Call& call) {
      if (!state->checking) return;
      const auto bad = std::find_if(call.outputs.begin(), call.outputs.end(),
                                    [](const Tensor& output) { return !autograd::all_finite(output); });
      if (bad == call.outputs.end()) return;
      std::vector<std::pair<std::string, TensorStats>> inputs;
      for (std::size_t i = 0; i < call.inputs.size(); ++i)
        inputs.emplace_back(call.inputs.size() == 1 ? "input" : fmt::format("input {}", i),
                            tensor_stats(call.inputs[i]));
      throw AnomalyError({.step = state->step, .phase = "forward", .layer = name, .layer_type = m.type_name(),
                          .op = bad->grad_fn() ? bad->grad_fn()->op : m.type_name(), .inputs = std::move(inputs)});
    }));
    state_->hooks.push_back(
        module->register_backward_hook([state, name = name](nn::Module& m, std::int64_t, std::size_t, const Tensor&) {
          state->layer = name;
          state->layer_type = m.type_name();
        }));
  }
}

Locator::~Locator() {
  for (auto& hook : state_->hooks) hook.remove();
}

Tensor Locator::forward(std::int64_t step, const Tensor& input) {
  state_->step = step;
  state_->checking = true;
  try {
    Tensor output = (*state_->model)(input);
    state_->checking = false;
    return output;
  } catch (...) {
    state_->checking = false;
    throw;
  }
}

void Locator::backward(std::int64_t step, const Tensor& loss) {
  state_->layer = "(loss)";
  state_->layer_type = "loss";
  const bool was = autograd::anomaly_detection();
  autograd::set_anomaly_detection(true);
  try {
    loss.backward();
  } catch (const autograd::NonFiniteGradient& e) {
    autograd::set_anomaly_detection(was);
    throw AnomalyError({.step = step, .phase = "backward", .layer = state_->layer, .layer_type = state_->layer_type,
                        .op = e.op,
                        .inputs = {{"incoming gradient", tensor_stats(e.grad_output)}, {"input", tensor_stats(e.input)}}});
  } catch (...) {
    autograd::set_anomaly_detection(was);
    throw;
  }
  autograd::set_anomaly_detection(was);
}

}  // namespace actlab::diagnostics
