// Optimizers: SGD, RMSProp, Adagrad, Adam, AdamW.
//
// Update rules are PyTorch's documented ones (torch.optim, 2.x, foreach/fused off), each a fused
// in-place loop over a parameter, its gradient and its state, run without recording.
// Parameters are split into groups, each with its own options (e.g. no weight decay on biases):
//
//   optim::SGD sgd({{model->parameters(), {.lr = 0.1, .momentum = 0.9}}});
//   optim::Adam adam(model->parameters(), {.lr = 1e-3});
//
// step() skips parameters without a gradient. state_dict() holds each parameter's state
// ("state.<index>.<buffer>", "state.<index>.step"; index counts parameters across groups) and
// each group's learning rate ("group.<g>.lr"), so training resumes exactly after
// load_state_dict() into an optimizer built over the same parameters.
//
// Errors: a non-contiguous parameter, a gradient whose shape differs from its parameter,
// invalid options, or a state dict that does not fit throw Error saying which.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actlab/core/tensor.h"
#include "actlab/nn/module.h"

namespace actlab::optim {

using nn::StateDict;

// A parameter's optimizer state: a step count and named buffers shaped like the parameter.
struct ParamState {
  std::int64_t step = 0;
  std::map<std::string, Tensor> buffers;
  // The buffer `name`, created filled with `initial` on first use.
  Tensor& buffer(const std::string& name, const Tensor& param, double initial = 0.0);
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // Updates every parameter that has a gradient.
  void step();
  // Clears the gradients of all parameters.
  void zero_grad();

  std::size_t num_groups() const { return group_params_.size(); }
  const std::vector<Tensor>& group_parameters(std::size_t group) const { return group_params_.at(group); }
  std::vector<Tensor> parameters() const;
  virtual double lr(std::size_t group = 0) const = 0;
  virtual void set_lr(std::size_t group, double lr) = 0;
  // Sets the learning rate of every group.
  void set_lr(double lr);

  StateDict state_dict() const;
  // Throws when a name does not belong to this optimizer or a shape differs from its parameter.
  void load_state_dict(const StateDict& state);

 protected:
  explicit Optimizer(std::vector<std::vector<Tensor>> groups, std::string name);
  // One parameter's update; grad has param's shape and dtype, both contiguous.
  virtual void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) = 0;

 private:
  std::string name_;
  std::vector<std::vector<Tensor>> group_params_;
  std::vector<ParamState> states_;  // one per parameter, in group order
};

template <typename Options>
struct ParamGroup {
  std::vector<Tensor> params;
  Options options;
};

// An optimizer whose groups carry options of type Options (which have a field `lr`).
template <typename Options>
class OptimizerWith : public Optimizer {
 public:
  Options& options(std::size_t group = 0) { return options_.at(group); }
  const Options& options(std::size_t group = 0) const { return options_.at(group); }
  double lr(std::size_t group = 0) const override { return options_.at(group).lr; }
  void set_lr(std::size_t group, double lr) override { options_.at(group).lr = lr; }
  using Optimizer::set_lr;

 protected:
  OptimizerWith(std::vector<ParamGroup<Options>> groups, std::string name)
      : Optimizer(params_of(groups), std::move(name)) {
    for (auto& g : groups) options_.push_back(g.options);
  }

 private:
  static std::vector<std::vector<Tensor>> params_of(const std::vector<ParamGroup<Options>>& groups) {
    std::vector<std::vector<Tensor>> out;
    for (const auto& g : groups) out.push_back(g.params);
    return out;
  }
  std::vector<Options> options_;
};

// d = g + weight_decay p; with momentum: buf = momentum buf + (1 - dampening) d (buf = d on the
// first step), d = nesterov ? d + momentum buf : buf. Then p -= lr d.
struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

class SGD : public OptimizerWith<SGDOptions> {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options = {}) : SGD({{std::move(params), options}}) {}
  explicit SGD(std::vector<ParamGroup<SGDOptions>> groups);

 protected:
  void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

// d = g + weight_decay p; v = alpha v + (1 - alpha) d^2; centered: a = alpha a + (1 - alpha) d and
// the denominator uses v - a^2; r = d / (sqrt(.) + eps); with momentum: buf = momentum buf + r and
// p -= lr buf, otherwise p -= lr r.
struct RMSPropOptions {
  double lr = 0.01;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
};

class RMSProp : public OptimizerWith<RMSPropOptions> {
 public:
  RMSProp(std::vector<Tensor> params, RMSPropOptions options = {}) : RMSProp({{std::move(params), options}}) {}
  explicit RMSProp(std::vector<ParamGroup<RMSPropOptions>> groups);

 protected:
  void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

// d = g + weight_decay p; sum += d^2; p -= lr / (1 + (t - 1) lr_decay) * d / (sqrt(sum) + eps).
struct AdagradOptions {
  double lr = 0.01;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
};

class Adagrad : public OptimizerWith<AdagradOptions> {
 public:
  Adagrad(std::vector<Tensor> params, AdagradOptions options = {}) : Adagrad({{std::move(params), options}}) {}
  explicit Adagrad(std::vector<ParamGroup<AdagradOptions>> groups);

 protected:
  void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

// Adam (Kingma & Ba 2015): d = g + weight_decay p; m = b1 m + (1 - b1) d; v = b2 v + (1 - b2) d^2;
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps); amsgrad uses max(v) so far.
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
};

class Adam : public OptimizerWith<AdamOptions> {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options = {}) : Adam({{std::move(params), options}}) {}
  explicit Adam(std::vector<ParamGroup<AdamOptions>> groups);

 protected:
  void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

// AdamW (Loshchilov & Hutter 2019): decoupled weight decay p *= 1 - lr weight_decay, then Adam's
// step without weight decay in the gradient. Default weight_decay 0.01, as PyTorch.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

class AdamW : public OptimizerWith<AdamWOptions> {
 public:
  AdamW(std::vector<Tensor> params, AdamWOptions options = {}) : AdamW({{std::move(params), options}}) {}
  explicit AdamW(std::vector<ParamGroup<AdamWOptions>> groups);

 protected:
  void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace actlab::optim
