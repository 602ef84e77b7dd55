#include "actlab/optim/optimizer.h"

#include <cmath>
#include <algorithm>
#include <cctype>

#include "actlab/autograd/grad_mode.h"
#include "actlab/core/parallel.h"
#include "actlab/optim/update_kernels.h"

namespace actlab::optim {

Tensor& ParamState::buffer(const std::string& name, const Tensor& param, double initial) {
  auto found = buffers.find(name);
  if (found == buffers.end()) found = buffers.emplace(name, full(param.shape(), initial, param.dtype())).first;
  return found->second;
}

Optimizer::Optimizer(std::vector<std::vector<Tensor>> groups, std::string name)
    : name_(std::move(name)), group_params_(std::move(groups)) {
  ACTLAB_CHECK(!group_params_.empty(), "{}: needs at least one parameter group", name_);
  for (const auto& group : group_params_)
    for (const auto& p : group) {
      ACTLAB_CHECK(p.defined() && p.is_leaf() && p.requires_grad() && is_floating(p.dtype()) && p.is_contiguous(),
                   "{}: parameters must be contiguous float leaves that require grad (module parameters are)", name_);
      states_.emplace_back();
    }
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> out;
  for (const auto& group : group_params_) out.insert(out.end(), group.begin(), group.end());
  return out;
}

void Optimizer::set_lr(double lr) {
  for (std::size_t g = 0; g < num_groups(); ++g) set_lr(g, lr);
}

void Optimizer::zero_grad() {
  for (const auto& p : parameters()) p.set_grad(Tensor());
}

void Optimizer::step() {
  NoGradGuard no_grad;
  std::size_t index = 0;
  for (std::size_t g = 0; g < group_params_.size(); ++g)
    for (const auto& p : group_params_[g]) {
      ParamState& state = states_[index++];
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      ACTLAB_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype(),
                   "{}.step: parameter {} is {} {} but its gradient is {} {}", name_, index - 1, p.dtype(),
                   shape_str(p.shape()), grad.dtype(), shape_str(grad.shape()));
      update(g, p, grad.contiguous(), state);
      p.bump_version();  // the kernels write through raw pointers
    }
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  for (std::size_t g = 0; g < num_groups(); ++g) out.emplace_back(fmt::format("group.{}.lr", g), scalar_tensor(lr(g), kFloat64));
  for (std::size_t i = 0; i < states_.size(); ++i) {
    if (states_[i].step == 0) continue;
    out.emplace_back(fmt::format("state.{}.step", i), scalar_tensor(static_cast<double>(states_[i].step), kInt64));
    for (const auto& [name, t] : states_[i].buffers) out.emplace_back(fmt::format("state.{}.{}", i, name), t.clone());
  }
  return out;
}

void Optimizer::load_state_dict(const StateDict& state) {
  const std::vector<Tensor> params = parameters();
  std::vector<ParamState> states(states_.size());
  std::vector<double> lrs;
  for (std::size_t g = 0; g < num_groups(); ++g) lrs.push_back(lr(g));
  for (const auto& [name, t] : state) {
    // "<kind>.<index>.<field>"
    const auto dot1 = name.find('.'), dot2 = name.find('.', dot1 == std::string::npos ? 0 : dot1 + 1);
    const std::string kind = name.substr(0, dot1);
    const std::string digits = dot2 == std::string::npos ? "" : name.substr(dot1 + 1, dot2 - dot1 - 1);
    const std::string field = dot2 == std::string::npos ? "" : name.substr(dot2 + 1);
    const bool numbered = !digits.empty() && std::all_of(digits.begin(), digits.end(), ::isdigit);
    ACTLAB_CHECK(numbered && ((kind == "group" && field == "lr") || (kind == "state" && !field.empty())),
                 "{}.load_state_dict: unexpected entry '{}' (expected group.<g>.lr or state.<i>.<name>)", name_, name);
    const std::size_t index = std::stoul(digits);
    if (kind == "group") {
      ACTLAB_CHECK(index < lrs.size(), "{}.load_state_dict: '{}' but this optimizer has {} groups", name_, name,
                   lrs.size());
      lrs[index] = t.item();
      continue;
    }
    ACTLAB_CHECK(index < states.size(), "{}.load_state_dict: '{}' but this optimizer has {} parameters", name_, name,
                 states.size());
    if (field == "step") {
      states[index].step = t.item<std::int64_t>();
      continue;
    }
    ACTLAB_CHECK(t.shape() == params[index].shape(), "{}.load_state_dict: '{}' has shape {} but parameter {} is {}",
                 name_, name, shape_str(t.shape()), index, shape_str(params[index].shape()));
    states[index].buffers[field] = t.to(params[index].dtype()).clone();
  }
  states_ = std::move(states);
  for (std::size_t g = 0; g < lrs.size(); ++g) set_lr(g, lrs[g]);
}

