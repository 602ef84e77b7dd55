// Activations with state: learnable parameters (prelu, learnable_swish, rational) and random
// slopes (rrelu).
//
// A learnable kernel struct holds no parameter values; it is given theta, its kParams values for
// the channel of the element, and returns grad_in while adding g * df/dtheta to grad_theta:
//   template <class V> V forward(V x, const V* theta) const;
//   template <class V> V backward(V x, V g, const V* theta, V* grad_theta) const;
// apply_learnable runs it with theta of shape [C, kParams], C = 1 (shared) or x.size(1) (one set
// per channel): forward in one pass, backward in one fused pass that also reduces grad_theta.
#include <bit>
#include <cmath>

#include "actlab/activations/builtin.h"
#include "actlab/activations/functional.h"
#include "actlab/activations/pointwise.h"

namespace actlab {
namespace {

using namespace simd;

// Elements per backward block; partial parameter gradients are summed per block in a fixed
// order, so results do not depend on the thread count.
constexpr std::int64_t kBlock = 16384;

// Calls segment(channel, begin, end) for the runs of [begin, end) inside one channel.
template <class Fn>
void for_channel_segments(std::int64_t begin, std::int64_t end, std::int64_t inner, std::int64_t channels, Fn segment) {
  while (begin < end) {
    const std::int64_t row = begin / inner;
    const std::int64_t stop = std::min(end, (row + 1) * inner);
    segment(row % channels, begin, stop);
    begin = stop;
  }
}

// y = f(x; theta_c) over n elements, in blocks of V.
template <class V, class K, class T>
void learnable_forward(const K& kernel, std::int64_t n, std::int64_t inner, std::int64_t channels, const T* xp,
                       const T* tp, T* yp) {
  constexpr int P = K::kParams;
  const bool stream = stream_output(n * static_cast<std::int64_t>(sizeof(T)));
  parallel_for(0, n, kParallelGrain, [&](std::int64_t begin, std::int64_t end) {
    for_channel_segments(begin, end, inner, channels, [&](std::int64_t c, std::int64_t from, std::int64_t to) {
      V th[P];
      for (int j = 0; j < P; ++j) th[j] = V(tp[c * P + j]);
      // By value, as in map_elements_as: the loop owns the kernel and th.
      write_row<V>(yp + from, to - from, stream, [=](std::int64_t i, std::int64_t remaining) {
        return kernel.forward(load_n<V>(xp + from + i, remaining), th);
      }, xp + from);
    });
  });
}

// gx = g df/dx over n elements (NaN where x is NaN), and per block of kBlock elements the sums
// of g df/dtheta into partial[block][channel][param] (zeroed by the caller).
template <class V, class K, class T>
void learnable_backward(const K& kernel, std::int64_t n, std::int64_t inner, std::int64_t channels, const T* xp,
                        const T* gp, const T* tp, T* gxp, double* partial) {
  constexpr int P = K::kParams;
  const std::int64_t blocks = (n + kBlock - 1) / kBlock;
  const bool stream = stream_output(n * static_cast<std::int64_t>(sizeof(T)));
  parallel_for(0, blocks, std::max<std::int64_t>(1, kParallelGrain / kBlock), [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      double* block_sums = partial + b * channels * P;
      for_channel_segments(b * kBlock, std::min(n, (b + 1) * kBlock), inner, channels,
                           [&](std::int64_t c, std::int64_t from, std::int64_t to) {
        V th[P], acc[P];
        for (int j = 0; j < P; ++j) {
          th[j] = V(tp[c * P + j]);
          acc[j] = V(0);
        }
        write_row<V>(gxp + from, to - from, stream, [=, &acc](std::int64_t i, std::int64_t remaining) {
          const V xv = load_n<V>(xp + from + i, remaining);
          return select(is_nan(xv), xv, kernel.backward(xv, load_n<V>(gp + from + i, remaining), th, acc));
        }, xp + from, gp + from);
        for (int j = 0; j < P; ++j) block_sums[c * P + j] += horizontal_sum(acc[j]);
      });
    }
  });
}

}  // namespace

