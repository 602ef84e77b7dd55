// The analysis of an initialization after Glorot & Bengio 2010 (section 4): per fully-connected
// layer of an untrained model, on a probe batch,
//   activation_std        std of the layer's activations (the output of the activation that
//                         follows it; the layer's own output for the last one),
//   backprop_grad_std     std of the back-propagated gradient dL/ds at the layer's output s,
//   weight_grad_std       std of the weight gradient dL/dW,
//   jacobian_mean_sv      mean singular value of the layer's Jacobian d(activation)/d(input)
//                         = diag(f'(s)) W, averaged over the first `jacobian_samples` samples
//                         (null for layers whose smaller dimension exceeds kMaxJacobianDim).
// Glorot & Bengio's normalized init keeps the first three about level across layers and the
// mean singular value near 1; the standard init lets them shrink with depth.
//
// Requires: a model whose Linear layers are leaves, a probe batch with labels. Leaves the model's
// parameters, gradients, buffers and modes as it found them (see probe_mode.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/data/loader.h"
#include "actlab/nn/module.h"

namespace actlab::diagnostics {

inline constexpr std::int64_t kMaxJacobianDim = 512;

struct InitLayer {
  std::string layer;  // dotted name of the Linear layer
  double activation_std = 0, backprop_grad_std = 0, weight_grad_std = 0;
  std::optional<double> jacobian_mean_sv;
};

std::vector<InitLayer> analyse_init(nn::Module& model, const data::Batch& probe, std::int64_t jacobian_samples = 4);

// [{"layer", "activation_std", "backprop_grad_std", "weight_grad_std", "jacobian_mean_sv"}]
nlohmann::json to_json(const std::vector<InitLayer>& layers);
// A table of that JSON, one row per layer.
std::string format_init_analysis(const nlohmann::json& layers);

// The singular values of a [rows, cols] row-major matrix (eigenvalues of the smaller Gram
// matrix by cyclic Jacobi rotations, in double), in no particular order.
std::vector<double> singular_values(const std::vector<double>& matrix, std::int64_t rows, std::int64_t cols);

}  // namespace actlab::diagnostics
