// Activations as functions on tensors (autograd-aware), as in torch.nn.functional.
//
// Each takes a float32 or float64 tensor of any shape and returns a new tensor of the same shape
// and dtype; float32 runs the AVX-512 kernel. Throws Error for other dtypes or bad parameters.
// The same functions are in the registry by these names (see activation.h, make_activation).
#pragma once

#include "actlab/core/generator.h"
#include "actlab/core/tensor.h"

namespace actlab {

// ---- classic ----
Tensor identity(const Tensor& x);  // returns x itself
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor elu(const Tensor& x, double alpha = 1.0);

// ---- modern ----
Tensor selu(const Tensor& x);
Tensor celu(const Tensor& x, double alpha = 1.0);  // requires alpha != 0
Tensor gelu(const Tensor& x);                      // exact: x Phi(x)
Tensor gelu_tanh(const Tensor& x);                 // the tanh approximation
Tensor silu(const Tensor& x, double beta = 1.0);   // x sigmoid(beta x), a.k.a. swish
Tensor mish(const Tensor& x);
// log(1 + exp(beta x)) / beta, and x where beta x > threshold. Requires beta > 0.
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor softsign(const Tensor& x);
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);  // requires min < max
Tensor relu6(const Tensor& x);
Tensor hardsigmoid(const Tensor& x);
Tensor hardswish(const Tensor& x);
Tensor logsigmoid(const Tensor& x);

// ---- along a dim ----
// exp(x - max) / sum(exp(x - max)) along `dim` (negative counts from the end).
Tensor softmax(const Tensor& x, std::int64_t dim = -1);
// x - max - log(sum(exp(x - max))) along `dim`.
Tensor log_softmax(const Tensor& x, std::int64_t dim = -1);

// ---- random and learnable (parameters float32 or float64, used in x's dtype) ----
// Slope for x < 0 drawn from U(lower, upper) per element while training, (lower + upper) / 2 in
// evaluation. Requires lower <= upper.
Tensor rrelu(const Tensor& x, double lower = 1.0 / 8, double upper = 1.0 / 3, bool training = false,
             Generator& gen = default_generator());
// x if x >= 0 else weight[c] x, c the channel (dim 1); weight has 1 element (shared) or x.size(1).
Tensor prelu(const Tensor& x, const Tensor& weight);
// x sigmoid(beta[c] x) with a learnable beta (1 element, or one per channel along dim 1).
Tensor learnable_swish(const Tensor& x, const Tensor& beta);
// The Pade activation unit P(x) / (1 + |b1 x + ... + b4 x^4|), P(x) = a0 + a1 x + ... + a5 x^5:
// numerator [C, 6], denominator [C, 4], with C = 1 or x.size(1).
Tensor rational(const Tensor& x, const Tensor& numerator, const Tensor& denominator);

}  // namespace actlab
