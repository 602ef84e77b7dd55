#include "actlab/nn/module.h"

#include <algorithm>
#include <map>

#include "actlab/autograd/grad_mode.h"

namespace actlab::nn {

void HookHandle::remove() {
  if (remove_ && !registry_.expired()) remove_();
  remove_ = nullptr;
}

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

Tensor Module::forward(const Tensor&) {
  fail("Module '{}' has no Tensor -> Tensor forward; call it with its own arguments through its own type "
       "(std::shared_ptr<{}>) or through nn::AnyModule",
       type_name_, type_name_);
}

void Module::run_hooks(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) {
  // Numbers the call for every hook first, so forward and backward hooks count the same calls.
  std::vector<std::int64_t> forward_indices;
  for (auto& entry : hooks_->forward) forward_indices.push_back(entry.calls++);
  std::vector<std::pair<std::int64_t, std::int64_t>> backward_calls;  // hook id, call index
  for (auto& entry : hooks_->backward) backward_calls.emplace_back(entry.id, entry.calls++);
  // Copies, so a hook may remove itself (or others) while they run.
  const auto forward_hooks = hooks_->forward;
  for (std::size_t i = 0; i < forward_hooks.size(); ++i)
    forward_hooks[i].hook(*this, Call{.index = forward_indices[i], .inputs = inputs, .outputs = outputs});
  if (backward_calls.empty()) return;
  // The closures outlive neither the hooks (weak) nor the module they report (checked first).
  std::weak_ptr<Hooks> weak = hooks_;
  for (std::size_t output = 0; output < outputs.size(); ++output) {
    if (!outputs[output].requires_grad()) continue;
    outputs[output].register_hook([weak, self = this, backward_calls, output](const Tensor& grad) {
      if (auto hooks = weak.lock()) {
        const auto backward_hooks = hooks->backward;
        for (const auto& [id, call] : backward_calls)
          for (const auto& entry : backward_hooks)
            if (entry.id == id) entry.hook(*self, call, output, grad);
      }
      return Tensor();
    });
  }
}

void Module::check_new_name(const std::string& name) const {
  ACTLAB_CHECK(!name.empty() && name.find('.') == std::string::npos,
               "{}: a parameter, buffer or submodule name must be non-empty and contain no '.', got '{}'",
               type_name_, name);
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& entry) { return entry.first == name; });
  };
  ACTLAB_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_) && !taken(generators_), "{}: the name '{}' is already registered",
               type_name_, name);
}

Tensor Module::register_parameter(std::string name, Tensor tensor) {
  check_new_name(name);
  ACTLAB_CHECK(tensor.defined() && tensor.is_leaf(), "{}: parameter '{}' must be a defined leaf tensor", type_name_,
               name);
  tensor.requires_grad_();
  parameters_.emplace_back(std::move(name), tensor);
  return tensor;
}

Tensor Module::register_buffer(std::string name, Tensor tensor) {
  check_new_name(name);
  ACTLAB_CHECK(tensor.defined(), "{}: buffer '{}' must be a defined tensor", type_name_, name);
  buffers_.emplace_back(std::move(name), tensor);
  return tensor;
}

void Module::register_generator(std::string name, Generator& generator) {
  check_new_name(name);
  generators_.emplace_back(std::move(name), &generator);
}

NamedGenerators Module::named_generators() const {
  NamedGenerators out = generators_;
  for (const auto& [name, child] : children_)
    for (const auto& [sub, generator] : child->named_generators()) out.emplace_back(name + "." + sub, generator);
  return out;
}

void Module::add_child(std::string name, std::shared_ptr<Module> module) {
  check_new_name(name);
  ACTLAB_CHECK(module != nullptr, "{}: submodule '{}' is null", type_name_, name);
  children_.emplace_back(std::move(name), std::move(module));
}

void Module::collect(const std::string& prefix, bool buffers, StateDict& out) const {
  for (const auto& [name, tensor] : buffers ? buffers_ : parameters_) out.emplace_back(prefix + name, tensor);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", buffers, out);
}

StateDict Module::named_parameters() const {
  StateDict out;
  collect("", false, out);
  return out;
}

StateDict Module::named_buffers() const {
  StateDict out;
  collect("", true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters()) out.push_back(tensor);
  return out;
}

std::int64_t Module::num_parameters() const {
  std::int64_t total = 0;
  for (const auto& p : parameters()) total += p.numel();
  return total;
}

NamedModules Module::named_modules() {
  auto self = weak_from_this().lock();
  ACTLAB_CHECK(self != nullptr, "{}: named_modules() and summary() need the module to be held by a std::shared_ptr "
               "(create it with std::make_shared)", type_name_);
  NamedModules out{{"", std::move(self)}};
  for (const auto& [name, child] : children_)
    for (auto& [sub, module] : child->named_modules()) out.emplace_back(sub.empty() ? name : name + "." + sub, module);
  return out;
}

void Module::train(bool training) {
  training_ = training;
  on_mode_change(training);
  for (const auto& [name, child] : children_) child->train(training);
}

void Module::zero_grad() {
  for (const auto& p : parameters()) p.set_grad(Tensor());
}

namespace {

// Gives `t`'s own TensorImpl new contents, so every handle to it sees the new values.
void replace_contents(const Tensor& t, const Tensor& source) {
  auto& impl = *t.impl();
  impl.storage = source.impl()->storage;
  impl.shape = source.shape();
  impl.strides = source.strides();
  impl.offset = source.offset();
  impl.dtype = source.dtype();
  impl.grad = nullptr;
}

}  // namespace