namespace activations {
// The float32 loops of learnable kernel K at one level (learnable_forward, learnable_backward).
#define ACTLAB_DECLARE_LEARNABLE_LOOPS(level)                                                                  \
  namespace level {                                                                                            \
  template <class K>                                                                                           \
  struct LearnableLoops {                                                                                      \
    static void forward(const K& kernel, std::int64_t n, std::int64_t inner, std::int64_t channels,            \
                        const float* x, const float* theta, float* y);                                          \
    static void backward(const K& kernel, std::int64_t n, std::int64_t inner, std::int64_t channels,           \
                         const float* x, const float* g, const float* theta, float* gx, double* partial);       \
  };                                                                                                           \
  }
ACTLAB_DECLARE_LEARNABLE_LOOPS(avx512)
ACTLAB_DECLARE_LEARNABLE_LOOPS(avx2)
ACTLAB_DECLARE_LEARNABLE_LOOPS(baseline)
#undef ACTLAB_DECLARE_LEARNABLE_LOOPS

template <class K>
void ACTLAB_ISA::LearnableLoops<K>::forward(const K& kernel, std::int64_t n, std::int64_t inner,
                                            std::int64_t channels, const float* x, const float* theta, float* y) {
  learnable_forward<simd::Vec>(kernel, n, inner, channels, x, theta, y);
}
template <class K>
void ACTLAB_ISA::LearnableLoops<K>::backward(const K& kernel, std::int64_t n, std::int64_t inner,
                                             std::int64_t channels, const float* x, const float* g,
                                             const float* theta, float* gx, double* partial) {
  learnable_backward<simd::Vec>(kernel, n, inner, channels, x, g, theta, gx, partial);
}

namespace kernels {

using namespace simd;

struct Prelu {
  static constexpr std::string_view kName = "prelu";
  static constexpr int kParams = 1;
  template <class V> V forward(V x, const V* w) const { return select(x < V(0), w[0] * x, x); }
  template <class V> V backward(V x, V g, const V* w, V* grad_w) const {
    const auto negative = x < V(0);
    grad_w[0] = grad_w[0] + select(negative, g * x, V(0));
    return select(negative, w[0] * g, g);
  }
};

struct LearnableSwish {
  static constexpr std::string_view kName = "learnable_swish";
  static constexpr int kParams = 1;
  template <class V> V forward(V x, const V* beta) const { return mul_or_zero(x, sigmoid(beta[0] * x)); }
  // d/dx = s + beta x s', d/dbeta = x^2 s', with s = sigmoid(beta x) and s' its derivative.
  template <class V> V backward(V x, V g, const V* beta, V* grad_beta) const {
    const V bx = beta[0] * x;
    const auto s = sigmoid_parts(bx);
    grad_beta[0] = grad_beta[0] + mul_or_zero(g * x * x, s.derivative);
    return g * (s.value + mul_or_zero(bx, s.derivative));
  }
};

// The safe Pade activation unit of degree (5, 4): P(x) / Q(x), Q = 1 + |S(x)|,
// S(x) = b1 x + b2 x^2 + b3 x^3 + b4 x^4 (theta = a0..a5, b1..b4).
struct Rational {
  static constexpr std::string_view kName = "rational";
  static constexpr int kParams = 10;
  template <class V> V forward(V x, const V* t) const {
    const V p = t[0] + x * (t[1] + x * (t[2] + x * (t[3] + x * (t[4] + x * t[5]))));
    const V s = x * (t[6] + x * (t[7] + x * (t[8] + x * t[9])));
    return p / (V(1) + abs(s));
  }
  // df/dx = (P' - f sign(S) S') / Q; df/da_j = x^j / Q; df/db_k = -f sign(S) x^k / Q.
  template <class V> V backward(V x, V g, const V* t, V* grad) const {
    const V p = t[0] + x * (t[1] + x * (t[2] + x * (t[3] + x * (t[4] + x * t[5]))));
    const V dp = t[1] + x * (V(2) * t[2] + x * (V(3) * t[3] + x * (V(4) * t[4] + x * V(5) * t[5])));
    const V s = x * (t[6] + x * (t[7] + x * (t[8] + x * t[9])));
    const V ds = t[6] + x * (V(2) * t[7] + x * (V(3) * t[8] + x * V(4) * t[9]));
    const V inv_q = V(1) / (V(1) + abs(s));
    const V f = p * inv_q;
    const V sign = select(s < V(0), V(-1), V(1));
    const V g_over_q = g * inv_q;
    const V g_b = -g_over_q * f * sign;
    V power = V(1);
    for (int j = 0; j < 6; ++j) {
      grad[j] = grad[j] + g_over_q * power;
      if (j >= 1 && j <= 4) grad[5 + j] = grad[5 + j] + g_b * power;
      power = power * x;
    }
    return g_over_q * (dp - f * sign * ds);
  }
};

}  // namespace kernels
}  // namespace activations

