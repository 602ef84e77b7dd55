// Conv2d. Stride 1 (every conv in the model builders) runs direct register-tiled kernels for the
// output and both gradients; other strides use im2col + GEMM per sample and group. Both are
// threaded over chunks of the batch (BLAS runs single-threaded inside the parallel region, so the
// two levels never oversubscribe the cores). The kernels are compiled once per instruction-set
// level (core/cpu.h), their vectors as wide as the level's registers; the active level's run.
#include <algorithm>
#include <cstring>

#include "actlab/activations/simd.h"
#include "actlab/autograd/node.h"
#include "actlab/core/allocator.h"
#include "actlab/core/cpu.h"
#include "actlab/core/parallel.h"
#include "actlab/ops/gemm.h"
#include "actlab/nn/init.h"
#include "actlab/nn/layers.h"

namespace actlab::nn {

using Grads = std::vector<Tensor>;

// The shapes of one conv2d call, shared by the baseline code and every level's kernels.
struct ConvGeometry {
  std::int64_t batch, channels, height, width;  // input
  std::int64_t out_channels, kh, kw, out_h, out_w;
  functional::Conv2dParams p;

  std::int64_t group_in() const { return channels / p.groups; }
  std::int64_t group_out() const { return out_channels / p.groups; }
  std::int64_t patch() const { return group_in() * kh * kw; }  // rows of the column matrix
  std::int64_t pixels() const { return out_h * out_w; }        // its columns
  std::int64_t in_sample() const { return channels * height * width; }
  std::int64_t out_sample() const { return out_channels * pixels(); }
  // 1x1, stride 1, no padding: the input already is the column matrix.
  bool pointwise() const {
    return kh == 1 && kw == 1 && p.stride == std::array<std::int64_t, 2>{1, 1} &&
           p.padding == std::array<std::int64_t, 2>{0, 0};
  }
  bool unit_stride() const { return p.stride == std::array<std::int64_t, 2>{1, 1}; }
  // Stride 1 and not pointwise: the direct kernel (pointwise needs no column matrix anyway).
  bool direct() const { return unit_stride() && !pointwise(); }
  // The input gradient is then a direct convolution too, when its padding is not negative.
  bool direct_input_grad() const {
    return direct() && p.padding[0] <= p.dilation[0] * (kh - 1) && p.padding[1] <= p.dilation[1] * (kw - 1);
  }
};

// The kernels of one level: out = conv2d(x, w) + bias (bias may be null), and dx, dw, db (each
// optional) from the output gradient.
#define ACTLAB_DECLARE_CONV2D_KERNELS(level)                                                              \
  namespace level {                                                                                       \
  template <typename T>                                                                                   \
  void conv2d_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* out);             \
  template <typename T>                                                                                   \
  void conv2d_backward(const ConvGeometry& g, const T* x, const T* w, const T* grad, T* dx, T* dw, T* db); \
  }
ACTLAB_DECLARE_CONV2D_KERNELS(avx512)
ACTLAB_DECLARE_CONV2D_KERNELS(avx2)
ACTLAB_DECLARE_CONV2D_KERNELS(baseline)
#undef ACTLAB_DECLARE_CONV2D_KERNELS

