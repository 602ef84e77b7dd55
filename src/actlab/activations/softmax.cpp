// softmax and log_softmax along a dim: max-subtracted, so logits spanning +-1e4 stay exact.
// Rows along the dim are made contiguous, then each row is one vector pass for the max, one for
// the sum of exponentials and one to write y (forward_rows_of); backward is one reduction and one
// pass per row.
// The float32 row loops are compiled once per instruction-set level (core/cpu.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "actlab/activations/builtin.h"
#include "actlab/activations/functional.h"
#include "actlab/activations/pointwise.h"

namespace actlab {
namespace {

using simd::horizontal_max;
using simd::horizontal_sum;
using simd::lanes;
using simd::load_n;
using simd::store_n;

template <class V, class T> constexpr std::int64_t kVectorBytes = lanes<V> * static_cast<std::int64_t>(sizeof(T));

// The max of row[0, n), in blocks of V (the first of a chunk's rows; the others ride along).
template <class V, class T>
V max_of_row(const T* row, std::int64_t n) {
  V vmax = V(-std::numeric_limits<T>::infinity());
  for (std::int64_t i = 0; i < n; i += lanes<V>) {
    prefetch_ahead(row, i, kVectorBytes<V, T>);
    vmax = simd::max(vmax, load_n<V>(row + i, n - i, -std::numeric_limits<T>::infinity()));
  }
  return vmax;
}

// rows consecutive rows of n: y = softmax or log_softmax of x, row by row. A row takes three
// passes: its max (from memory), its normalizer (e^(x - max), from L1) and y. The normalizer pass
// of each row also runs the max pass of the next, so the next row's loads wait on memory under
// this row's arithmetic, not alone (softmax forward over 16M floats ran at 0.55 of copy so).
template <class V, class T>
void forward_rows_of(const T* x, T* y, std::int64_t rows, std::int64_t n, bool log, bool stream) {
  constexpr T kMinusInf = -std::numeric_limits<T>::infinity();
  // softmax keeps a row's exponentials here between its sum and y, so y is written once, through
  // write_row (storing e^x into y and scaling it in place read y's lines from memory first).
  thread_local std::vector<T> buffer;
  if (!log && static_cast<std::int64_t>(buffer.size()) < n) buffer.resize(static_cast<std::size_t>(n));
  T* exponentials = buffer.data();
  V next_max = max_of_row<V>(x, n);
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = x + r * n;
    const T* next_row = r + 1 < rows ? row + n : row;  // the last row reads itself; that max goes unused
    T row_max = horizontal_max(next_max);
    if (std::isinf(row_max)) row_max = 0;  // all -inf (or a +inf): let exp give the limits
    next_max = V(kMinusInf);
    auto next_row_max = [&](std::int64_t i) {
      prefetch_ahead(next_row, i, kVectorBytes<V, T>);
      next_max = simd::max(next_max, load_n<V>(next_row + i, n - i, kMinusInf));
    };
    if (!log) {
      V vsum = V(0);
      for (std::int64_t i = 0; i < n; i += lanes<V>) {
        const V e = simd::exp(load_n<V>(row + i, n - i, kMinusInf) - V(row_max));
        vsum = vsum + e;
        store_n(exponentials + i, e, n - i);
        next_row_max(i);
      }
      const V scale(T(1) / horizontal_sum(vsum));
      write_row<V>(y + r * n, n, stream, [=](std::int64_t i, std::int64_t count) {
        return load_n<V>(exponentials + i, count) * scale;
      });
      continue;
    }
    // The maxima contribute exactly 1 each; summing them apart (ties) from the rest keeps
    // log(sum) = log(ties) + log1p(rest / ties) accurate when the rest is small. log1p(rest / ties)
    // only where the ratio is at most 1 (log(ties + rest) loses nothing above), by the vector
    // log1p on [0, 1]: libm's log1pf, once per row, cost a sixth of the row's time.
    V vties = V(0), vrest = V(0);
    for (std::int64_t i = 0; i < n; i += lanes<V>) {
      const V xv = load_n<V>(row + i, n - i, kMinusInf);
      const auto is_max = xv == V(row_max);
      vties = vties + simd::select(is_max, V(1), V(0));
      vrest = vrest + simd::select(is_max, V(0), simd::exp(xv - V(row_max)));
      next_row_max(i);
    }
    const T ties = horizontal_sum(vties), rest = horizontal_sum(vrest), ratio = rest / ties;
    const V log_sum(ratio > 1 ? std::log(ties + rest) : std::log(ties) + horizontal_max(simd::log1p_of_unit(V(ratio))));
    // (x - max) - log(sum): x - max is exact for x within a factor 2 of max (Sterbenz), so large
    // logits keep their small differences.
    write_row<V>(y + r * n, n, stream, [=](std::int64_t i, std::int64_t count) {
      return (load_n<V>(row + i, count) - V(row_max)) - log_sum;
    });
  }
}

// softmax: gx = y (g - sum(g y)); log_softmax: gx = g - exp(y) sum(g).
template <class V, class T>
void backward_row(const T* y, const T* g, T* gx, std::int64_t n, bool log, bool stream) {
  // Blocks of kSumBlock summed in V, the block sums in double: long rows (a million logits) keep
  // the sum accurate to a few float ulps whatever the vector width.
  constexpr std::int64_t kSumBlock = 1024;
  double total = 0;
  for (std::int64_t block = 0; block < n; block += kSumBlock) {
    V vdot = V(0);
    for (std::int64_t i = block; i < std::min(n, block + kSumBlock); i += lanes<V>) {
      prefetch_ahead(g, i, kVectorBytes<V, T>);
      prefetch_ahead(y, i, kVectorBytes<V, T>);
      const V gv = load_n<V>(g + i, std::min(n, block + kSumBlock) - i);
      vdot = vdot + (log ? gv : gv * load_n<V>(y + i, std::min(n, block + kSumBlock) - i));
    }
    total += static_cast<double>(horizontal_sum(vdot));
  }
  const V dot = V(static_cast<T>(total));
  write_row<V>(gx, n, stream, [=](std::int64_t i, std::int64_t count) {
    const V yv = load_n<V>(y + i, count);
    const V gv = load_n<V>(g + i, count);
    return log ? gv - simd::exp(yv) * dot : yv * (gv - dot);
  });
}

// Runs rows_fn(begin, end) over [0, rows) in parallel, in chunks of rows of `length` elements.
template <class RowsFn>
void for_rows(std::int64_t rows, std::int64_t length, RowsFn rows_fn) {
  parallel_for(0, rows, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(length, 1)), rows_fn);
}