template struct activations::ACTLAB_ISA::LearnableLoops<activations::kernels::Prelu>;
template struct activations::ACTLAB_ISA::LearnableLoops<activations::kernels::LearnableSwish>;
template struct activations::ACTLAB_ISA::LearnableLoops<activations::kernels::Rational>;

namespace {

// Element i draws word (i % 64) / 16 of Philox block first + 16 (i / 64) + i % 16: in each group
// of 64 elements, one 16-lane Philox evaluation gives 16 consecutive elements per word. The draw
// depends only on i, never on the thread count or the kernel (vector or scalar) that runs, so
// backward draws forward's slopes again instead of keeping them in a tensor.
constexpr std::int64_t kGroup = 64;

#if defined(__AVX512F__) || defined(__AVX2__)
// Philox4x32-10 (philox_rounds) on kLanes consecutive counters at once: Generator::block's
// stream, kLanes blocks per call, for the lane type of this level.
#if defined(__AVX512F__)
struct PhiloxLanes {
  static constexpr int kLanes = 16;
  using Word = __m512i;
  static Word splat(std::uint32_t k) { return _mm512_set1_epi32(static_cast<int>(k)); }
  // The low and high words of counter + j in lane j (built in registers: lanes stored one by
  // one and loaded as a vector would stall on store forwarding).
  static void counters(std::uint64_t counter, Word& low, Word& high) {
    const Word base = splat(static_cast<std::uint32_t>(counter));
    low = _mm512_add_epi32(base, _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    const Word high_base = splat(static_cast<std::uint32_t>(counter >> 32));
    high = _mm512_mask_add_epi32(high_base, _mm512_cmplt_epu32_mask(low, base), high_base, splat(1));
  }
  // The high and low words of 16 32x32-bit products, from two 64-bit multiplies (even lanes, and
  // odd lanes moved down) whose halves are swapped into place: a 32-bit multiply (vpmulld) for the
  // low words would take twice as long as both. (The masked intrinsics: GCC 12's plain ones
  // warn spuriously.)
  static void mulhilo(Word a, std::uint32_t multiplier, Word& hi, Word& lo) {
    auto swap_pairs = [](__m512i into, __mmask16 lanes, __m512i v) { return _mm512_mask_shuffle_epi32(into, lanes, v, _MM_PERM_CDAB); };
    const __m512i m = splat(multiplier);
    const __m512i even = _mm512_mask_mul_epu32(a, 0xFF, a, m);
    const __m512i odd = _mm512_mask_mul_epu32(a, 0xFF, swap_pairs(a, 0xFFFF, a), m);
    hi = swap_pairs(odd, 0x5555, even);
    lo = swap_pairs(even, 0xAAAA, odd);
  }
  // uniform_float of every lane.
  static Vec uniform(Word w) {
    const __m512i bits = _mm512_mask_srli_epi32(w, 0xFFFF, w, 8);
    return _mm512_mul_ps(_mm512_mask_cvtepi32_ps(_mm512_setzero_ps(), 0xFFFF, bits), _mm512_set1_ps(0x1.0p-24f));
  }
};
#else
struct PhiloxLanes {
  static constexpr int kLanes = 8;
  using Word = __m256i;
  static Word splat(std::uint32_t k) { return _mm256_set1_epi32(static_cast<int>(k)); }
  static void counters(std::uint64_t counter, Word& low, Word& high) {
    const Word base = splat(static_cast<std::uint32_t>(counter));
    low = _mm256_add_epi32(base, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    // Where the low word wrapped (low < base, unsigned: compared with the sign bits flipped) the
    // mask is -1 and the high word gains 1.
    const Word sign = splat(0x80000000u);
    const Word wrapped = _mm256_cmpgt_epi32(_mm256_xor_si256(base, sign), _mm256_xor_si256(low, sign));
    high = _mm256_sub_epi32(splat(static_cast<std::uint32_t>(counter >> 32)), wrapped);
  }
  // As with AVX-512: two 64-bit multiplies instead of vpmulld.
  static void mulhilo(Word a, std::uint32_t multiplier, Word& hi, Word& lo) {
    const __m256i m = splat(multiplier);
    const __m256i even = _mm256_mul_epu32(a, m);
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  }
  static Vec uniform(Word w) {
    const __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(w, 8)), _mm256_set1_ps(0x1.0p-24f));
    return std::bit_cast<Vec::Raw>(u);
  }
};
#endif
static_assert(PhiloxLanes::kLanes == Vec::kLanes);

// kBatch Philox evaluations on consecutive runs of kLanes counters, worked on together: independent
// chains of multiplies for the core to overlap, and a batch covers kBatch * kLanes / 16 groups,
// the elements written between two draws.
constexpr int kBatch = 4;
struct PhiloxBatch {
  PhiloxLanes::Word run[kBatch];
  friend PhiloxBatch operator^(PhiloxBatch a, const PhiloxBatch& b) {
    for (int r = 0; r < kBatch; ++r) a.run[r] ^= b.run[r];
    return a;
  }
};
constexpr std::int64_t kGroupsPerDraw = kBatch * PhiloxLanes::kLanes / 16;

// Philox words 0-3 of counters counter + j, j < kBatch * kLanes: run r, lane l holds j = kLanes r + l.
void philox_batch(std::uint64_t seed, std::uint64_t counter, PhiloxBatch (&word)[4]) {
  for (int r = 0; r < kBatch; ++r) {
    PhiloxLanes::counters(counter + static_cast<std::uint64_t>(PhiloxLanes::kLanes * r), word[0].run[r], word[1].run[r]);
    word[2].run[r] = word[3].run[r] = PhiloxLanes::splat(0);
  }
  auto mulhilo = [](const PhiloxBatch& a, std::uint32_t multiplier, PhiloxBatch& hi, PhiloxBatch& lo) {
    for (int r = 0; r < kBatch; ++r) PhiloxLanes::mulhilo(a.run[r], multiplier, hi.run[r], lo.run[r]);
  };
  auto key = [](std::uint32_t k) {
    PhiloxBatch b;
    for (auto& run : b.run) run = PhiloxLanes::splat(k);
    return b;
  };
  philox_rounds(word[0], word[1], word[2], word[3], seed, mulhilo, key);
}
#else
constexpr std::int64_t kGroupsPerDraw = 1;
#endif

// The slopes lower + (upper - lower) u of kGroupsPerDraw groups, in element order.
template <class T>
struct DrawnSlopes {
  static constexpr std::int64_t kElements = kGroup * kGroupsPerDraw;
  alignas(64) T slope[kElements];
};

// Draws the slopes of the groups from `first_group`: kLanes Philox blocks at once where the level
// has them (float), else one Generator::block at a time. Both give every element the same draw.
template <class T>
void draw_slopes(DrawnSlopes<T>& out, std::int64_t first_group, const Generator& gen, std::uint64_t first, T lower,
                 T upper, bool vectorize) {
  const std::uint64_t counter = first + static_cast<std::uint64_t>(first_group) * 16;
#if defined(__AVX512F__) || defined(__AVX2__)
  if constexpr (std::is_same_v<T, float>) {
    if (vectorize) {
      constexpr int L = PhiloxLanes::kLanes;
      PhiloxBatch word[4];
      philox_batch(gen.seed(), counter, word);
      // Counter counter + 16 g + k draws the elements 64 g + 16 w + k (w < 4) of group g.
      for (int r = 0; r < kBatch; ++r)
        for (int w = 0; w < 4; ++w)
          (Vec(lower) + Vec(upper - lower) * PhiloxLanes::uniform(word[w].run[r]))
              .store(out.slope + (L * r / 16) * kGroup + 16 * w + L * r % 16);
      return;
    }
  }
#endif
  (void)vectorize;
  for (std::int64_t g = 0; g < kGroupsPerDraw; ++g)
    for (int k = 0; k < 16; ++k) {
      const auto words = gen.block(counter + static_cast<std::uint64_t>(16 * g + k));
      for (int w = 0; w < 4; ++w)
        out.slope[kGroup * g + 16 * w + k] = lower + (upper - lower) * static_cast<T>(uniform_float(words[w]));
    }
}

// Elements [begin, end) of y = slope x (g == nullptr) or of grad_in = slope g (NaN where x is),
// slope = lower + (upper - lower) u where x < 0, else 1: one draw of slopes at a time, then its
// elements.
template <class V, class T>
void rrelu_range(const T* x, const T* g, T* out, std::int64_t begin, std::int64_t end, bool stream,
                 const Generator& gen, std::uint64_t first, T lower, T upper, bool vectorize) {
  constexpr std::int64_t kSpan = DrawnSlopes<T>::kElements;
  DrawnSlopes<T> drawn;
  for (std::int64_t from = begin; from < end;) {
    const std::int64_t to = std::min(end, (from / kSpan + 1) * kSpan);
    draw_slopes(drawn, from / kSpan * kGroupsPerDraw, gen, first, lower, upper, vectorize);
    const T* slopes = drawn.slope + from % kSpan;
    auto slope = [=](std::int64_t i, std::int64_t remaining, V xv) {
      return select(xv < V(0), load_n<V>(slopes + i, remaining), V(1));
    };
    if (g == nullptr) {
      write_row<V>(out + from, to - from, stream, [=](std::int64_t i, std::int64_t remaining) {
        const V xv = load_n<V>(x + from + i, remaining);
        return slope(i, remaining, xv) * xv;
      }, x + from);
    } else {
      write_row<V>(out + from, to - from, stream, [=](std::int64_t i, std::int64_t remaining) {
        const V xv = load_n<V>(x + from + i, remaining);
        return select(is_nan(xv), xv, slope(i, remaining, xv) * load_n<V>(g + from + i, remaining));
      }, x + from, g + from);
    }
    from = to;
  }
}

}  // namespace

