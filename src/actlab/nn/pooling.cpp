// Pooling over windows of each [H, W] plane, threaded over the N*C planes, and Flatten. The 2x2,
// stride-2 max pool (nearly every CNN's) is compiled once per instruction-set level (core/cpu.h).
//
// A pooling op is described by its windows along each axis: [begin, end) clipped to the input,
// and `count`, the extent the average divides by (which includes padding for avg_pool2d).
#include <algorithm>
#include <limits>

#include "actlab/autograd/node.h"
#include "actlab/core/cpu.h"
#include "actlab/core/parallel.h"
#include "actlab/nn/layers.h"

namespace actlab::nn {

using Grads = std::vector<Tensor>;

// The per-level kernel: a 2x2, stride-2 max pool over `planes` [height, width] planes, with
// max_pool2d's rule (the first maximum or the first NaN wins); `where` gets each maximum's
// position within its plane, for backward.
#define ACTLAB_DECLARE_POOL_KERNELS(level)                                                           \
  namespace level {                                                                                  \
  template <typename T>                                                                              \
  void max_pool_2x2(std::int64_t planes, std::int64_t height, std::int64_t width, const T* in, T* out, \
                    std::int32_t* where);                                                            \
  }
ACTLAB_DECLARE_POOL_KERNELS(avx512)
ACTLAB_DECLARE_POOL_KERNELS(avx2)
ACTLAB_DECLARE_POOL_KERNELS(baseline)
#undef ACTLAB_DECLARE_POOL_KERNELS

namespace {

// One plane, as selects over four candidates the compiler vectorizes along the row.
template <typename T>
void max_pool_2x2_plane(std::int64_t out_h, std::int64_t out_w, std::int64_t width, const T* in, T* out,
                        std::int32_t* where) {
  for (std::int64_t r = 0; r < out_h; ++r) {
    const T* top = in + 2 * r * width;
    const T* bottom = top + width;
    const auto row_at = static_cast<std::int32_t>(2 * r * width), step = static_cast<std::int32_t>(width);
#pragma omp simd
    for (std::int64_t c = 0; c < out_w; ++c) {
      const auto at0 = static_cast<std::int32_t>(row_at + 2 * c);
      T best = top[2 * c];  // a NaN here stays: nothing below replaces a NaN
      std::int32_t at = at0;
      auto consider = [&](T v, std::int32_t v_at) {
        const bool take = v > best || (v != v && best == best);
        best = take ? v : best;
        at = take ? v_at : at;
      };
      consider(top[2 * c + 1], at0 + 1);
      consider(bottom[2 * c], at0 + step);
      consider(bottom[2 * c + 1], at0 + step + 1);
      out[r * out_w + c] = best;
      where[r * out_w + c] = at;
    }
  }
}

}  // namespace

template <typename T>
void ACTLAB_ISA::max_pool_2x2(std::int64_t planes, std::int64_t height, std::int64_t width, const T* in, T* out,
                              std::int32_t* where) {
  const std::int64_t out_h = height / 2, out_w = width / 2, out_plane = out_h * out_w;
  const std::int64_t grain = std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(1, height * width));
  parallel_for(0, planes, grain, [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p)
      max_pool_2x2_plane(out_h, out_w, width, in + p * height * width, out + p * out_plane, where + p * out_plane);
  });
}
template void ACTLAB_ISA::max_pool_2x2<float>(std::int64_t, std::int64_t, std::int64_t, const float*, float*,
                                              std::int32_t*);
template void ACTLAB_ISA::max_pool_2x2<double>(std::int64_t, std::int64_t, std::int64_t, const double*, double*,
                                               std::int32_t*);

#if !ACTLAB_KERNELS_ONLY
namespace {

struct Window {
  std::int64_t begin, end, count;
};
using Windows = std::vector<Window>;

// Windows of a strided pool along an axis of `size`; empty when none fits.
Windows strided_windows(std::int64_t size, std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
  const std::int64_t out = (size + 2 * padding - kernel) / stride + 1;
  Windows w;
  for (std::int64_t i = 0; i < out; ++i) {
    const std::int64_t start = i * stride - padding, stop = std::min(start + kernel, size + padding);
    w.push_back({std::max<std::int64_t>(start, 0), std::min(stop, size), stop - start});
  }
  return w;
}

Windows adaptive_windows(std::int64_t size, std::int64_t out) {
  Windows w;
  for (std::int64_t i = 0; i < out; ++i) {
    const std::int64_t start = i * size / out, stop = ((i + 1) * size + out - 1) / out;
    w.push_back({start, stop, stop - start});
  }
  return w;
}

struct PoolGeometry {
  std::int64_t planes, height, width;
  Windows rows, cols;
  std::int64_t out_plane() const { return static_cast<std::int64_t>(rows.size() * cols.size()); }
};

PoolGeometry geometry(const Tensor& x, Windows rows, Windows cols, std::string_view op) {
  ACTLAB_CHECK(x.dim() == 4, "{}: input must be [N, C, H, W], got shape {}", op, shape_str(x.shape()));
  ACTLAB_CHECK(!rows.empty() && !cols.empty(), "{}: the window does not fit the {}x{} input", op, x.size(2), x.size(3));
  return {x.size(0) * x.size(1), x.size(2), x.size(3), std::move(rows), std::move(cols)};
}

template <typename Fn>
void over_planes(const PoolGeometry& g, Fn&& fn) {
  const std::int64_t work = std::max<std::int64_t>(1, g.height * g.width);
  parallel_for(0, g.planes, std::max<std::int64_t>(1, kParallelGrain / work), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) fn(p);
  });
}