// All rows at once, in blocks of V: y from x, and gx from y and g.
template <class V, class T>
void forward_rows(std::int64_t rows, std::int64_t length, const T* x, T* y, bool log) {
  const bool stream = stream_output(rows * length * static_cast<std::int64_t>(sizeof(T)));
  for_rows(rows, length, [&](std::int64_t begin, std::int64_t end) {
    forward_rows_of<V>(x + begin * length, y + begin * length, end - begin, length, log, stream);
  });
}
template <class V, class T>
void backward_rows(std::int64_t rows, std::int64_t length, const T* y, const T* g, T* gx, bool log) {
  const bool stream = stream_output(rows * length * static_cast<std::int64_t>(sizeof(T)));
  for_rows(rows, length, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r)
      backward_row<V>(y + r * length, g + r * length, gx + r * length, length, log, stream);
  });
}

}  // namespace

namespace activations {
// The float32 rows at one level.
#define ACTLAB_DECLARE_SOFTMAX_ROWS(level)                                                                       \
  namespace level {                                                                                              \
  void softmax_forward_rows(std::int64_t rows, std::int64_t length, const float* x, float* y, bool log);         \
  void softmax_backward_rows(std::int64_t rows, std::int64_t length, const float* y, const float* g, float* gx,  \
                             bool log);                                                                          \
  }
ACTLAB_DECLARE_SOFTMAX_ROWS(avx512)
ACTLAB_DECLARE_SOFTMAX_ROWS(avx2)
ACTLAB_DECLARE_SOFTMAX_ROWS(baseline)
#undef ACTLAB_DECLARE_SOFTMAX_ROWS

void ACTLAB_ISA::softmax_forward_rows(std::int64_t rows, std::int64_t length, const float* x, float* y, bool log) {
  forward_rows<simd::Vec>(rows, length, x, y, log);
}
void ACTLAB_ISA::softmax_backward_rows(std::int64_t rows, std::int64_t length, const float* y, const float* g,
                                       float* gx, bool log) {
  backward_rows<simd::Vec>(rows, length, y, g, gx, log);
}
}  // namespace activations

