// BatchNorm and LayerNorm: fused kernels (statistics, normalization and affine in one sweep
// each; backward in two), accumulating in double, threaded over channels or rows.
//
// Both normalize xhat = (x - mean) * invstd and output y = gamma xhat + beta. With M values per
// statistic, the backward of the batch statistics is
//   dx = gamma invstd (g - mean(g) - xhat mean(g xhat)),  dgamma = sum(g xhat),  dbeta = sum(g).
#include <cmath>

#include "actlab/autograd/node.h"
#include "actlab/core/parallel.h"
#include "actlab/nn/layers.h"

namespace actlab::nn {

using Grads = std::vector<Tensor>;

namespace {

// Per-statistic values saved for backward.
struct Stats {
  std::vector<double> mean, invstd;
};

// x viewed as [outer, channels, inner]: channel c's values are rows x[n][c][0..inner).
struct ChannelView {
  std::int64_t outer, channels, inner;
  std::int64_t count() const { return outer * inner; }
  template <typename T, typename Fn>
  void rows(T* base, std::int64_t c, Fn&& fn) const {
    for (std::int64_t n = 0; n < outer; ++n) fn(base + (n * channels + c) * inner, n);
  }
};

template <typename Fn>
void over_channels(const ChannelView& v, Fn&& fn) {
  parallel_for(0, v.channels, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(v.count(), 1)),
               [&](std::int64_t c0, std::int64_t c1) {
                 for (std::int64_t c = c0; c < c1; ++c) fn(c);
               });
}

template <typename T>
double sum_of(const T* p, std::int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(p[i]);
  return s;
}

template <typename T>
double squared_deviation(const T* p, std::int64_t n, double mean) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (std::int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(p[i]) - mean;
    s += d * d;
  }
  return s;
}

// y = x * scale + shift over one row.
template <typename T>
void affine_row(const T* x, T* y, std::int64_t n, T scale, T shift) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
}

// sum(g) and sum(g (x - mean)) over one row.
template <typename T>
std::pair<double, double> gradient_sums(const T* g, const T* x, std::int64_t n, double mean) {
  double sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
  for (std::int64_t i = 0; i < n; ++i) {
    sg += static_cast<double>(g[i]);
    sgx += static_cast<double>(g[i]) * (static_cast<double>(x[i]) - mean);
  }
  return {sg, sgx};
}

// dx = scale (g - a - (x - mean) b) over one row.
template <typename T>
void input_gradient_row(const T* g, const T* x, T* dx, std::int64_t n, T scale, T a, T b, T mean) {
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) dx[i] = scale * (g[i] - a - (x[i] - mean) * b);
}

template <typename T>
T value_or(const Tensor& t, std::int64_t i, T fallback) {
  return t.defined() ? t.data<T>()[i] : fallback;
}

}  // namespace

