// Layer kernels as functions of their inputs and parameters (what the layers in layers.h call).
//
// Each function computes its output with a fused kernel and records its own backward beside it;
// every one is differentiable in all of its float inputs and is gradchecked in float64.
// Inputs may be float32 or float64 (all operands of one call share the dtype); errors name the
// function, the shapes involved and what was expected.
#pragma once

#include <array>
#include <cstdint>

#include "actlab/core/generator.h"
#include "actlab/core/tensor.h"

namespace actlab::nn::functional {

// x [..., in] · weight[out, in]^T + bias[out] -> [..., out]. The bias is added inside the GEMM
// (C is preset to the bias and accumulated into); bias may be undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

struct Conv2dParams {
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};
  std::int64_t groups = 1;
};

// x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O] or undefined -> [N, O, OH, OW] with
// OH = (H + 2 pad - dilation (kh - 1) - 1) / stride + 1. Stride 1 runs direct register-tiled
// kernels (no column matrix), other strides im2col + GEMM per sample; threaded over the batch.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const Conv2dParams& params = {});

struct Pool2dParams {
  std::array<std::int64_t, 2> kernel{2, 2};
  std::array<std::int64_t, 2> stride{2, 2};
  std::array<std::int64_t, 2> padding{0, 0};
};

// Max over each window of x [N, C, H, W] (padding counts as -inf). The gradient goes to the
// first maximal element of each window.
Tensor max_pool2d(const Tensor& x, const Pool2dParams& params);
// Mean over each window; padded elements count as zeros in the divisor (PyTorch's default
// count_include_pad=true).
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params);
// Mean over the adaptive windows [floor(i H / oh), ceil((i + 1) H / oh)) giving [N, C, oh, ow].
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<std::int64_t, 2> output_size);

// Batch normalization of x [N, C, ...] per channel C. In training, normalizes with the batch's
// mean and biased variance and updates the running buffers in place:
// running = (1 - momentum) running + momentum * batch (the variance unbiased), as PyTorch.
// Otherwise normalizes with the running buffers. weight/bias (gamma/beta, [C]) may be undefined
// (affine=false); the running buffers may be undefined only when training.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

// Normalizes over the last `normalized_dims` dims of x, then scales by weight and shifts by bias
// (both of those trailing dims' shape, or undefined).
Tensor layer_norm(const Tensor& x, std::int64_t normalized_dims, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// Inverted dropout: zeroes each element with probability p (drawn from gen) and scales the rest
// by 1 / (1 - p); the identity when !training or p == 0. Requires 0 <= p < 1.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);

}  // namespace actlab::nn::functional