Shape output_shape(const Tensor& x, const PoolGeometry& g) {
  return {x.size(0), x.size(1), static_cast<std::int64_t>(g.rows.size()), static_cast<std::int64_t>(g.cols.size())};
}

Tensor average_pool(const Tensor& x, PoolGeometry g, const char* op) {
  const Tensor xc = x.detach().contiguous();
  Tensor out = Tensor::empty(output_shape(x, g), x.dtype());
  dispatch_floating(x.dtype(), op, [&]<typename T>() {
    over_planes(g, [&](std::int64_t p) {
      const T* in = xc.data<T>() + p * g.height * g.width;
      T* o = out.data<T>() + p * g.out_plane();
      for (const auto& r : g.rows)
        for (const auto& c : g.cols) {
          T s = 0;
          for (std::int64_t i = r.begin; i < r.end; ++i)
            for (std::int64_t j = c.begin; j < c.end; ++j) s += in[i * g.width + j];
          *o++ = s / static_cast<T>(r.count * c.count);
        }
    });
  });
  return autograd::record(op, out, {x}, [g = std::move(g), shape = x.shape()](const Tensor& g0, auto&) {
    const Tensor grad = g0.contiguous();
    Tensor dx = zeros(shape, grad.dtype());
    dispatch_floating(grad.dtype(), "avg_pool backward", [&]<typename T>() {
      over_planes(g, [&](std::int64_t p) {
        T* d = dx.data<T>() + p * g.height * g.width;
        const T* gp = grad.data<T>() + p * g.out_plane();
        for (const auto& r : g.rows)
          for (const auto& c : g.cols) {
            const T share = *gp++ / static_cast<T>(r.count * c.count);
            for (std::int64_t i = r.begin; i < r.end; ++i)
              for (std::int64_t j = c.begin; j < c.end; ++j) d[i * g.width + j] += share;
          }
      });
    });
    return Grads{dx};
  });
}

void check_pool_params(const functional::Pool2dParams& p, std::string_view op) {
  for (int d = 0; d < 2; ++d)
    ACTLAB_CHECK(p.kernel[d] >= 1 && p.stride[d] >= 1 && p.padding[d] >= 0 && 2 * p.padding[d] <= p.kernel[d],
                 "{}: need kernel >= 1, stride >= 1 and 0 <= padding <= kernel / 2 (got kernel {}, stride {}, "
                 "padding {})",
                 op, p.kernel[d], p.stride[d], p.padding[d]);
}

PoolGeometry strided_geometry(const Tensor& x, const functional::Pool2dParams& p, std::string_view op) {
  check_pool_params(p, op);
  ACTLAB_CHECK(x.dim() == 4, "{}: input must be [N, C, H, W], got shape {}", op, shape_str(x.shape()));
  return geometry(x, strided_windows(x.size(2), p.kernel[0], p.stride[0], p.padding[0]),
                  strided_windows(x.size(3), p.kernel[1], p.stride[1], p.padding[1]), op);
}

// Whether every window is 2x2 at stride 2 with no padding: the pool of nearly every CNN, which
// max_pool_2x2 runs as vector code.
bool two_by_two_windows(const PoolGeometry& g) {
  auto halves = [](const Windows& windows) {
    for (std::size_t i = 0; i < windows.size(); ++i)
      if (windows[i].begin != 2 * static_cast<std::int64_t>(i) || windows[i].end != windows[i].begin + 2) return false;
    return true;
  };
  return halves(g.rows) && halves(g.cols);
}

}  // namespace