namespace {

// Runs kernel.template operator()<T>(offset, count) over chunks of the parameter's elements.
template <typename Kernel>
void elementwise(const Tensor& param, Kernel&& kernel) {
  dispatch_floating(param.dtype(), "optimizer step", [&]<typename T>() {
    parallel_for(0, param.numel(), kParallelGrain,
                 [&](std::int64_t i0, std::int64_t i1) { kernel.template operator()<T>(i0, i1 - i0); });
  });
}

// The element at `offset` of an optional state buffer (null when it is undefined).
template <typename T>
T* at(const Tensor& t, std::int64_t offset) {
  return t.defined() ? t.data<T>() + offset : nullptr;
}

void check_rate(double lr, std::string_view name) {
  ACTLAB_CHECK(lr >= 0, "{}: learning rate must be >= 0, got {}", name, lr);
}

}  // namespace

SGD::SGD(std::vector<ParamGroup<SGDOptions>> groups) : OptimizerWith(std::move(groups), "SGD") {
  for (std::size_t g = 0; g < num_groups(); ++g) {
    const auto& o = options(g);
    check_rate(o.lr, "SGD");
    ACTLAB_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
                 "SGD: nesterov needs momentum > 0 and dampening 0 (got momentum {}, dampening {})", o.momentum,
                 o.dampening);
  }
}

void SGD::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
  const SGDOptions o = options(group);
  const bool first = state.step++ == 0;
  const Tensor buf = o.momentum != 0 ? state.buffer("momentum_buffer", param) : Tensor();
  elementwise(param, [&]<typename T>(std::int64_t offset, std::int64_t count) {
    const kernels::SgdCoefficients<T> c{static_cast<T>(o.lr),
                                        static_cast<T>(o.weight_decay),
                                        first ? T(0) : static_cast<T>(o.momentum),
                                        first ? T(1) : static_cast<T>(1 - o.dampening),
                                        static_cast<T>(o.momentum),
                                        o.nesterov};
    ACTLAB_ISA_DISPATCH(optim::kernels, sgd<T>(c, count, at<T>(param, offset), at<T>(grad, offset), at<T>(buf, offset)));
  });
}

RMSProp::RMSProp(std::vector<ParamGroup<RMSPropOptions>> groups) : OptimizerWith(std::move(groups), "RMSProp") {
  for (std::size_t g = 0; g < num_groups(); ++g) {
    check_rate(options(g).lr, "RMSProp");
    ACTLAB_CHECK(options(g).alpha >= 0 && options(g).eps >= 0, "RMSProp: alpha and eps must be >= 0");
  }
}

void RMSProp::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
  const RMSPropOptions o = options(group);
  ++state.step;
  const Tensor square_avg = state.buffer("square_avg", param);
  const Tensor grad_avg = o.centered ? state.buffer("grad_avg", param) : Tensor();
  const Tensor buf = o.momentum > 0 ? state.buffer("momentum_buffer", param) : Tensor();
  elementwise(param, [&]<typename T>(std::int64_t offset, std::int64_t count) {
    const kernels::RmspropCoefficients<T> c{static_cast<T>(o.lr), static_cast<T>(o.weight_decay),
                                            static_cast<T>(o.alpha), static_cast<T>(o.eps),
                                            static_cast<T>(o.momentum)};
    ACTLAB_ISA_DISPATCH(optim::kernels, rmsprop<T>(c, count, at<T>(param, offset), at<T>(grad, offset),
                                                   at<T>(square_avg, offset), at<T>(grad_avg, offset),
                                                   at<T>(buf, offset)));
  });
}