namespace {

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

// Runs fn(chunk, first, last) over `chunks` contiguous ranges of the batch, handed to the threads
// as they come free: on a shared machine a thread that loses its core holds up only its current
// chunk. The ranges depend only on the batch and the chunk count, so the results (per-chunk
// partial sums included) do not depend on timing.
template <typename Fn>
void over_batch_chunks(std::int64_t batch, std::int64_t chunks, Fn&& fn) {
  const auto range = [&](std::int64_t c) { fn(c, batch * c / chunks, batch * (c + 1) / chunks); };
  const int threads = static_cast<int>(std::min<std::int64_t>(omp_in_parallel() ? 1 : num_threads(), chunks));
  if (threads <= 1) {
    for (std::int64_t c = 0; c < chunks; ++c) range(c);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::int64_t c = 0; c < chunks; ++c) range(c);
}

// A few chunks per thread (load balance), or a single one when the whole product is too small to
// share. In deterministic mode the count is fixed, so the weight gradient's partial sums (one per
// chunk) are the same on any thread count.
constexpr std::int64_t kDeterministicChunks = 8;
std::int64_t batch_chunks(const ConvGeometry& g) {
  const std::int64_t flops = g.batch * g.out_channels * g.patch() * g.pixels();
  if (flops < (std::int64_t{1} << 20)) return 1;
  const std::int64_t wanted = deterministic() ? kDeterministicChunks : 4 * num_threads();
  return std::max<std::int64_t>(1, std::min<std::int64_t>(wanted, g.batch));
}

// Uninitialized, 64-byte-aligned scratch from the tensor allocator's cache: the same sizes come
// back every training step, and fresh pages would fault in on every call.
template <typename T>
class Scratch {
 public:
  explicit Scratch(std::int64_t count) : buffer_(allocate_buffer(static_cast<std::size_t>(std::max<std::int64_t>(count, 1)) * sizeof(T))) {}
  T* data() const { return reinterpret_cast<T*>(buffer_.get()); }