namespace functional {

Tensor max_pool2d(const Tensor& x, const Pool2dParams& params) {
  PoolGeometry g = strided_geometry(x, params, "max_pool2d");
  const Tensor xc = x.detach().contiguous();
  Tensor out = Tensor::empty(output_shape(x, g), x.dtype());
  // Position of each output's maximum within its plane, for backward.
  auto argmax = std::make_shared<std::vector<std::int32_t>>(static_cast<std::size_t>(out.numel()));
  const bool two_by_two = two_by_two_windows(g);
  dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
    if (two_by_two) {
      ACTLAB_ISA_DISPATCH(nn, max_pool_2x2<T>(g.planes, g.height, g.width, xc.data<T>(), out.data<T>(), argmax->data()));
      return;
    }
    over_planes(g, [&](std::int64_t p) {
      const T* in = xc.data<T>() + p * g.height * g.width;
      T* o = out.data<T>() + p * g.out_plane();
      std::int32_t* where = argmax->data() + p * g.out_plane();
      for (const auto& r : g.rows)
        for (const auto& c : g.cols) {
          // The first maximum, or the first NaN, wins. A plain compare, which the compiler turns
          // into selects: where the maximum lies is data-dependent, and a branch on it
          // mispredicts about half the time. NaN windows (rare) are searched again.
          T best = -std::numeric_limits<T>::infinity();
          std::int64_t best_at = r.begin * g.width + c.begin;
          bool saw_nan = false;
          for (std::int64_t i = r.begin; i < r.end; ++i)
            for (std::int64_t j = c.begin; j < c.end; ++j) {
              const T v = in[i * g.width + j];
              saw_nan |= std::isnan(v);
              best_at = v > best ? i * g.width + j : best_at;
              best = v > best ? v : best;
            }
          if (saw_nan) {
            for (std::int64_t i = r.end - 1; i >= r.begin; --i)
              for (std::int64_t j = c.end - 1; j >= c.begin; --j)
                if (std::isnan(in[i * g.width + j])) best_at = i * g.width + j;
            best = in[best_at];
          }
          *o++ = best;
          *where++ = static_cast<std::int32_t>(best_at);
        }
    });
  });
  return autograd::record("max_pool2d", out, {x}, [g = std::move(g), argmax, shape = x.shape()](const Tensor& g0, auto&) {
    const Tensor grad = g0.contiguous();
    Tensor dx = zeros(shape, grad.dtype());
    dispatch_floating(grad.dtype(), "max_pool2d backward", [&]<typename T>() {
      over_planes(g, [&](std::int64_t p) {
        T* d = dx.data<T>() + p * g.height * g.width;
        const T* gp = grad.data<T>() + p * g.out_plane();
        const std::int32_t* where = argmax->data() + p * g.out_plane();
        for (std::int64_t k = 0; k < g.out_plane(); ++k) d[where[k]] += gp[k];
      });
    });
    return Grads{dx};
  });
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params) {
  return average_pool(x, strided_geometry(x, params, "avg_pool2d"), "avg_pool2d");
}

Tensor adaptive_avg_pool2d(const Tensor& x, std::array<std::int64_t, 2> output_size) {
  ACTLAB_CHECK(x.dim() == 4, "adaptive_avg_pool2d: input must be [N, C, H, W], got shape {}", shape_str(x.shape()));
  ACTLAB_CHECK(output_size[0] >= 1 && output_size[1] >= 1, "adaptive_avg_pool2d: output size must be >= 1, got {}x{}",
               output_size[0], output_size[1]);
  return average_pool(x,
                      geometry(x, adaptive_windows(x.size(2), output_size[0]), adaptive_windows(x.size(3), output_size[1]),
                               "adaptive_avg_pool2d"),
                      "adaptive_avg_pool2d");
}

}  // namespace functional

Pool2d::Pool2d(std::string type_name, std::int64_t kernel, Pool2dOptions options, bool max)
    : Module(std::move(type_name)), max_(max) {
  const std::int64_t stride = options.stride == 0 ? kernel : options.stride;
  params = {{kernel, kernel}, {stride, stride}, {options.padding, options.padding}};
  check_pool_params(params, this->type_name());
}

Tensor Pool2d::forward(const Tensor& x) {
  return max_ ? functional::max_pool2d(x, params) : functional::avg_pool2d(x, params);
}

std::string Pool2d::extra_repr() const {
  return fmt::format("k={}, stride={}{}", params.kernel[0], params.stride[0],
                     params.padding[0] ? fmt::format(", padding={}", params.padding[0]) : "");
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(std::array<std::int64_t, 2> size) : Module("AdaptiveAvgPool2d"), output_size(size) {}
Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return functional::adaptive_avg_pool2d(x, output_size); }
std::string AdaptiveAvgPool2d::extra_repr() const { return fmt::format("{}x{}", output_size[0], output_size[1]); }

Flatten::Flatten(std::int64_t start, std::int64_t end) : Module("Flatten"), start_dim(start), end_dim(end) {}
Tensor Flatten::forward(const Tensor& x) { return x.flatten(start_dim, end_dim); }

#endif  // !ACTLAB_KERNELS_ONLY

}  // namespace actlab::nn