namespace activations {
// rrelu_range for float32 at one level (Philox on 16 lanes with AVX-512, 8 with AVX2).
#define ACTLAB_DECLARE_RRELU_ROWS(level)                                                                      \
  namespace level {                                                                                           \
  void rrelu_rows(const float* x, const float* g, float* out, std::int64_t begin, std::int64_t end,          \
                  bool stream, const Generator& gen, std::uint64_t first, float lower, float upper);         \
  }
ACTLAB_DECLARE_RRELU_ROWS(avx512)
ACTLAB_DECLARE_RRELU_ROWS(avx2)
ACTLAB_DECLARE_RRELU_ROWS(baseline)
#undef ACTLAB_DECLARE_RRELU_ROWS

void ACTLAB_ISA::rrelu_rows(const float* x, const float* g, float* out, std::int64_t begin, std::int64_t end,
                            bool stream, const Generator& gen, std::uint64_t first, float lower, float upper) {
  rrelu_range<Vec>(x, g, out, begin, end, stream, gen, first, lower, upper, true);
}
}  // namespace activations

#if !ACTLAB_KERNELS_ONLY
namespace {

using namespace activations::kernels;

template <class K>
Tensor apply_learnable(const K& kernel, const Tensor& input, const Tensor& theta_input) {
  static constexpr int P = K::kParams;
  const std::string name(K::kName);
  ACTLAB_CHECK(theta_input.dim() == 2 && theta_input.size(1) == P, "{}: parameters must have shape [C, {}], got {}",
               name, P, shape_str(theta_input.shape()));
  const std::int64_t channels = theta_input.size(0);
  if (channels > 1)
    ACTLAB_CHECK(input.dim() >= 2 && input.size(1) == channels,
                 "{}: {} channels of parameters need an input of shape [N, {}, ...] (channels along dim 1), got {}",
                 name, channels, channels, shape_str(input.shape()));
  const Tensor x = input.contiguous();
  const std::int64_t n = x.numel();
  const std::int64_t inner = channels > 1 ? n / (x.size(0) * channels) : std::max<std::int64_t>(n, 1);
  const Tensor theta = theta_input.detach().to(x.dtype()).contiguous();
  const bool vectorize = !reference_kernels_enabled();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&]<class T>() {
    if constexpr (std::is_same_v<T, float>) {
      if (vectorize) {
        ACTLAB_ISA_DISPATCH(activations, LearnableLoops<K>::forward(kernel, n, inner, channels, x.data<T>(), theta.data<T>(), y.data<T>()));
        return;
      }
    }
    learnable_forward<T>(kernel, n, inner, channels, x.data<T>(), theta.data<T>(), y.data<T>());
  });
  return autograd::record(name, y, {input, theta_input},
                          [kernel, x = x.detach(), theta, inner, channels, vectorize, name,
                           theta_dtype = theta_input.dtype()](const Tensor& grad_output, auto&) {
    const Tensor g = grad_output.to(x.dtype()).contiguous();
    const std::int64_t n = x.numel();
    const std::int64_t blocks = (n + kBlock - 1) / kBlock;
    std::vector<double> partial(static_cast<std::size_t>(blocks * channels * P), 0.0);
    Tensor grad_x = Tensor::empty(x.shape(), x.dtype());
    dispatch_floating(x.dtype(), name, [&]<class T>() {
      if constexpr (std::is_same_v<T, float>) {
        if (vectorize) {
          ACTLAB_ISA_DISPATCH(activations, LearnableLoops<K>::backward(kernel, n, inner, channels, x.data<T>(), g.data<T>(),
                                                          theta.data<T>(), grad_x.data<T>(), partial.data()));
          return;
        }
      }
      learnable_backward<T>(kernel, n, inner, channels, x.data<T>(), g.data<T>(), theta.data<T>(), grad_x.data<T>(),
                            partial.data());
    });
    std::vector<double> total(static_cast<std::size_t>(channels * P), 0.0);
    for (std::int64_t b = 0; b < blocks; ++b)
      for (std::size_t k = 0; k < total.size(); ++k) total[k] += partial[b * channels * P + k];
    return std::vector<Tensor>{grad_x, from_vector(total, {channels, P}).to(theta_dtype)};
  });
}

