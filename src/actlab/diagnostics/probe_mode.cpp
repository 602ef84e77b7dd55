#include "actlab/diagnostics/probe_mode.h"

#include "actlab/autograd/grad_mode.h"

namespace actlab::diagnostics {

ProbeMode::ProbeMode(nn::Module& model) : model_(model), was_training_(model.is_training()) {
  for (const auto& [name, b] : model.named_buffers()) buffers_.push_back(b.clone());
  parameters_ = model.parameters();
  for (const auto& p : parameters_) {
    grads_.push_back(p.grad());
    p.set_grad(Tensor());
  }
  model.eval();
  for (auto& [name, module] : model.named_modules())
    if (module->type_name().starts_with("BatchNorm")) module->train(true);
}

ProbeMode::~ProbeMode() {
  {
    NoGradGuard no_grad;
    std::size_t i = 0;
    for (const auto& [name, b] : model_.named_buffers()) Tensor(b).copy_(buffers_[i++]);
  }
  model_.train(was_training_);
  for (std::size_t i = 0; i < parameters_.size(); ++i) parameters_[i].set_grad(grads_[i]);
}

}  // namespace actlab::diagnostics
