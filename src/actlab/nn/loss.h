// Loss functions. Each reduces with `reduction`: Mean (default) over all elements (over the
// batch for the classification losses), Sum, or None (one loss per sample/element).
//
// Errors: a wrong shape or dtype, or a class label outside [0, classes), throws Error naming
// the offending value and the expected range.
#pragma once

#include "actlab/core/tensor.h"

namespace actlab::nn {

enum class Reduction { Mean, Sum, None };

struct CrossEntropyOptions {
  Reduction reduction = Reduction::Mean;
  // Target distribution (1 - s) onehot + s / classes (Szegedy et al. 2016); 0 disables it.
  double label_smoothing = 0.0;
};

// logits [N, C] (unnormalized), target int64 [N] of class indices in [0, C). Fused
// log-softmax + NLL; backward is softmax - target distribution.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options = {});

// log_probs [N, C] (e.g. log-softmax outputs), target int64 [N]: -log_probs[i, target[i]].
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean);

// (input - target)^2, shapes equal; differentiable in both.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

// -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], computed stably from logits x; target y in
// [0, 1] of the same shape. Differentiable in the logits.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);

}  // namespace actlab::nn