// Coefficients of the least-squares fit of P / (1 + |S|) to leaky_relu(x, 0.01) on [-3, 3]
// (RMS error 0.0085), the initialisation the Pade activation unit paper recommends.
constexpr double kRationalInit[10] = {0.0380201644, 0.906490488, 3.16384406, 3.83883820, 1.79431694,
                                      0.291027975,  3.97394499,  1.95954933, 2.98213965, 0.0664747733};

// The shape [C, P] parameters take inside apply_learnable.
Tensor as_columns(const Tensor& t, std::int64_t params) { return t.reshape({-1, params}); }

// A learnable activation: its named parameter tensors and how forward uses them.
class LearnableActivation final : public ActivationBase {
 public:
  using Forward = std::function<Tensor(const Tensor& x, const std::vector<Tensor>& params)>;
  LearnableActivation(const ActivationInfo& info, std::vector<double> values,
                      std::vector<std::pair<std::string, Tensor>> params, Forward forward)
      : ActivationBase(info, std::move(values)), params_(std::move(params)), forward_(std::move(forward)) {
    for (auto& [name, p] : params_) p.requires_grad_();
  }
  Tensor forward(const Tensor& x) override {
    std::vector<Tensor> tensors;
    for (const auto& [name, p] : params_) tensors.push_back(p);
    return forward_(x, tensors);
  }
  std::vector<std::pair<std::string, Tensor>> named_parameters() override { return params_; }

