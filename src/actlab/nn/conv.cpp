// Conv2d: im2col + GEMM per sample and group, threaded over the batch (BLAS runs single-threaded
// inside the parallel region, so the two levels never oversubscribe the cores).
#include <algorithm>

#include "actlab/autograd/node.h"
#include "actlab/core/parallel.h"
#include "actlab/ops/gemm.h"
#include "actlab/nn/init.h"
#include "actlab/nn/layers.h"

namespace actlab::nn {

using Grads = std::vector<Tensor>;

namespace {

struct ConvGeometry {
  std::int64_t batch, channels, height, width;  // input
  std::int64_t out_channels, kh, kw, out_h, out_w;
  functional::Conv2dParams p;

  std::int64_t group_in() const { return channels / p.groups; }
  std::int64_t group_out() const { return out_channels / p.groups; }
  std::int64_t patch() const { return group_in() * kh * kw; }  // rows of the column matrix
  std::int64_t pixels() const { return out_h * out_w; }        // its columns
  // 1x1, stride 1, no padding: the input already is the column matrix.
  bool pointwise() const {
    return kh == 1 && kw == 1 && p.stride == std::array<std::int64_t, 2>{1, 1} &&
           p.padding == std::array<std::int64_t, 2>{0, 0};
  }
};

// im2col and its adjoint in one walk over the column matrix:
//   cols[(c kh + i) kw + j][oh OW + ow] = x[c][oh sh - ph + i dh][ow sw - pw + j dw] (0 outside).
// Gather fills cols from x; otherwise cols are accumulated back into x (which starts zeroed).
template <bool Gather, typename X, typename C>
void walk_columns(const ConvGeometry& g, X* x, C* cols) {
  const auto [sh, sw] = g.p.stride;
  const auto [ph, pw] = g.p.padding;
  const auto [dh, dw] = g.p.dilation;
  for (std::int64_t c = 0; c < g.group_in(); ++c)
    for (std::int64_t i = 0; i < g.kh; ++i)
      for (std::int64_t j = 0; j < g.kw; ++j) {
        C* row = cols + ((c * g.kh + i) * g.kw + j) * g.pixels();
        for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
          const std::int64_t ih = oh * sh - ph + i * dh;
          C* col = row + oh * g.out_w;
          if (ih < 0 || ih >= g.height) {
            if constexpr (Gather) std::fill_n(col, g.out_w, C(0));
            continue;
          }
          X* image = x + (c * g.height + ih) * g.width;
          for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
            const std::int64_t iw = ow * sw - pw + j * dw;
            const bool inside = iw >= 0 && iw < g.width;
            if constexpr (Gather)
              col[ow] = inside ? image[iw] : C(0);
            else if (inside)
              image[iw] += col[ow];
          }
        }
      }
}

template <typename T>
void im2col(const ConvGeometry& g, const T* x, T* cols) {
  walk_columns<true>(g, x, cols);
}

template <typename T>
void col2im(const ConvGeometry& g, const T* cols, T* dx) {
  walk_columns<false>(g, dx, cols);
}

// Splits the batch into one contiguous range per thread; fn(chunk, first, last).
template <typename Fn>
void over_batch_chunks(std::int64_t batch, std::int64_t chunks, Fn&& fn) {
  parallel_for(0, chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) fn(c, batch * c / chunks, batch * (c + 1) / chunks);
  });
}

// One chunk per thread, or a single one when the whole product is too small to share.
std::int64_t batch_chunks(const ConvGeometry& g) {
  const std::int64_t flops = g.batch * g.out_channels * g.patch() * g.pixels();
  if (flops < (std::int64_t{1} << 20)) return 1;
  return std::max<std::int64_t>(1, std::min<std::int64_t>(num_threads(), g.batch));
}

template <typename T>
void conv_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* out) {
  const std::int64_t chunks = batch_chunks(g);
  const std::int64_t in_sample = g.channels * g.height * g.width, out_sample = g.out_channels * g.pixels();
  over_batch_chunks(g.batch, chunks, [&](std::int64_t, std::int64_t first, std::int64_t last) {
    std::vector<T> cols(g.pointwise() ? 0 : static_cast<std::size_t>(g.patch() * g.pixels()));
    for (std::int64_t n = first; n < last; ++n)
      for (std::int64_t grp = 0; grp < g.p.groups; ++grp) {
        const T* xg = x + n * in_sample + grp * g.group_in() * g.height * g.width;
        T* og = out + n * out_sample + grp * g.group_out() * g.pixels();
        if (!g.pointwise()) im2col(g, xg, cols.data());
        if (bias != nullptr)
          for (std::int64_t o = 0; o < g.group_out(); ++o)
            std::fill_n(og + o * g.pixels(), g.pixels(), bias[grp * g.group_out() + o]);
        ops::gemm<T>(false, false, g.group_out(), g.pixels(), g.patch(), T(1), w + grp * g.group_out() * g.patch(),
                        g.patch(), g.pointwise() ? xg : cols.data(), g.pixels(), bias != nullptr ? T(1) : T(0), og,
                        g.pixels());
      }
  });
}