namespace functional {

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  ACTLAB_CHECK(x.dim() >= 2, "batch_norm: input must be [N, C, ...], got shape {}", shape_str(x.shape()));
  const std::int64_t channels = x.size(1);
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
    ACTLAB_CHECK(!t->defined() || (t->shape() == Shape{channels} && t->dtype() == x.dtype()),
                 "batch_norm: input {} ({}) has {} channels but a parameter or buffer is {} ({})", shape_str(x.shape()),
                 x.dtype(), channels, shape_str(t->shape()), t->dtype());
  ACTLAB_CHECK(training || (running_mean.defined() && running_var.defined()),
               "batch_norm: evaluation mode needs running_mean and running_var");
  const ChannelView v{x.size(0), channels, x.numel() / std::max<std::int64_t>(x.size(0) * channels, 1)};
  ACTLAB_CHECK(!training || v.count() > 1,
               "batch_norm: training needs more than one value per channel, got input shape {} (use a batch of at "
               "least 2, or eval())",
               shape_str(x.shape()));
  // [N, C] as [1, C, N]: each channel's values become one contiguous row the kernels vectorize.
  if (x.dim() == 2)
    return batch_norm(x.t().unsqueeze(0), running_mean, running_var, weight, bias, training, momentum, eps).squeeze(0).t();
  const Tensor xc = x.detach().contiguous();
  const Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  const Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  auto stats = std::make_shared<Stats>();
  stats->mean.resize(static_cast<std::size_t>(channels));
  stats->invstd.resize(static_cast<std::size_t>(channels));
  dispatch_floating(x.dtype(), "batch_norm", [&]<typename T>() {
    const T* in = xc.data<T>();
    T* o = out.data<T>();
    over_channels(v, [&](std::int64_t c) {
      const auto i = static_cast<std::size_t>(c);
      double mean, var;
      if (training) {
        double s = 0;
        v.rows(in, c, [&](const T* row, std::int64_t) { s += sum_of(row, v.inner); });
        mean = s / static_cast<double>(v.count());
        double sq = 0;
        v.rows(in, c, [&](const T* row, std::int64_t) { sq += squared_deviation(row, v.inner, mean); });
        var = sq / static_cast<double>(v.count());
        if (running_mean.defined()) {
          T& rm = running_mean.data<T>()[c];
          T& rv = running_var.data<T>()[c];
          const double unbiased = sq / static_cast<double>(v.count() - 1);
          rm = static_cast<T>((1 - momentum) * rm + momentum * mean);
          rv = static_cast<T>((1 - momentum) * rv + momentum * unbiased);
        }
      } else {
        mean = running_mean.data<T>()[c];
        var = running_var.data<T>()[c];
      }
      stats->mean[i] = mean;
      stats->invstd[i] = 1.0 / std::sqrt(var + eps);
      const double scale = value_or<T>(w, c, T(1)) * stats->invstd[i];
      const double shift = value_or<T>(b, c, T(0)) - mean * scale;
      v.rows(in, c, [&](const T* row, std::int64_t) {
        affine_row(row, o + (row - in), v.inner, static_cast<T>(scale), static_cast<T>(shift));
      });
    });
  });
  return autograd::record(
      "batch_norm", out, {x, weight, bias}, [xc, w, v, stats, training](const Tensor& g0, auto& needs) {
        const Tensor g = g0.contiguous();
        Grads grads(3);
        if (needs[0]) grads[0] = Tensor::empty(xc.shape(), xc.dtype());
        if (needs[1]) grads[1] = Tensor::empty({v.channels}, xc.dtype());
        if (needs[2]) grads[2] = Tensor::empty({v.channels}, xc.dtype());
        dispatch_floating(g.dtype(), "batch_norm backward", [&]<typename T>() {
          const T* in = xc.data<T>();
          const T* gp = g.data<T>();
          over_channels(v, [&](std::int64_t c) {
            const auto i = static_cast<std::size_t>(c);
            const double mean = stats->mean[i], invstd = stats->invstd[i];
            double sg = 0, sgx = 0;
            v.rows(in, c, [&](const T* row, std::int64_t) {
              const auto [a, b] = gradient_sums(gp + (row - in), row, v.inner, mean);
              sg += a;
              sgx += b;
            });
            if (needs[1]) grads[1].data<T>()[c] = static_cast<T>(sgx * invstd);
            if (needs[2]) grads[2].data<T>()[c] = static_cast<T>(sg);
            if (!needs[0]) return;
            // Batch statistics depend on x; running ones do not.
            const double m = static_cast<double>(v.count());
            const T a = training ? static_cast<T>(sg / m) : T(0);
            const T b = training ? static_cast<T>(sgx / m * invstd * invstd) : T(0);
            const T scale = static_cast<T>(value_or<T>(w, c, T(1)) * invstd);
            T* dx = grads[0].data<T>();
            v.rows(in, c, [&](const T* row, std::int64_t) {
              input_gradient_row(gp + (row - in), row, dx + (row - in), v.inner, scale, a, b, static_cast<T>(mean));
            });
          });
        });
        return grads;
      });
}