 private:
  std::vector<std::pair<std::string, Tensor>> params_;
  Forward forward_;
};

std::int64_t channel_count(const std::vector<double>& values, std::string_view name) {
  ACTLAB_CHECK(values[0] >= 1, "{}: channels must be >= 1, got {}", name, values[0]);
  return static_cast<std::int64_t>(values[0]);
}

// A function, not a global: registrations from other object files may run before this file's
// globals are initialized.
ActivationParam channels_param() {
  return {"channels", 1, "1 = one shared set; C = one set per channel (dim 1)", true, 1, 65536};
}

ActivationDefinition prelu_definition() {
  return {{.name = "prelu", .params = {channels_param(), {"init", 0.25, "initial slope"}},
           .formula = "x if x >= 0 else a_c x, a learned per channel", .latex = "\\max(0, x) + a_c \\min(0, x)",
           .derivative = "d/dx: 1 if x >= 0 else a_c;  d/da_c: 0 if x >= 0 else x", .output_range = "(-inf, inf)",
           .zero_centred = false, .monotonic = false, .smooth = false, .saturates = "no", .learnable = true,
           .note = "leaky ReLU whose slope is learned (He et al. 2015), shared or per channel"},
          [](const ActivationInfo& info, std::vector<double> values) -> std::unique_ptr<ActivationFunction> {
            const std::int64_t channels = channel_count(values, "prelu");
            Tensor weight = full({channels}, values[1]);
            return std::make_unique<LearnableActivation>(info, std::move(values),
                                                         std::vector<std::pair<std::string, Tensor>>{{"weight", weight}},
                                                         [](const Tensor& x, const auto& p) { return prelu(x, p[0]); });
          }};
}