// dx (zeroed by the caller), dw and db (each optional) from the output gradient.
template <typename T>
void conv_backward(const ConvGeometry& g, const T* x, const T* w, const T* grad, T* dx, T* dw, T* db) {
  const std::int64_t chunks = batch_chunks(g);
  const std::int64_t in_sample = g.channels * g.height * g.width, out_sample = g.out_channels * g.pixels();
  const std::int64_t w_size = g.out_channels * g.patch();
  // Per-chunk weight and bias gradients, summed in chunk order afterwards.
  std::vector<std::vector<T>> dw_part(static_cast<std::size_t>(chunks)), db_part(static_cast<std::size_t>(chunks));
  over_batch_chunks(g.batch, chunks, [&](std::int64_t chunk, std::int64_t first, std::int64_t last) {
    std::vector<T> cols(static_cast<std::size_t>(g.patch() * g.pixels()));
    auto& dwc = dw_part[static_cast<std::size_t>(chunk)];
    auto& dbc = db_part[static_cast<std::size_t>(chunk)];
    if (dw != nullptr) dwc.assign(static_cast<std::size_t>(w_size), T(0));
    if (db != nullptr) dbc.assign(static_cast<std::size_t>(g.out_channels), T(0));
    for (std::int64_t n = first; n < last; ++n)
      for (std::int64_t grp = 0; grp < g.p.groups; ++grp) {
        const std::int64_t in_offset = n * in_sample + grp * g.group_in() * g.height * g.width;
        const T* gg = grad + n * out_sample + grp * g.group_out() * g.pixels();
        const T* wg = w + grp * g.group_out() * g.patch();
        if (dw != nullptr) {
          const T* columns = x + in_offset;
          if (!g.pointwise()) {
            im2col(g, x + in_offset, cols.data());
            columns = cols.data();
          }
          ops::gemm<T>(false, true, g.group_out(), g.patch(), g.pixels(), T(1), gg, g.pixels(), columns, g.pixels(),
                          T(1), dwc.data() + grp * g.group_out() * g.patch(), g.patch());
        }
        if (db != nullptr)
          for (std::int64_t o = 0; o < g.group_out(); ++o) {
            T s = 0;
            const T* row = gg + o * g.pixels();
#pragma omp simd reduction(+ : s)
            for (std::int64_t l = 0; l < g.pixels(); ++l) s += row[l];
            dbc[static_cast<std::size_t>(grp * g.group_out() + o)] += s;
          }
        if (dx != nullptr) {
          if (g.pointwise()) {
            ops::gemm<T>(true, false, g.patch(), g.pixels(), g.group_out(), T(1), wg, g.patch(), gg, g.pixels(),
                            T(1), dx + in_offset, g.pixels());
          } else {
            ops::gemm<T>(true, false, g.patch(), g.pixels(), g.group_out(), T(1), wg, g.patch(), gg, g.pixels(),
                            T(0), cols.data(), g.pixels());
            col2im(g, cols.data(), dx + in_offset);
          }
        }
      }
  });
  auto reduce = [&](std::vector<std::vector<T>>& parts, T* target, std::int64_t size) {
    std::fill_n(target, size, T(0));
    for (const auto& part : parts)
      for (std::int64_t i = 0; i < size; ++i) target[i] += part[static_cast<std::size_t>(i)];
  };
  if (dw != nullptr) reduce(dw_part, dw, w_size);
  if (db != nullptr) reduce(db_part, db, g.out_channels);
}

}  // namespace