 private:
  Buffer buffer_;
};

// ---- stride 1: direct convolution, no column matrix ----
//
// The input is copied, zero-padded, into a scratch image of width Wp. On that grid each kernel tap
// (i, j) is a constant offset i dh Wp + j dw, so for grid position q = oh Wp + ow
//   out[o][q] = sum_c sum_taps w[o][c][tap] * padded[c][q + offset(tap)]
// is a sum of contiguous shifted loads. The output rows are cut into vectors ("spans"); a tile of
// kRows output channels by kCols spans stays in registers for the whole sum and is stored
// straight into the output.

#if defined(__AVX512F__)
inline constexpr std::size_t kVectorBytes = 64;
inline constexpr int kVectorRegisters = 32;
#elif defined(__AVX__)
inline constexpr std::size_t kVectorBytes = 32;
inline constexpr int kVectorRegisters = 16;
#else
inline constexpr std::size_t kVectorBytes = 16;  // SSE2 or NEON
inline constexpr int kVectorRegisters = 16;
#endif
// GCC drops vector_size on a dependent type, so one specialization per dtype.
template <typename T>
struct VectorOf;
template <>
struct VectorOf<float> {
  using type = float __attribute__((vector_size(kVectorBytes)));
};
template <>
struct VectorOf<double> {
  using type = double __attribute__((vector_size(kVectorBytes)));
};
template <typename T>
using Vec = typename VectorOf<T>::type;
template <typename T>
inline constexpr std::int64_t kLanes = kVectorBytes / sizeof(T);
// Accumulators fill three quarters of the vector registers: 8 x 3 of 32 with AVX-512, 6 x 2 of 16
// otherwise, which leaves room for the kCols loads and the broadcast weight (4 x 3 made GCC keep
// the tile on the stack).
inline constexpr int kRows = kVectorRegisters >= 32 ? 8 : 6, kCols = kVectorRegisters >= 32 ? 3 : 2;

// One vector of an output row: where its loads start on the padded grid, where it is stored in
// the output plane, and how many of its lanes are outputs (0 for the spans filling the last tile).
struct Span {
  std::int64_t in, out, lanes;
};

struct DirectPlan {
  std::int64_t padded_w, plane;
  std::vector<std::int64_t> offsets;  // one per tap, (i, j) row-major
  std::vector<Span> spans;            // a multiple of kCols
  std::int64_t scratch;               // values per padded image, with slack for the last loads
};

template <typename T>
DirectPlan plan_direct(const ConvGeometry& g) {
  constexpr std::int64_t L = kLanes<T>;
  DirectPlan d;
  const auto [ph, pw] = g.p.padding;
  const auto [dh, dw] = g.p.dilation;
  d.padded_w = g.width + 2 * pw;
  d.plane = (g.height + 2 * ph) * d.padded_w;
  for (std::int64_t i = 0; i < g.kh; ++i)
    for (std::int64_t j = 0; j < g.kw; ++j) d.offsets.push_back(i * dh * d.padded_w + j * dw);
  for (std::int64_t oh = 0; oh < g.out_h; ++oh)
    for (std::int64_t ow = 0; ow < g.out_w; ow += L)
      d.spans.push_back({oh * d.padded_w + ow, oh * g.out_w + ow, std::min(L, g.out_w - ow)});
  // The last loads of the last channel reach past its plane by up to a vector plus the largest offset.
  const std::int64_t reach = d.spans.back().in + L + d.offsets.back();
  while (d.spans.size() % kCols != 0) d.spans.push_back({0, 0, 0});
  d.scratch = std::max(g.channels * d.plane, (g.channels - 1) * d.plane + reach);
  return d;
}

// Copies a [rows][cols] image into rows `stride` apart. Rows here are short (a few vectors), where
// libc's memcpy call costs more than the copy.
template <typename T>
void copy_rows(const T* image, std::int64_t rows, std::int64_t cols, T* to, std::int64_t stride) {
  constexpr std::int64_t L = kLanes<T>;
  for (std::int64_t r = 0; r < rows; ++r, image += cols, to += stride) {
    if (cols < L) {
      std::copy_n(image, cols, to);
      continue;
    }
    for (std::int64_t i = 0; i < cols - L; i += L) std::memcpy(to + i, image + i, sizeof(Vec<T>));
    std::memcpy(to + cols - L, image + cols - L, sizeof(Vec<T>));  // the last vector, overlapping
  }
}

// One sample's channels into padded planes `stride` apart whose borders are already zero.
template <typename T>
void pad_image(const ConvGeometry& g, const DirectPlan& d, const T* x, T* padded, std::int64_t stride) {
  const auto [ph, pw] = g.p.padding;
  for (std::int64_t c = 0; c < g.channels; ++c)
    copy_rows(x + c * g.height * g.width, g.height, g.width, padded + c * stride + ph * d.padded_w + pw, d.padded_w);
}

// out[r][span] = bias[r] + sum over channels and taps of w[c][tap][r] * x[c][span.in + offset(tap)]
// for kCols spans; out rows are out_stride apart, bias may be null.
template <typename T, int R>
void correlate_tile(const T* x, std::int64_t channels, const DirectPlan& d, const Span* spans, const T* w,
                    const T* bias, T* out, std::int64_t out_stride) {
  Vec<T> acc[R][kCols];
  for (int r = 0; r < R; ++r)
    for (int u = 0; u < kCols; ++u) acc[r][u] = Vec<T>{} + (bias != nullptr ? bias[r] : T(0));
  const auto taps = static_cast<std::int64_t>(d.offsets.size());
  for (std::int64_t c = 0; c < channels; ++c, x += d.plane)
    for (std::int64_t t = 0; t < taps; ++t, w += R) {
      Vec<T> v[kCols];
      for (int u = 0; u < kCols; ++u) std::memcpy(&v[u], x + spans[u].in + d.offsets[t], sizeof(Vec<T>));
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
        for (int u = 0; u < kCols; ++u) acc[r][u] += w[r] * v[u];
    }
  for (int r = 0; r < R; ++r)
    for (int u = 0; u < kCols; ++u) {
      T* dst = out + r * out_stride + spans[u].out;
      if (spans[u].lanes == kLanes<T>)
        std::memcpy(dst, &acc[r][u], sizeof(Vec<T>));
      else
        std::memcpy(dst, &acc[r][u], static_cast<std::size_t>(spans[u].lanes) * sizeof(T));
    }
}

// A group's output channels cut into as few blocks of at most kRows as possible, as even as
// possible: 32 channels run as 5 5 6 5 5 6, not 6 6 6 6 6 2 (a 2-row tile leaves the multiply-add
// units waiting on its few accumulators).
struct ChannelBlocks {
  std::int64_t channels, count;
  explicit ChannelBlocks(std::int64_t group_out) : channels(group_out), count((group_out + kRows - 1) / kRows) {}
  std::int64_t begin(std::int64_t block) const { return channels * block / count; }
  std::int64_t rows(std::int64_t block) const { return begin(block + 1) - begin(block); }
};

// Weights of each block of output channels, as [c][tap][row] (the order the tile reads).
template <typename T>
std::vector<T> pack_weights(const ConvGeometry& g, const T* w) {
  std::vector<T> packed(static_cast<std::size_t>(g.out_channels * g.patch()));
  const std::int64_t taps = g.kh * g.kw;
  const ChannelBlocks blocks(g.group_out());
  for (std::int64_t grp = 0; grp < g.p.groups; ++grp)
    for (std::int64_t b = 0; b < blocks.count; ++b) {
      const std::int64_t rows = blocks.rows(b), first = grp * g.group_out() + blocks.begin(b);
      T* block = packed.data() + first * g.patch();
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < g.group_in(); ++c)
          for (std::int64_t t = 0; t < taps; ++t) block[(c * taps + t) * rows + r] = w[(first + r) * g.patch() + c * taps + t];
    }
  return packed;
}