Tensor layer_norm(const Tensor& x, std::int64_t normalized_dims, const Tensor& weight, const Tensor& bias, double eps) {
  ACTLAB_CHECK(normalized_dims >= 1 && normalized_dims <= x.dim(),
               "layer_norm: cannot normalize the last {} dims of an input of shape {}", normalized_dims,
               shape_str(x.shape()));
  const Shape normalized(x.shape().end() - normalized_dims, x.shape().end());
  for (const Tensor* t : {&weight, &bias})
    ACTLAB_CHECK(!t->defined() || (t->shape() == normalized && t->dtype() == x.dtype()),
                 "layer_norm: weight and bias must be {} ({}) for input {}, got {} ({})", shape_str(normalized),
                 x.dtype(), shape_str(x.shape()), shape_str(t->shape()), t->dtype());
  const std::int64_t width = numel_of(normalized), rows = x.numel() / std::max<std::int64_t>(width, 1);
  // Each statistic is one row of `width` values: channels = rows, outer = 1.
  const ChannelView v{1, rows, width};
  const Tensor xc = x.detach().contiguous();
  const Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  const Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  auto stats = std::make_shared<Stats>();
  stats->mean.resize(static_cast<std::size_t>(rows));
  stats->invstd.resize(static_cast<std::size_t>(rows));
  dispatch_floating(x.dtype(), "layer_norm", [&]<typename T>() {
    over_channels(v, [&](std::int64_t r) {
      const T* row = xc.data<T>() + r * width;
      T* o = out.data<T>() + r * width;
      const double mean = sum_of(row, width) / static_cast<double>(width);
      const double invstd = 1.0 / std::sqrt(squared_deviation(row, width, mean) / static_cast<double>(width) + eps);
      stats->mean[static_cast<std::size_t>(r)] = mean;
      stats->invstd[static_cast<std::size_t>(r)] = invstd;
      if (!w.defined() && !b.defined()) return affine_row(row, o, width, static_cast<T>(invstd), static_cast<T>(-mean * invstd));
      for (std::int64_t i = 0; i < width; ++i) {
        const T xhat = static_cast<T>((row[i] - mean) * invstd);
        o[i] = xhat * value_or<T>(w, i, T(1)) + value_or<T>(b, i, T(0));
      }
    });
  });
  return autograd::record("layer_norm", out, {x, weight, bias}, [xc, w, v, stats](const Tensor& g0, auto& needs) {
    const Tensor g = g0.contiguous();
    const std::int64_t width = v.inner, rows = v.channels;
    Grads grads(3);
    dispatch_floating(g.dtype(), "layer_norm backward", [&]<typename T>() {
      const T* in = xc.data<T>();
      const T* gp = g.data<T>();
      if (needs[0]) {
        grads[0] = Tensor::empty(xc.shape(), xc.dtype());
        over_channels(v, [&](std::int64_t r) {
          const double mean = stats->mean[static_cast<std::size_t>(r)], invstd = stats->invstd[static_cast<std::size_t>(r)];
          const T* row = in + r * width;
          const T* grow = gp + r * width;
          // gamma folds into the incoming gradient: gw = g * gamma.
          std::vector<T> gw(grow, grow + width);
          if (w.defined())
            for (std::int64_t i = 0; i < width; ++i) gw[static_cast<std::size_t>(i)] *= w.data<T>()[i];
          const auto [sg, sgx] = gradient_sums(gw.data(), row, width, mean);
          const double m = static_cast<double>(width);
          input_gradient_row(gw.data(), row, grads[0].data<T>() + r * width, width, static_cast<T>(invstd),
                             static_cast<T>(sg / m), static_cast<T>(sgx / m * invstd * invstd), static_cast<T>(mean));
        });
      }
      if (!needs[1] && !needs[2]) return;
      // Column sums over rows, threaded over column blocks.
      std::vector<double> dgamma(static_cast<std::size_t>(width), 0.0), dbeta(static_cast<std::size_t>(width), 0.0);
      parallel_for(0, width, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(rows, 1)),
                   [&](std::int64_t i0, std::int64_t i1) {
                     for (std::int64_t r = 0; r < rows; ++r) {
                       const double mean = stats->mean[static_cast<std::size_t>(r)];
                       const double invstd = stats->invstd[static_cast<std::size_t>(r)];
                       for (std::int64_t i = i0; i < i1; ++i) {
                         const double gv = gp[r * width + i];
                         dgamma[static_cast<std::size_t>(i)] += gv * (in[r * width + i] - mean) * invstd;
                         dbeta[static_cast<std::size_t>(i)] += gv;
                       }
                     }
                   });
      const Shape shape = w.defined() ? w.shape() : Shape{width};
      if (needs[1]) grads[1] = from_vector(dgamma, shape).to(g.dtype());
      if (needs[2]) grads[2] = from_vector(dbeta, shape).to(g.dtype());
    });
    return grads;
  });
}

}  // namespace functional

BatchNorm::BatchNorm(std::string type_name, std::int64_t features, BatchNormOptions opts, std::int64_t min_rank,
                     std::int64_t max_rank)
    : Module(std::move(type_name)), num_features(features), options(opts), min_rank_(min_rank), max_rank_(max_rank) {
  ACTLAB_CHECK(features > 0, "{}: num_features must be positive, got {}", this->type_name(), features);
  if (opts.affine) {
    weight = register_parameter("weight", ones({features}));
    bias = register_parameter("bias", zeros({features}));
  }
  if (opts.track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({features}));
    running_var = register_buffer("running_var", ones({features}));
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  ACTLAB_CHECK(x.dim() >= min_rank_ && x.dim() <= max_rank_ && x.size(1) == num_features,
               "{}({}): expected an input of rank {}{} with {} channels in dim 1, got shape {}", type_name(),
               num_features, min_rank_, max_rank_ != min_rank_ ? fmt::format(" to {}", max_rank_) : "", num_features,
               shape_str(x.shape()));
  const bool batch_stats = is_training() || !options.track_running_stats;
  return functional::batch_norm(x, running_mean, running_var, weight, bias, batch_stats, options.momentum, options.eps);
}

std::string BatchNorm::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}{}", num_features, options.eps, options.momentum,
                     options.affine ? "" : ", affine=false");
}

LayerNorm::LayerNorm(Shape shape, LayerNormOptions opts)
    : Module("LayerNorm"), normalized_shape(std::move(shape)), options(opts) {
  ACTLAB_CHECK(!normalized_shape.empty() && numel_of(normalized_shape) > 0,
               "LayerNorm: normalized_shape must be non-empty with positive sizes, got {}", shape_str(normalized_shape));
  if (opts.elementwise_affine) {
    weight = register_parameter("weight", ones(normalized_shape));
    bias = register_parameter("bias", zeros(normalized_shape));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  const auto dims = static_cast<std::int64_t>(normalized_shape.size());
  ACTLAB_CHECK(x.dim() >= dims && Shape(x.shape().end() - dims, x.shape().end()) == normalized_shape,
               "LayerNorm: input of shape {} does not end in the normalized shape {}", shape_str(x.shape()),
               shape_str(normalized_shape));
  return functional::layer_norm(x, dims, weight, bias, options.eps);
}

std::string LayerNorm::extra_repr() const { return fmt::format("{}, eps={}", shape_str(normalized_shape), options.eps); }

}  // namespace actlab::nn