#if !ACTLAB_KERNELS_ONLY
namespace {

Tensor softmax_along(const Tensor& input, std::int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  ACTLAB_CHECK(input.dim() > 0, "{}: needs a tensor with at least one dim, got a scalar", name);
  ACTLAB_CHECK(dim >= -input.dim() && dim < input.dim(), "{}: dim {} is out of range for shape {}", name, dim,
               shape_str(input.shape()));
  if (dim < 0) dim += input.dim();
  const std::int64_t last = input.dim() - 1;
  const Tensor x = input.transpose(dim, last).contiguous();
  const std::int64_t length = x.size(-1);
  const std::int64_t rows = length == 0 ? 0 : x.numel() / length;
  const bool vectorize = !reference_kernels_enabled();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&]<class T>() {
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    if constexpr (std::is_same_v<T, float>) {
      if (vectorize) {
        ACTLAB_ISA_DISPATCH(activations, softmax_forward_rows(rows, length, xp, yp, log));
        return;
      }
    }
    forward_rows<T>(rows, length, xp, yp, log);
  });
  Tensor out = y.transpose(dim, last);
  return autograd::record(name, out, {input}, [y = y.detach(), dim, last, log, vectorize, name](const Tensor& g, auto&) {
    const Tensor gt = g.transpose(dim, last).to(y.dtype()).contiguous();
    Tensor gx = Tensor::empty(y.shape(), y.dtype());
    const std::int64_t length = y.size(-1);
    const std::int64_t rows = length == 0 ? 0 : y.numel() / length;
    dispatch_floating(y.dtype(), name, [&]<class T>() {
      const T* yp = y.data<T>();
      const T* gp = gt.data<T>();
      T* gxp = gx.data<T>();
      if constexpr (std::is_same_v<T, float>) {
        if (vectorize) {
          ACTLAB_ISA_DISPATCH(activations, softmax_backward_rows(rows, length, yp, gp, gxp, log));
          return;
        }
      }
      backward_rows<T>(rows, length, yp, gp, gxp, log);
    });
    return std::vector<Tensor>{gx.transpose(dim, last)};
  });
}

class SoftmaxActivation final : public ActivationBase {
 public:
  SoftmaxActivation(const ActivationInfo& info, std::vector<double> values, bool log)
      : ActivationBase(info, std::move(values)), log_(log) {}
  Tensor forward(const Tensor& x) override {
    return softmax_along(x, static_cast<std::int64_t>(values()[0]), log_);
  }
  double gain() const override { return 1.0; }

 private:
  bool log_;
};

ActivationDefinition softmax_definition(ActivationInfo info, bool log) {
  return {std::move(info), [log](const ActivationInfo& i, std::vector<double> values) -> std::unique_ptr<ActivationFunction> {
            return std::make_unique<SoftmaxActivation>(i, std::move(values), log);
          }};
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) { return softmax_along(x, dim, false); }
Tensor log_softmax(const Tensor& x, std::int64_t dim) { return softmax_along(x, dim, true); }

std::vector<ActivationDefinition> activations::softmax_activations() {
  const ActivationParam dim{"dim", -1, "the dim that sums to 1 (negative counts from the end)", true, -64, 64};
  return {softmax_definition({.name = "softmax", .params = {dim}, .formula = "exp(x_i - max) / sum_j exp(x_j - max)",
                              .latex = "\\frac{e^{x_i}}{\\sum_j e^{x_j}}",
                              .derivative = "J = diag(y) - y y^T; grad_in = y (g - sum(g y))",
                              .output_range = "(0, 1), summing to 1", .zero_centred = false, .monotonic = true,
                              .smooth = true, .saturates = "when one logit dominates",
                              .note = "probabilities over classes: the output layer of a classifier"},
                             false),
          softmax_definition({.name = "log_softmax", .params = {dim},
                              .formula = "x_i - max - log(sum_j exp(x_j - max))",
                              .latex = "x_i - \\ln \\sum_j e^{x_j}",
                              .derivative = "grad_in = g - softmax(x) sum(g)", .output_range = "(-inf, 0)",
                              .zero_centred = false, .monotonic = true, .smooth = true,
                              .saturates = "when one logit dominates",
                              .note = "log-probabilities for the negative log-likelihood loss, without underflow"},
                             true)};
}

#endif

}  // namespace actlab