Adagrad::Adagrad(std::vector<ParamGroup<AdagradOptions>> groups) : OptimizerWith(std::move(groups), "Adagrad") {
  for (std::size_t g = 0; g < num_groups(); ++g) {
    check_rate(options(g).lr, "Adagrad");
    ACTLAB_CHECK(options(g).initial_accumulator_value >= 0 && options(g).lr_decay >= 0,
                 "Adagrad: initial_accumulator_value and lr_decay must be >= 0");
  }
}

void Adagrad::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
  const AdagradOptions o = options(group);
  const std::int64_t t = ++state.step;
  const Tensor sum = state.buffer("sum", param, o.initial_accumulator_value);
  const double clr = o.lr / (1 + static_cast<double>(t - 1) * o.lr_decay);
  elementwise(param, [&]<typename T>(std::int64_t offset, std::int64_t count) {
    const kernels::AdagradCoefficients<T> c{static_cast<T>(clr), static_cast<T>(o.weight_decay),
                                            static_cast<T>(o.eps)};
    ACTLAB_ISA_DISPATCH(optim::kernels,
                        adagrad<T>(c, count, at<T>(param, offset), at<T>(grad, offset), at<T>(sum, offset)));
  });
}

namespace {

// Adam's step; `decoupled` applies weight decay to the parameter (AdamW) instead of the gradient.
template <typename Options>
void adam_update(const Options& o, bool decoupled, const Tensor& param, const Tensor& grad, ParamState& state) {
  const std::int64_t t = ++state.step;
  const Tensor m = state.buffer("exp_avg", param), v = state.buffer("exp_avg_sq", param);
  const Tensor v_max = o.amsgrad ? state.buffer("max_exp_avg_sq", param) : Tensor();
  const double correction1 = 1 - std::pow(o.beta1, static_cast<double>(t));
  const double correction2_sqrt = std::sqrt(1 - std::pow(o.beta2, static_cast<double>(t)));
  elementwise(param, [&]<typename T>(std::int64_t offset, std::int64_t count) {
    const kernels::AdamCoefficients<T> c{static_cast<T>(o.lr / correction1),
                                         static_cast<T>(correction2_sqrt),
                                         static_cast<T>(o.beta1),
                                         static_cast<T>(o.beta2),
                                         static_cast<T>(o.eps),
                                         static_cast<T>(decoupled ? 1 - o.lr * o.weight_decay : 1),
                                         static_cast<T>(decoupled ? 0 : o.weight_decay)};
    ACTLAB_ISA_DISPATCH(optim::kernels, adam<T>(c, count, at<T>(param, offset), at<T>(grad, offset),
                                                at<T>(m, offset), at<T>(v, offset), at<T>(v_max, offset)));
  });
}

template <typename Options>
void check_adam(const Options& o, std::string_view name) {
  check_rate(o.lr, name);
  ACTLAB_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps >= 0,
               "{}: need 0 <= beta1, beta2 < 1 and eps >= 0 (got {}, {}, {})", name, o.beta1, o.beta2, o.eps);
}

}  // namespace

Adam::Adam(std::vector<ParamGroup<AdamOptions>> groups) : OptimizerWith(std::move(groups), "Adam") {
  for (std::size_t g = 0; g < num_groups(); ++g) check_adam(options(g), "Adam");
}

void Adam::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
  adam_update(options(group), false, param, grad, state);
}

AdamW::AdamW(std::vector<ParamGroup<AdamWOptions>> groups) : OptimizerWith(std::move(groups), "AdamW") {
  for (std::size_t g = 0; g < num_groups(); ++g) check_adam(options(g), "AdamW");
}

void AdamW::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
  adam_update(options(group), true, param, grad, state);
}

}  // namespace actlab::optim