// Calls fn.template operator()<B>() with B = min(n, Max): full blocks and the remainder block of a loop.
template <int Max, typename Fn>
void with_block(std::int64_t n, Fn&& fn) {
  if constexpr (Max > 1)
    if (n < Max) return with_block<Max - 1>(n, fn);
  fn.template operator()<Max>();
}

// Stride-1 convolution, threaded over the batch; bias may be null.
template <typename T>
void conv_direct(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* out) {
  const DirectPlan d = plan_direct<T>(g);
  const std::vector<T> packed = pack_weights(g, w);
  const ChannelBlocks blocks(g.group_out());
  const auto spans = static_cast<std::int64_t>(d.spans.size());
  over_batch_chunks(g.batch, batch_chunks(g), [&](std::int64_t, std::int64_t first, std::int64_t last) {
    const Scratch<T> padded(d.scratch);
    std::fill_n(padded.data(), d.scratch, T(0));  // borders and slack; each sample fills the insides
    for (std::int64_t n = first; n < last; ++n) {
      pad_image(g, d, x + n * g.in_sample(), padded.data(), d.plane);
      for (std::int64_t grp = 0; grp < g.p.groups; ++grp)
        for (std::int64_t b = 0; b < blocks.count; ++b) {
          const std::int64_t o = grp * g.group_out() + blocks.begin(b);
          with_block<kRows>(blocks.rows(b), [&]<int R>() {
            for (std::int64_t s = 0; s < spans; s += kCols)
              correlate_tile<T, R>(padded.data() + grp * g.group_in() * d.plane, g.group_in(), d, d.spans.data() + s,
                                   packed.data() + o * g.patch(), bias != nullptr ? bias + o : nullptr,
                                   out + n * g.out_sample() + o * g.pixels(), g.pixels());
          });
        }
    }
  });
}

// ---- im2col + GEMM ----

