// Module: the base of every layer and model.
//
// A module owns named parameters (trainable leaves), buffers (state such as BatchNorm's running
// statistics) and submodules, and maps an input tensor to an output with forward(). Call a module
// with operator(), which also runs its hooks; calling forward() directly skips them.
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
#include <string>
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

// Called after forward with the module's input and output.
using ForwardHook = std::function<void(Module& module, const Tensor& input, const Tensor& output)>;
// Called during backward with the gradient of the module's output.
using BackwardHook = std::function<void(Module& module, const Tensor& grad_output)>;

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
  Tensor operator()(const Tensor& input);
  virtual Tensor forward(const Tensor& input) = 0;

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
  struct Hooks {
    std::int64_t next_id = 0;
    std::vector<std::pair<std::int64_t, ForwardHook>> forward;
    std::vector<std::pair<std::int64_t, BackwardHook>> backward;
  };

  template <typename Hook>
  HookHandle add_hook(std::vector<std::pair<std::int64_t, Hook>> Hooks::*list, Hook hook);
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