ActivationDefinition learnable_swish_definition() {
  return {{.name = "learnable_swish", .aliases = {"swish_beta"}, .params = {channels_param(), {"init", 1.0, "initial beta"}},
           .formula = "x * sigmoid(beta_c x), beta learned", .latex = "x \\, \\sigma(\\beta_c x)",
           .derivative = "d/dx: s + beta x s (1 - s);  d/dbeta: x^2 s (1 - s), s = sigmoid(beta x)",
           .output_range = "[-0.28 / beta, inf)", .zero_centred = false, .monotonic = false, .smooth = true,
           .saturates = "x -> -inf", .learnable = true,
           .note = "swish whose sharpness is learned: near-linear (beta -> 0) to near-ReLU (beta large)"},
          [](const ActivationInfo& info, std::vector<double> values) -> std::unique_ptr<ActivationFunction> {
            const std::int64_t channels = channel_count(values, "learnable_swish");
            Tensor beta = full({channels}, values[1]);
            return std::make_unique<LearnableActivation>(
                info, std::move(values), std::vector<std::pair<std::string, Tensor>>{{"beta", beta}},
                [](const Tensor& x, const auto& p) { return learnable_swish(x, p[0]); });
          }};
}

ActivationDefinition rational_definition() {
  return {{.name = "rational", .aliases = {"pau"}, .params = {channels_param()},
           .formula = "(a0 + a1 x + ... + a5 x^5) / (1 + |b1 x + ... + b4 x^4|), a and b learned",
           .latex = "\\frac{\\sum_{j=0}^{5} a_j x^j}{1 + \\left|\\sum_{k=1}^{4} b_k x^k\\right|}",
           .derivative = "(P' - f sign(S) S') / Q", .output_range = "(-inf, inf)", .zero_centred = false,
           .monotonic = false, .smooth = false, .saturates = "no", .learnable = true,
           .note = "Pade activation unit: the shape itself is learned, starting from leaky ReLU"},
          [](const ActivationInfo& info, std::vector<double> values) -> std::unique_ptr<ActivationFunction> {
            const std::int64_t channels = channel_count(values, "rational");
            const std::vector<double> a(kRationalInit, kRationalInit + 6), b(kRationalInit + 6, kRationalInit + 10);
            Tensor numerator = from_vector(a, {1, 6}).to(kFloat32).expand({channels, 6}).contiguous();
            Tensor denominator = from_vector(b, {1, 4}).to(kFloat32).expand({channels, 4}).contiguous();
            return std::make_unique<LearnableActivation>(
                info, std::move(values),
                std::vector<std::pair<std::string, Tensor>>{{"numerator", numerator}, {"denominator", denominator}},
                [](const Tensor& x, const auto& p) { return rational(x, p[0], p[1]); });
          }};
}

// RReLU: a fresh random slope per element while training (a regularizer), the mean slope in eval.
class RreluActivation final : public ActivationBase {
 public:
  RreluActivation(const ActivationInfo& info, std::vector<double> values)
      : ActivationBase(info, values), lower_(values[0]), upper_(values[1]),
        generator_(static_cast<std::uint64_t>(values[2])) {
    ACTLAB_CHECK(lower_ <= upper_, "rrelu: lower ({}) must not exceed upper ({})", lower_, upper_);
  }
  Tensor forward(const Tensor& x) override { return rrelu(x, lower_, upper_, training_, generator_); }
  void set_training(bool training) override { training_ = training; }
  std::vector<std::pair<std::string, Generator*>> named_generators() override { return {{"generator", &generator_}}; }
  double gain() const override {
    const double slope = (lower_ + upper_) / 2;
    return std::sqrt(2.0 / (1.0 + slope * slope));
  }

 private:
  double lower_, upper_;
  Generator generator_;
  bool training_ = true;
};

