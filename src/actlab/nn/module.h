// Module: the base of every layer and model.
//
// A module owns named parameters (trainable leaves), buffers (state such as BatchNorm's running
// statistics) and submodules, and maps its arguments to a result with forward(). Call a module
// with operator(), which also runs its hooks; calling forward() directly skips them.
//
// Most modules map a tensor to a tensor: they override `Tensor forward(const Tensor&)`, and
// `(*module)(x)` works through a std::shared_ptr<Module>. A module of another signature (an LSTM
// taking (x, state) and returning (output, (h, c))) declares its own forward and a one-line
// operator() of the same arguments that runs it through with_hooks(); it is called through its own
// type, or through AnyModule (any_module.h), as Sequential does. Its forward hides the Tensor one,
// which then throws Error when called through Module (compilers with -Woverloaded-virtual note the
// hiding; it is intended). A forward taking a single `const Tensor&` overrides the Tensor one and
// must return Tensor; a module mapping one tensor to several takes it by value instead.
//
// Names are dotted paths: a Sequential's first Linear has the parameter "0.weight", and a model
// holding that Sequential under "layers" reports "layers.0.weight".
//
// Modules are held by std::shared_ptr (submodules are shared with their parent). Parameters are
// tensors that share storage with the module: load_state_dict() and to() change them in place, so
// an optimizer built before keeps updating the right tensors.
//
// Errors: registering a name twice, an empty name or one containing '.', and state dicts with
// wrong shapes or missing/unexpected names throw actlab::Error naming every offender.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "actlab/core/generator.h"
#include "actlab/core/tensor.h"

namespace actlab::nn {

class Module;

// Named tensors in registration order (parameters and buffers of a module, or optimizer state).
using StateDict = std::vector<std::pair<std::string, Tensor>>;
using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;
using NamedGenerators = std::vector<std::pair<std::string, Generator*>>;

// One call of a module as a forward hook sees it. The tensors are the defined ones among the
// arguments and among the result: a Tensor, a std::optional, std::pair, std::tuple or std::vector
// of them, recursively, depth first; other arguments (flags, options) hold none.
struct Call {
  // Counts the calls since this hook's registration: 0 for the first call after it. Hooks
  // registered together before a pass (a recorder's forward and backward hooks) number the calls
  // of that pass alike, so call k's activations pair with call k's gradients.
  std::int64_t index = 0;
  std::span<const Tensor> inputs;
  std::span<const Tensor> outputs;
};

// Called after forward.
using ForwardHook = std::function<void(Module& module, const Call& call)>;
// Called during backward with the gradient of outputs[output] of call `call` (numbered as Call::index).
using BackwardHook = std::function<void(Module& module, std::int64_t call, std::size_t output, const Tensor& grad)>;

namespace detail {
template <typename T, template <typename...> class Template>
inline constexpr bool is_instance_of = false;
template <template <typename...> class Template, typename... Args>
inline constexpr bool is_instance_of<Template<Args...>, Template> = true;
}  // namespace detail

// Appends the defined tensors of `value` (see Call) to `out`.
template <typename T>
void collect_tensors(const T& value, std::vector<Tensor>& out) {
  if constexpr (std::is_same_v<T, Tensor>) {
    if (value.defined()) out.push_back(value);
  } else if constexpr (detail::is_instance_of<T, std::optional>) {
    if (value) collect_tensors(*value, out);
  } else if constexpr (detail::is_instance_of<T, std::pair> || detail::is_instance_of<T, std::tuple>) {
    std::apply([&out](const auto&... parts) { (collect_tensors(parts, out), ...); }, value);
  } else if constexpr (detail::is_instance_of<T, std::vector>) {
    for (const auto& part : value) collect_tensors(part, out);
  }
}

// Removes a hook; harmless when called twice or after the module is gone.
class HookHandle {
 public:
  HookHandle() = default;
  HookHandle(std::weak_ptr<void> registry, std::function<void()> remove)
      : registry_(std::move(registry)), remove_(std::move(remove)) {}
  void remove();