namespace functional {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params) {
  ACTLAB_CHECK(x.dim() == 4, "conv2d: input must be [N, C, H, W], got shape {}", shape_str(x.shape()));
  ACTLAB_CHECK(weight.dim() == 4, "conv2d: weight must be [out, in/groups, kh, kw], got shape {}",
               shape_str(weight.shape()));
  ACTLAB_CHECK(x.dtype() == weight.dtype() && (!bias.defined() || bias.dtype() == x.dtype()),
               "conv2d: input is {} but weight is {}; convert the module with to()", x.dtype(), weight.dtype());
  ConvGeometry g{x.size(0), x.size(1), x.size(2), x.size(3), weight.size(0), weight.size(2), weight.size(3), 0, 0, params};
  const auto& p = params;
  ACTLAB_CHECK(p.groups >= 1 && g.channels % p.groups == 0 && g.out_channels % p.groups == 0 &&
                   weight.size(1) * p.groups == g.channels,
               "conv2d: input has {} channels and weight {} with groups={}: need in = weight.size(1) * groups and "
               "both channel counts divisible by groups",
               g.channels, shape_str(weight.shape()), p.groups);
  ACTLAB_CHECK(!bias.defined() || bias.shape() == Shape{g.out_channels}, "conv2d: bias of shape {} should be [{}]",
               shape_str(bias.shape()), g.out_channels);
  for (int d = 0; d < 2; ++d)
    ACTLAB_CHECK(p.stride[d] >= 1 && p.dilation[d] >= 1 && p.padding[d] >= 0,
                 "conv2d: stride and dilation must be >= 1 and padding >= 0 (got stride {}, padding {}, dilation {})",
                 p.stride[d], p.padding[d], p.dilation[d]);
  g.out_h = (g.height + 2 * p.padding[0] - p.dilation[0] * (g.kh - 1) - 1) / p.stride[0] + 1;
  g.out_w = (g.width + 2 * p.padding[1] - p.dilation[1] * (g.kw - 1) - 1) / p.stride[1] + 1;
  ACTLAB_CHECK(g.out_h > 0 && g.out_w > 0, "conv2d: a {}x{} kernel does not fit the padded {}x{} input", g.kh, g.kw,
               g.height, g.width);
  const Tensor xc = x.detach().contiguous(), wc = weight.detach().contiguous();
  Tensor out = Tensor::empty({g.batch, g.out_channels, g.out_h, g.out_w}, x.dtype());
  dispatch_floating(x.dtype(), "conv2d", [&]<typename T>() {
    const Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
    conv_forward<T>(g, xc.data<T>(), wc.data<T>(), b.defined() ? b.data<T>() : nullptr, out.data<T>());
  });
  return autograd::record("conv2d", out, {x, weight, bias}, [g, xc, wc](const Tensor& g0, auto& needs) {
    const Tensor grad = g0.contiguous();
    Grads grads(3);
    if (needs[0]) grads[0] = zeros(xc.shape(), xc.dtype());
    if (needs[1]) grads[1] = Tensor::empty(wc.shape(), wc.dtype());
    if (needs[2]) grads[2] = Tensor::empty({g.out_channels}, wc.dtype());
    dispatch_floating(grad.dtype(), "conv2d backward", [&]<typename T>() {
      auto ptr = [](const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; };
      conv_backward<T>(g, xc.data<T>(), wc.data<T>(), grad.data<T>(), ptr(grads[0]), ptr(grads[1]), ptr(grads[2]));
    });
    return grads;
  });
}

}  // namespace functional

Conv2d::Conv2d(std::int64_t in, std::int64_t out, std::int64_t kernel_size, Conv2dOptions opts, Generator& gen)
    : Module("Conv2d"), options(opts) {
  ACTLAB_CHECK(in > 0 && out > 0 && kernel_size > 0 && opts.groups >= 1 && in % opts.groups == 0 &&
                   out % opts.groups == 0,
               "Conv2d: channels ({} -> {}) must be positive and divisible by groups ({}), kernel_size ({}) positive",
               in, out, opts.groups, kernel_size);
  weight = register_parameter("weight", empty({out, in / opts.groups, kernel_size, kernel_size}));
  const std::int64_t fan_in = in / opts.groups * kernel_size * kernel_size;
  init::standard_(weight, fan_in, gen);
  if (opts.bias) {
    bias = register_parameter("bias", empty({out}));
    init::standard_(bias, fan_in, gen);
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  return functional::conv2d(x, weight, bias, {options.stride, options.padding, options.dilation, options.groups});
}

std::string Conv2d::extra_repr() const {
  std::string s = fmt::format("{}->{}, k={}", weight.size(1) * options.groups, weight.size(0), weight.size(2));
  if (options.stride != std::array<std::int64_t, 2>{1, 1}) s += fmt::format(", stride={}", options.stride[0]);
  if (options.padding != std::array<std::int64_t, 2>{0, 0}) s += fmt::format(", padding={}", options.padding[0]);
  if (options.dilation != std::array<std::int64_t, 2>{1, 1}) s += fmt::format(", dilation={}", options.dilation[0]);
  if (options.groups != 1) s += fmt::format(", groups={}", options.groups);
  if (!bias.defined()) s += ", no bias";
  return s;
}

}  // namespace actlab::nn
