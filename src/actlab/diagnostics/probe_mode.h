// ProbeMode: a model set up for a measuring pass, and put back afterwards.
//
// While a ProbeMode lives, the model is in eval mode (dropout and RReLU deterministic) except its
// BatchNorm layers, which normalize with batch statistics as in training; on destruction the
// BatchNorm running statistics (every buffer) and the training mode are restored, and so are the
// parameters' gradients, which are cleared for the pass.
#pragma once

#include <vector>

#include "actlab/nn/module.h"

namespace actlab::diagnostics {

class ProbeMode {
 public:
  explicit ProbeMode(nn::Module& model);
  ~ProbeMode();
  ProbeMode(const ProbeMode&) = delete;
  ProbeMode& operator=(const ProbeMode&) = delete;

 private:
  nn::Module& model_;
  bool was_training_;
  std::vector<Tensor> buffers_, parameters_, grads_;
};

}  // namespace actlab::diagnostics