 private:
  std::weak_ptr<void> registry_;
  std::function<void()> remove_;
};

class Module : public std::enable_shared_from_this<Module> {
 public:
  // `type_name` names the layer kind in summaries and errors ("Linear", "Conv2d").
  explicit Module(std::string type_name);
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // forward(input), then forward hooks; backward hooks attach to the output's gradient.
  Tensor operator()(const Tensor& input) {
    return with_hooks([&] { return forward(input); }, input);
  }
  // The Tensor -> Tensor forward. Throws Error for a module of another signature (it has its own).
  virtual Tensor forward(const Tensor& input);

  const std::string& type_name() const { return type_name_; }
  // Short description of the configuration, e.g. "in=784, out=256, bias" (empty by default).
  virtual std::string extra_repr() const { return ""; }

  // ---- parameters, buffers, submodules (recursive, in registration order) ----
  std::vector<Tensor> parameters() const;
  StateDict named_parameters() const;
  StateDict named_buffers() const;
  NamedModules named_children() const { return children_; }
  // Every module in the tree, depth first, this one first under the name "".
  NamedModules named_modules();
  // Every random generator the tree draws from (Dropout masks, RReLU slopes), by dotted name.
  NamedGenerators named_generators() const;
  std::int64_t num_parameters() const;

  // ---- modes ----
  // Sets training mode here and in every submodule (Dropout and BatchNorm behave differently).
  void train(bool training = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Clears the gradients of all parameters.
  void zero_grad();

  // Converts every parameter and buffer to `dtype` in place (e.g. kFloat64 for gradcheck).
  void to(DType dtype);

  // ---- state ----
  // Parameters then buffers, by dotted name; the tensors share storage with the module.
  StateDict state_dict() const;
  // Copies values into the module's tensors. Throws listing every shape mismatch and, when
  // strict, every missing or unexpected name; nothing is changed when it throws.
  void load_state_dict(const StateDict& state, bool strict = true);

  // A torchinfo-style table: every module, its output shape for an input of `input_shape`, and
  // its parameter count; totals at the end. Runs one forward pass without recording in eval
  // mode (the training mode is restored afterwards).
  std::string summary(const Shape& input_shape, DType dtype = kFloat32);

  // ---- hooks ----
  HookHandle register_forward_hook(ForwardHook hook);
  HookHandle register_backward_hook(BackwardHook hook);

 protected:
  // Runs `run` (the module's forward on `args`) and then this module's hooks on the tensors among
  // `args` and the result, which it returns. A module of another signature calls it in its
  // operator(): `return with_hooks([&] { return forward(x, state); }, x, state);`.
  template <typename Run, typename... Args>
  std::decay_t<std::invoke_result_t<Run&>> with_hooks(Run&& run, const Args&... args) {
    auto result = run();
    if (hooks_->forward.empty() && hooks_->backward.empty()) return result;
    std::vector<Tensor> inputs, outputs;
    (collect_tensors(args, inputs), ...);
    collect_tensors(result, outputs);
    run_hooks(inputs, outputs);
    return result;
  }
  // Registers a trainable leaf (requires_grad is set) and returns a handle sharing its storage.
  Tensor register_parameter(std::string name, Tensor tensor);
  Tensor register_buffer(std::string name, Tensor tensor);
  // Registers a generator the module owns (it must outlive no module: usually a member), so
  // checkpoints save and restore its state.
  void register_generator(std::string name, Generator& generator);
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    add_child(std::move(name), module);
    return module;
  }
  // Called by train() so a module can pass the mode to what it wraps.
  virtual void on_mode_change(bool /*training*/) {}

 private:
  template <typename Hook>
  struct HookEntry {
    std::int64_t id = 0;
    Hook hook;
    std::int64_t calls = 0;  // calls seen since registration
  };
  struct Hooks {
    std::int64_t next_id = 0;
    std::vector<HookEntry<ForwardHook>> forward;
    std::vector<HookEntry<BackwardHook>> backward;
  };

  template <typename Hook>
  HookHandle add_hook(std::vector<HookEntry<Hook>> Hooks::*list, Hook hook);
  void run_hooks(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs);
  void add_child(std::string name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name) const;
  void collect(const std::string& prefix, bool buffers, StateDict& out) const;

  std::string type_name_;
  bool training_ = true;
  StateDict parameters_;
  StateDict buffers_;
  NamedGenerators generators_;
  NamedModules children_;
  std::shared_ptr<Hooks> hooks_ = std::make_shared<Hooks>();
};

}  // namespace actlab::nn
