#include "actlab/nn/loss.h"

#include <cmath>

#include "actlab/autograd/node.h"
#include "actlab/core/parallel.h"

namespace actlab::nn {

using Grads = std::vector<Tensor>;

namespace {

Tensor reduce(const Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean: return losses.mean();
    case Reduction::Sum: return losses.sum();
    case Reduction::None: return losses;
  }
  return losses;
}

// Checks a [N, C] score matrix and int64 [N] labels in [0, C); returns the labels contiguous.
Tensor checked_labels(const Tensor& scores, const Tensor& target, std::string_view op) {
  ACTLAB_CHECK(scores.dim() == 2, "{}: expected scores of shape [batch, classes], got {}", op, shape_str(scores.shape()));
  ACTLAB_CHECK(target.dtype() == kInt64 && target.shape() == Shape{scores.size(0)},
               "{}: target must be int64 class indices of shape [{}], got {} of shape {}", op, scores.size(0),
               target.dtype(), shape_str(target.shape()));
  const Tensor labels = target.contiguous();
  const std::int64_t classes = scores.size(1);
  const std::int64_t* y = labels.data<std::int64_t>();
  for (std::int64_t i = 0; i < labels.numel(); ++i)
    ACTLAB_CHECK(y[i] >= 0 && y[i] < classes,
                 "{}: target[{}] = {} is not a class index; with {} classes labels must be in [0, {}]", op, i, y[i],
                 classes, classes - 1);
  return labels;
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options) {
  const Tensor labels = checked_labels(logits, target, "cross_entropy");
  ACTLAB_CHECK(options.label_smoothing >= 0 && options.label_smoothing <= 1,
               "cross_entropy: label_smoothing must be in [0, 1], got {}", options.label_smoothing);
  const std::int64_t batch = logits.size(0), classes = logits.size(1);
  const Tensor x = logits.detach().contiguous();
  Tensor losses = Tensor::empty({batch}, x.dtype());
  Tensor probs = Tensor::empty(x.shape(), x.dtype());  // softmax, kept for backward
  const double smooth = options.label_smoothing;
  dispatch_floating(x.dtype(), "cross_entropy", [&]<typename T>() {
    const std::int64_t* y = labels.data<std::int64_t>();
    parallel_for(0, batch, std::max<std::int64_t>(1, kParallelGrain / classes), [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) {
        const T* row = x.data<T>() + i * classes;
        T* p = probs.data<T>() + i * classes;
        T top = row[0];
        for (std::int64_t j = 1; j < classes; ++j) top = std::max(top, row[j]);
        double total = 0, row_sum = 0;
        for (std::int64_t j = 0; j < classes; ++j) {
          p[j] = std::exp(row[j] - top);
          total += p[j];
          row_sum += row[j];
        }
        const double log_total = std::log(total) + top;  // logsumexp
        for (std::int64_t j = 0; j < classes; ++j) p[j] = static_cast<T>(p[j] / total);
        // -log p[y] = lse - x[y]; the smoothing term is -mean_j log p[j] = lse - mean_j x[j].
        const double nll = log_total - row[y[i]];
        const double uniform = log_total - row_sum / static_cast<double>(classes);
        losses.data<T>()[i] = static_cast<T>((1 - smooth) * nll + smooth * uniform);
      }
    });
  });
  Tensor recorded = autograd::record("cross_entropy", losses, {logits}, [probs, labels, smooth](const Tensor& g0, auto&) {
    const Tensor g = g0.contiguous();
    const std::int64_t batch = probs.size(0), classes = probs.size(1);
    Tensor dx = Tensor::empty(probs.shape(), probs.dtype());
    dispatch_floating(probs.dtype(), "cross_entropy backward", [&]<typename T>() {
      const std::int64_t* y = labels.data<std::int64_t>();
      const T off = static_cast<T>(smooth / static_cast<double>(classes));
      for (std::int64_t i = 0; i < batch; ++i) {
        const T gi = g.data<T>()[i];
        const T* p = probs.data<T>() + i * classes;
        T* d = dx.data<T>() + i * classes;
        for (std::int64_t j = 0; j < classes; ++j) d[j] = gi * (p[j] - off);
        d[y[i]] -= gi * static_cast<T>(1 - smooth);
      }
    });
    return Grads{dx};
  });
  return reduce(recorded, options.reduction);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  const Tensor labels = checked_labels(log_probs, target, "nll_loss");
  return reduce(-log_probs.gather(1, labels.unsqueeze(1)).squeeze(1), reduction);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  ACTLAB_CHECK(input.shape() == target.shape(), "mse_loss: input {} and target {} must have the same shape",
               shape_str(input.shape()), shape_str(target.shape()));
  return reduce((input - target).square(), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  ACTLAB_CHECK(logits.shape() == target.shape() && logits.dtype() == target.dtype(),
               "binary_cross_entropy_with_logits: logits {} ({}) and target {} ({}) must match in shape and dtype",
               shape_str(logits.shape()), logits.dtype(), shape_str(target.shape()), target.dtype());
  const Tensor x = logits.detach().contiguous(), y = target.detach().contiguous();
  Tensor losses = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "binary_cross_entropy_with_logits", [&]<typename T>() {
    const T* xp = x.data<T>();
    const T* yp = y.data<T>();
    T* l = losses.data<T>();
    // max(x, 0) - x y + log(1 + exp(-|x|)) never overflows.
    for (std::int64_t i = 0; i < x.numel(); ++i)
      l[i] = std::max(xp[i], T(0)) - xp[i] * yp[i] + std::log1p(std::exp(-std::abs(xp[i])));
  });
  Tensor recorded = autograd::record("binary_cross_entropy_with_logits", losses, {logits}, [x, y](const Tensor& g, auto&) {
    const Tensor sigmoid = 1.0 / (1.0 + (-x).exp());
    return Grads{g * (sigmoid - y)};
  });
  return reduce(recorded, reduction);
}

}  // namespace actlab::nn