ActivationDefinition rrelu_definition() {
  return {{.name = "rrelu",
           .params = {{"lower", 1.0 / 8, "smallest slope"}, {"upper", 1.0 / 3, "largest slope"},
                      {"seed", 0, "seed of the slope generator", true, 0, 9007199254740992.0}},
           .formula = "x if x >= 0 else a x; a ~ U(lower, upper) in training, (lower + upper) / 2 in eval",
           .latex = "x \\ge 0 ? x : a x,\\ a \\sim U(l, u)", .derivative = "1 if x >= 0 else a",
           .output_range = "(-inf, inf)", .zero_centred = false, .monotonic = true, .smooth = false,
           .saturates = "no", .note = "leaky ReLU with a random slope as a regularizer (small data sets)"},
          [](const ActivationInfo& info, std::vector<double> values) -> std::unique_ptr<ActivationFunction> {
            return std::make_unique<RreluActivation>(info, std::move(values));
          }};
}

}  // namespace

Tensor prelu(const Tensor& x, const Tensor& weight) { return apply_learnable(Prelu{}, x, as_columns(weight, 1)); }
Tensor learnable_swish(const Tensor& x, const Tensor& beta) {
  return apply_learnable(LearnableSwish{}, x, as_columns(beta, 1));
}
Tensor rational(const Tensor& x, const Tensor& numerator, const Tensor& denominator) {
  ACTLAB_CHECK(numerator.numel() % 6 == 0 && denominator.numel() % 4 == 0 &&
                   numerator.numel() / 6 == denominator.numel() / 4,
               "rational: numerator must be [C, 6] and denominator [C, 4], got {} and {}",
               shape_str(numerator.shape()), shape_str(denominator.shape()));
  return apply_learnable(Rational{}, x, cat({as_columns(numerator, 6), as_columns(denominator, 4)}, 1));
}

namespace {

// Writes out = rrelu(x) (g null) or grad_in for g, drawing the slopes of Philox blocks from `first`.
void rrelu_apply(const Tensor& x, const Tensor* g, Tensor& out, const Generator& gen, std::uint64_t first, double lower,
                 double upper, bool vectorize) {
  dispatch_floating(x.dtype(), "rrelu", [&]<class T>() {
    const T* xp = x.data<T>();
    const T* gp = g ? g->data<T>() : nullptr;
    T* op = out.data<T>();
    const bool stream = stream_output(x.numel() * static_cast<std::int64_t>(sizeof(T)));
    parallel_for(0, x.numel(), kParallelGrain, [&](std::int64_t begin, std::int64_t end) {
      if constexpr (std::is_same_v<T, float>) {
        if (vectorize) {
          ACTLAB_ISA_DISPATCH(activations, rrelu_rows(xp, gp, op, begin, end, stream, gen, first, static_cast<T>(lower),
                                                      static_cast<T>(upper)));
          return;
        }
      }
      rrelu_range<T>(xp, gp, op, begin, end, stream, gen, first, static_cast<T>(lower), static_cast<T>(upper), false);
    });
  });
}

}  // namespace

Tensor rrelu(const Tensor& input, double lower, double upper, bool training, Generator& gen) {
  ACTLAB_CHECK(lower <= upper, "rrelu: lower ({}) must not exceed upper ({})", lower, upper);
  if (!training) return leaky_relu(input, (lower + upper) / 2);
  const Tensor x = input.contiguous();
  const std::uint64_t first = gen.reserve(static_cast<std::uint64_t>((x.numel() + kGroup - 1) / kGroup * 16));
  const bool vectorize = !reference_kernels_enabled();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  rrelu_apply(x, nullptr, y, gen, first, lower, upper, vectorize);
  // Backward draws the same slopes from the same blocks (of a copy: gen may move on or go away).
  return autograd::record("rrelu", y, {input}, [x = x.detach(), draws = Generator(gen.seed()), first, lower, upper,
                                                vectorize](const Tensor& grad, auto&) {
    const Tensor g = grad.to(x.dtype()).contiguous();
    Tensor grad_x = Tensor::empty(x.shape(), x.dtype());
    rrelu_apply(x, &g, grad_x, draws, first, lower, upper, vectorize);
    return std::vector<Tensor>{grad_x};
  });
}

std::vector<ActivationDefinition> activations::learnable_activations() {
  return {rrelu_definition(), prelu_definition(), learnable_swish_definition(), rational_definition()};
}

#endif

}  // namespace actlab