template <typename T>
void conv_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* out) {
  const std::int64_t chunks = batch_chunks(g);
  over_batch_chunks(g.batch, chunks, [&](std::int64_t, std::int64_t first, std::int64_t last) {
    const Scratch<T> cols(g.pointwise() ? 0 : g.patch() * g.pixels());
    for (std::int64_t n = first; n < last; ++n)
      for (std::int64_t grp = 0; grp < g.p.groups; ++grp) {
        const T* xg = x + n * g.in_sample() + grp * g.group_in() * g.height * g.width;
        T* og = out + n * g.out_sample() + grp * g.group_out() * g.pixels();
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

// The weight gradient is a correlation too, summed over the outputs instead of tiled along them:
//   dw[o][c][tap] += sum over samples n, output rows oh, columns ow of
//                    grad[n][o][oh][ow] * padded[n][c][oh Wp + ow + offset(tap)]
// Each sum runs over a stack of several samples at once (GradStack): long sums keep the register
// tiles' set-up and final lane sums rare; few samples keep the stacks in L2. A block of kGradRows
// output channels by kGradTaps taps accumulates in registers.
inline constexpr int kGradRows = kVectorRegisters / 8, kGradTaps = 5;
inline constexpr std::int64_t kGradSamples = 8;

// Stacks of up to kGradSamples samples: padded inputs [c][n][plane] (channels `x_stride` apart)
// and output gradients [o][n][sample_length], each sample's rows padded_w apart like the input's
// and zero past OW. A sample's sum then runs over one contiguous range, with no set-up per row:
// the columns past OW read real inputs (or the zero slack after the stack) and multiply them by
// zero (so an infinite input can make a sum NaN that would be finite; its other sums, and the
// output, are not finite then anyway).
template <typename T>
struct GradStack {
  std::int64_t plane, sample_length, x_stride, grad_stride;

  GradStack(const ConvGeometry& g, const DirectPlan& d, std::int64_t samples)
      : plane(d.plane),
        sample_length((g.out_h * d.padded_w + kLanes<T> - 1) / kLanes<T> * kLanes<T>),
        x_stride((samples - 1) * d.plane + sample_length + d.offsets.back()),
        grad_stride(samples * sample_length) {}
};

// Loads each vector once: GCC otherwise folds the loads into every multiply-add that uses them
// (R or K times over), and the loads, not the arithmetic, bound the loop.
template <typename V>
void keep_in_register([[maybe_unused]] V& v) {
#if defined(__x86_64__) && defined(__AVX__)
  asm("" : "+v"(v));
#endif
}

// Kept out of line: inlined into the batch loop, GCC spills its accumulators.
template <typename T, int R, int K>
__attribute__((noinline)) void weight_grad_tile(const GradStack<T>& stack, std::int64_t samples, const T* grad,
                                                const T* x, const std::int64_t* offsets, T* dw,
                                                std::int64_t dw_stride) {
  constexpr std::int64_t L = kLanes<T>;
  Vec<T> acc[R][K] = {};
  for (std::int64_t n = 0; n < samples; ++n, grad += stack.sample_length, x += stack.plane)
    for (std::int64_t v = 0; v < stack.sample_length; v += L) {
      Vec<T> gv[R];
      for (int r = 0; r < R; ++r) {
        std::memcpy(&gv[r], grad + r * stack.grad_stride + v, sizeof(Vec<T>));
        keep_in_register(gv[r]);
      }
      for (int k = 0; k < K; ++k) {
        Vec<T> xv;
        std::memcpy(&xv, x + offsets[k] + v, sizeof(Vec<T>));
        keep_in_register(xv);
        for (int r = 0; r < R; ++r) acc[r][k] += gv[r] * xv;
      }
    }
  for (int r = 0; r < R; ++r)
    for (int k = 0; k < K; ++k) dw[r * dw_stride + k] += simd::fold_lanes(acc[r][k], simd::kAddLanes);
}

// Adds the weight gradient of samples [first, last) (at most kGradSamples) to dw, through stacks
// xs and gs laid out by `stack`, zeroed before the first call.
template <typename T>
void weight_grad_direct(const ConvGeometry& g, const DirectPlan& d, const GradStack<T>& stack, const T* x, const T* grad,
                        std::int64_t first, std::int64_t last, T* xs, T* gs, T* dw) {
  const std::int64_t taps = g.kh * g.kw;
  for (std::int64_t n = first; n < last; ++n) {
    pad_image(g, d, x + n * g.in_sample(), xs + (n - first) * d.plane, stack.x_stride);
    for (std::int64_t o = 0; o < g.out_channels; ++o)
      copy_rows(grad + n * g.out_sample() + o * g.pixels(), g.out_h, g.out_w,
                gs + o * stack.grad_stride + (n - first) * stack.sample_length, d.padded_w);
  }
  for (std::int64_t grp = 0; grp < g.p.groups; ++grp)
    for (std::int64_t o0 = grp * g.group_out(); o0 < (grp + 1) * g.group_out(); o0 += kGradRows)
      with_block<kGradRows>((grp + 1) * g.group_out() - o0, [&]<int R>() {
        for (std::int64_t c = 0; c < g.group_in(); ++c)
          for (std::int64_t t0 = 0; t0 < taps; t0 += kGradTaps)
            with_block<kGradTaps>(taps - t0, [&]<int K>() {
              weight_grad_tile<T, R, K>(stack, last - first, gs + o0 * stack.grad_stride,
                                        xs + (grp * g.group_in() + c) * stack.x_stride, d.offsets.data() + t0,
                                        dw + o0 * g.patch() + c * taps + t0, g.patch());
            });
      });
}

// The input gradient of a stride-1 convolution: the stride-1 convolution of the output gradient
// with the kernel flipped and transposed ([in, out/groups, kh, kw]), padded by dilation (k-1) - padding.
template <typename T>
void conv_direct_input_grad(const ConvGeometry& g, const T* w, const T* grad, T* dx) {
  const auto [dh, dw] = g.p.dilation;
  const ConvGeometry t{g.batch,
                       g.out_channels,
                       g.out_h,
                       g.out_w,
                       g.channels,
                       g.kh,
                       g.kw,
                       g.height,
                       g.width,
                       {{1, 1}, {dh * (g.kh - 1) - g.p.padding[0], dw * (g.kw - 1) - g.p.padding[1]}, g.p.dilation, g.p.groups}};
  std::vector<T> flipped(static_cast<std::size_t>(g.out_channels * g.patch()));
  const std::int64_t taps = g.kh * g.kw;
  for (std::int64_t grp = 0; grp < g.p.groups; ++grp)
    for (std::int64_t o = 0; o < g.group_out(); ++o)
      for (std::int64_t c = 0; c < g.group_in(); ++c)
        for (std::int64_t tap = 0; tap < taps; ++tap)
          flipped[static_cast<std::size_t>(((grp * g.group_in() + c) * g.group_out() + o) * taps + taps - 1 - tap)] =
              w[(grp * g.group_out() + o) * g.patch() + c * taps + tap];
  conv_direct(t, grad, flipped.data(), static_cast<const T*>(nullptr), dx);
}

// dx, dw and db (each optional) from the output gradient.
template <typename T>
void conv_backward(const ConvGeometry& g, const T* x, const T* w, const T* grad, T* dx, T* dw, T* db) {
  if (dx != nullptr && g.direct_input_grad()) {
    conv_direct_input_grad(g, w, grad, dx);
    dx = nullptr;
  }
  if (dx != nullptr) std::fill_n(dx, g.batch * g.channels * g.height * g.width, T(0));
  if (dx == nullptr && dw == nullptr && db == nullptr) return;
  const std::int64_t chunks = batch_chunks(g);
  const std::int64_t w_size = g.out_channels * g.patch();
  const DirectPlan plan = g.direct() ? plan_direct<T>(g) : DirectPlan{};
  // Per-chunk weight and bias gradients, summed in chunk order afterwards.
  std::vector<std::vector<T>> dw_part(static_cast<std::size_t>(chunks)), db_part(static_cast<std::size_t>(chunks));
  over_batch_chunks(g.batch, chunks, [&](std::int64_t chunk, std::int64_t first, std::int64_t last) {
    const bool direct_weight_grad = dw != nullptr && g.direct();
    const bool need_cols = !g.pointwise() && (dx != nullptr || (dw != nullptr && !direct_weight_grad));
    const Scratch<T> cols(need_cols ? g.patch() * g.pixels() : 0);
    auto& dwc = dw_part[static_cast<std::size_t>(chunk)];
    auto& dbc = db_part[static_cast<std::size_t>(chunk)];
    if (dw != nullptr) dwc.assign(static_cast<std::size_t>(w_size), T(0));
    if (db != nullptr) dbc.assign(static_cast<std::size_t>(g.out_channels), T(0));
    if (direct_weight_grad) {
      const GradStack<T> stack(g, plan, std::min(kGradSamples, last - first));
      const Scratch<T> xs(g.channels * stack.x_stride), gs(g.out_channels * stack.grad_stride);
      std::fill_n(xs.data(), g.channels * stack.x_stride, T(0));
      std::fill_n(gs.data(), g.out_channels * stack.grad_stride, T(0));
      for (std::int64_t n = first; n < last; n += kGradSamples)
        weight_grad_direct(g, plan, stack, x, grad, n, std::min(last, n + kGradSamples), xs.data(), gs.data(),
                           dwc.data());
    }
    for (std::int64_t n = first; n < last; ++n) {
      for (std::int64_t grp = 0; grp < g.p.groups; ++grp) {
        const std::int64_t in_offset = n * g.in_sample() + grp * g.group_in() * g.height * g.width;
        const T* gg = grad + n * g.out_sample() + grp * g.group_out() * g.pixels();
        const T* wg = w + grp * g.group_out() * g.patch();
        if (dw != nullptr && !direct_weight_grad) {
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

template <typename T>
void ACTLAB_ISA::conv2d_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* out) {
  if (g.direct())
    conv_direct<T>(g, x, w, bias, out);
  else
    conv_forward<T>(g, x, w, bias, out);
}
template <typename T>
void ACTLAB_ISA::conv2d_backward(const ConvGeometry& g, const T* x, const T* w, const T* grad, T* dx, T* dw, T* db) {
  conv_backward<T>(g, x, w, grad, dx, dw, db);
}
template void ACTLAB_ISA::conv2d_forward<float>(const ConvGeometry&, const float*, const float*, const float*, float*);
template void ACTLAB_ISA::conv2d_forward<double>(const ConvGeometry&, const double*, const double*, const double*,
                                                 double*);
template void ACTLAB_ISA::conv2d_backward<float>(const ConvGeometry&, const float*, const float*, const float*, float*,
                                                 float*, float*);
template void ACTLAB_ISA::conv2d_backward<double>(const ConvGeometry&, const double*, const double*, const double*,
                                                  double*, double*, double*);

#if !ACTLAB_KERNELS_ONLY
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
    const T* bp = b.defined() ? b.data<T>() : nullptr;
    ACTLAB_ISA_DISPATCH(nn, conv2d_forward<T>(g, xc.data<T>(), wc.data<T>(), bp, out.data<T>()));
  });
  return autograd::record("conv2d", out, {x, weight, bias}, [g, xc, wc](const Tensor& g0, auto& needs) {
    const Tensor grad = g0.contiguous();
    Grads grads(3);
    if (needs[0]) grads[0] = Tensor::empty(xc.shape(), xc.dtype());
    if (needs[1]) grads[1] = Tensor::empty(wc.shape(), wc.dtype());
    if (needs[2]) grads[2] = Tensor::empty({g.out_channels}, wc.dtype());
    dispatch_floating(grad.dtype(), "conv2d backward", [&]<typename T>() {
      auto ptr = [](const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; };
      ACTLAB_ISA_DISPATCH(nn,
          conv2d_backward<T>(g, xc.data<T>(), wc.data<T>(), grad.data<T>(), ptr(grads[0]), ptr(grads[1]), ptr(grads[2])));
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

#endif

}  // namespace actlab::nn
