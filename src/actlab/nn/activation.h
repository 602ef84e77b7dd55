// nn::Activation: any activation of the registry as a layer.
//
// Activation("leaky_relu:0.1") builds the function from its spec string (see
// activations/activation.h for the names and parameters); learnable activations register their
// parameters with the module, and train()/eval() reach activations that behave differently in
// training (RReLU). Throws Error listing the known names when the spec is unknown.
#pragma once

#include <memory>
#include <string_view>

#include "actlab/activations/activation.h"
#include "actlab/nn/module.h"

namespace actlab::nn {

class Activation : public Module {
 public:
  explicit Activation(std::string_view spec);
  Tensor forward(const Tensor& x) override { return function_->forward(x); }
  std::string extra_repr() const override { return function_->spec(); }

  // The init gain recommended for weights feeding this activation.
  double gain() const { return function_->gain(); }
  const ActivationInfo& info() const { return function_->info(); }
  std::string spec() const { return function_->spec(); }

 protected:
  void on_mode_change(bool training) override { function_->set_training(training); }

 private:
  std::unique_ptr<ActivationFunction> function_;
};

}  // namespace actlab::nn