void Module::to(DType dtype) {
  NoGradGuard no_grad;
  for (const auto& list : {named_parameters(), named_buffers()})
    for (const auto& [name, t] : list)
      if (t.dtype() != dtype && is_floating(t.dtype())) replace_contents(t, t.to(dtype).contiguous());
}

StateDict Module::state_dict() const {
  StateDict out = named_parameters();
  for (auto& entry : named_buffers()) out.push_back(std::move(entry));
  return out;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  const StateDict own = state_dict();
  std::map<std::string, Tensor> given(state.begin(), state.end());
  std::vector<std::string> problems, missing;
  for (const auto& [name, t] : own) {
    auto found = given.find(name);
    if (found == given.end()) {
      missing.push_back(name);
      continue;
    }
    if (found->second.shape() != t.shape())
      problems.push_back(fmt::format("'{}' has shape {} in the state but {} in the model", name,
                                     shape_str(found->second.shape()), shape_str(t.shape())));
    given.erase(found);
  }
  if (strict) {
    if (!missing.empty()) problems.push_back(fmt::format("missing: {}", fmt::join(missing, ", ")));
    std::vector<std::string> unexpected;
    for (const auto& [name, t] : given) unexpected.push_back(name);
    if (!unexpected.empty()) problems.push_back(fmt::format("unexpected: {}", fmt::join(unexpected, ", ")));
  }
  ACTLAB_CHECK(problems.empty(), "{}.load_state_dict: {}", type_name_, fmt::join(problems, "; "));
  NoGradGuard no_grad;
  std::map<std::string, Tensor> lookup(state.begin(), state.end());
  for (const auto& [name, t] : own)
    if (auto found = lookup.find(name); found != lookup.end()) Tensor(t).copy_(found->second);
}

template <typename Hook>
HookHandle Module::add_hook(std::vector<HookEntry<Hook>> Hooks::*list, Hook hook) {
  const std::int64_t id = hooks_->next_id++;
  ((*hooks_).*list).push_back({.id = id, .hook = std::move(hook)});
  std::weak_ptr<Hooks> weak = hooks_;
  return HookHandle(hooks_, [weak, id, list] {
    if (auto hooks = weak.lock()) std::erase_if((*hooks).*list, [id](const auto& entry) { return entry.id == id; });
  });
}

HookHandle Module::register_forward_hook(ForwardHook hook) { return add_hook(&Hooks::forward, std::move(hook)); }

HookHandle Module::register_backward_hook(BackwardHook hook) { return add_hook(&Hooks::backward, std::move(hook)); }

namespace {

std::string with_thousands(std::int64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::string Module::summary(const Shape& input_shape, DType dtype) {
  const NamedModules modules = named_modules();
  // The output shapes of each module's first call, and how often it was called.
  struct Outputs {
    std::string shapes;
    std::int64_t calls = 0;
  };
  std::map<const Module*, Outputs> outputs;
  std::vector<HookHandle> handles;
  for (const auto& [name, module] : modules)
    handles.push_back(module->register_forward_hook([&outputs](Module& m, const Call& call) {
      Outputs& seen = outputs[&m];
      ++seen.calls;
      if (call.index > 0) return;
      std::vector<std::string> shapes;
      for (const auto& out : call.outputs) shapes.push_back(shape_str(out.shape()));
      seen.shapes = fmt::format("{}", fmt::join(shapes, ", "));
    }));
  const bool was_training = training_;
  eval();
  {
    NoGradGuard no_grad;
    (*this)(zeros(input_shape, dtype));
  }
  train(was_training);
  for (auto& handle : handles) handle.remove();

  struct Row {
    std::string layer, shape, params;
  };
  std::vector<Row> rows;
  for (const auto& [name, module] : modules) {
    const auto depth = name.empty() ? 0 : std::count(name.begin(), name.end(), '.') + 1;
    std::string layer = depth == 0 ? module->type_name_
                                   : std::string(static_cast<std::size_t>(2 * (depth - 1)), ' ') + "- " + name.substr(name.rfind('.') + 1) + ": " + module->type_name_;
    if (const auto extra = module->extra_repr(); !extra.empty()) layer += " (" + extra + ")";
    auto found = outputs.find(module.get());
    std::string shape = "--";
    if (found != outputs.end())
      shape = found->second.calls > 1 ? fmt::format("{} ({} calls)", found->second.shapes, found->second.calls)
                                      : found->second.shapes;
    std::int64_t own = 0;
    for (const auto& [pname, p] : module->parameters_) own += p.numel();
    rows.push_back({layer, shape, own == 0 ? "--" : with_thousands(own)});
  }
  std::size_t w0 = 12, w1 = 12;
  for (const auto& r : rows) {
    w0 = std::max(w0, r.layer.size());
    w1 = std::max(w1, r.shape.size());
  }
  std::string out = fmt::format("{:<{}}  {:<{}}  {:>12}\n", "Layer (type)", w0, "Output shape", w1, "Param #");
  const std::string rule(w0 + w1 + 16, '=');
  out += rule + "\n";
  for (const auto& r : rows) out += fmt::format("{:<{}}  {:<{}}  {:>12}\n", r.layer, w0, r.shape, w1, r.params);
  out += rule + "\n";
  std::int64_t trainable = 0;
  for (const auto& p : parameters()) trainable += p.requires_grad() ? p.numel() : 0;
  out += fmt::format("Input shape: {}\nTotal params: {}\nTrainable params: {}\n", shape_str(input_shape),
                     with_thousands(num_parameters()), with_thousands(trainable));
  return out;
}

}  // namespace actlab::nn
