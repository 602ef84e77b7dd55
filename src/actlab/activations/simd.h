// The arithmetic activation kernels are written in, for scalars and for float vectors.
//
// An activation's formula is one template `template <class V> V f(V x)`; instantiated with
// float/double it is the scalar reference (libm), with simd::Vec it is the vector kernel of the
// instruction-set level this file is compiled for (core/cpu.h): 16 lanes (AVX-512), 8 (AVX2+FMA)
// or 4 (SSE2, NEON). The vector math is one formula per function for every level (below; SSE2,
// without a variable shuffle, takes log1p_of_exp_minus's other form), within the accuracy stated
// there. Both see the same operations:
//   + - * / and comparisons, select(mask, a, b), min/max, abs, reciprocal, exp, expm1,
//   log1p_of_unit, log1p_of_exp_minus, tanh, erfc, gelu_parts.
// min(a, b) and max(a, b) return b when either is NaN (the x86 rule), so `max(0, x)` propagates a
// NaN x. Everything here lives in a namespace per level (ACTLAB_ISA), so code compiled for one
// level never links against another's.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numbers>
#include <utility>

#if defined(__SSE2__)
#include <immintrin.h>
#endif
#if defined(__ARM_NEON)
#include <arm_neon.h>
#endif

#include "actlab/core/cpu.h"

// The vector math is inlined into every kernel loop whatever the compiler's size heuristics say:
// out of line, each vector pays a call and reloads its constants (GCC 12 keeps exp and the
// polynomials out of line at AVX2 and AVX-512, which halved GELU's speed).
#define ACTLAB_VECTOR_MATH [[gnu::always_inline]] inline

namespace actlab::simd {
inline namespace ACTLAB_ISA {

// ---- scalars (float, double, long double) ----
template <class T> T select(bool mask, T a, T b) { return mask ? a : b; }
template <class T> T min(T a, T b) { return a < b ? a : b; }
template <class T> T max(T a, T b) { return a > b ? a : b; }
template <class T> T abs(T x) { return std::fabs(x); }
template <class T> bool is_nan(T x) { return std::isnan(x); }
template <class T> T exp(T x) { return std::exp(x); }
template <class T> T expm1(T x) { return std::expm1(x); }
template <class T> T log1p_of_unit(T x) { return std::log1p(x); }
template <class T> T log1p_of_exp_minus(T a) { return std::log1p(std::exp(-a)); }
template <class T> T tanh(T x) { return std::tanh(x); }
template <class T> T erf(T x) { return std::erf(x); }
template <class T> T erfc(T x) { return std::erfc(x); }
// 1 / d for a normal, finite d (the vector form is not exact for 0, inf or subnormals).
template <class T> T reciprocal(T d) { return T(1) / d; }

// 1.5 2^23: x + kIntegerShift rounds x (|x| < 2^22) to an integer m, which the sum's low mantissa
// bits then hold (the exponent primitives below read m from there).
constexpr float kIntegerShift = 12582912.0f;

// Folds a vector's lanes into one by halving, op(lower half, upper half), in registers: log2 N
// dependent steps (lane by lane through memory, a row's sum and max took over half of softmax's
// time on rows of 16). Raw is a GCC vector of at least 2 floats or doubles (__m512 is one too).
template <int Offset, class Raw, int... I>
auto half_of(Raw r, std::integer_sequence<int, I...>) {
  return __builtin_shufflevector(r, r, (I + Offset)...);
}
template <class Raw, class Op> auto fold_lanes(Raw r, Op op) {
  constexpr int kHalf = static_cast<int>(sizeof(Raw) / sizeof(r[0]) / 2);
  if constexpr (kHalf == 1) {
    return op(r[0], r[1]);
  } else {
    constexpr auto kIndices = std::make_integer_sequence<int, kHalf>{};
    return fold_lanes(op(half_of<0>(r, kIndices), half_of<kHalf>(r, kIndices)), op);
  }
}
inline constexpr auto kAddLanes = [](auto a, auto b) { return a + b; };
// The larger, or NaN if either is.
inline constexpr auto kMaxOfLanes = [](auto a, auto b) { return (a > b) | (a != a) ? a : b; };

#if defined(__AVX512F__)
struct Mask16 {
  __mmask16 bits;
  friend Mask16 operator&(Mask16 a, Mask16 b) { return {static_cast<__mmask16>(a.bits & b.bits)}; }
  friend Mask16 operator|(Mask16 a, Mask16 b) { return {static_cast<__mmask16>(a.bits | b.bits)}; }
};

// Sixteen floats in one AVX-512 register.
struct Vec16 {
  static constexpr int kLanes = 16;
  __m512 v;

  Vec16() = default;
  Vec16(__m512 value) : v(value) {}  // NOLINT: intrinsics interoperate freely
  Vec16(float value) : v(_mm512_set1_ps(value)) {}
  explicit Vec16(double value) : v(_mm512_set1_ps(static_cast<float>(value))) {}
  Vec16(int value) : v(_mm512_set1_ps(static_cast<float>(value))) {}

  static Vec16 load(const float* p) { return _mm512_loadu_ps(p); }
  // Loads the first n < 16 elements; the other lanes hold `fill`.
  static Vec16 load(const float* p, int n, float fill = 0) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), tail_mask(n), p);
  }
  void store(float* p) const { _mm512_storeu_ps(p, v); }
  void store(float* p, int n) const { _mm512_mask_storeu_ps(p, tail_mask(n), v); }
  // Non-temporal store (around the cache) to a 64-byte aligned p; see core/streaming.h.
  void stream(float* p) const { _mm512_stream_ps(p, v); }
  // Horizontal sum and max, for the end of a reduction (GCC 12's _mm512_reduce_* warn spuriously).
  float sum() const { return fold_lanes(v, kAddLanes); }
  float max() const { return fold_lanes(v, kMaxOfLanes); }
  static __mmask16 tail_mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }

  friend Vec16 operator+(Vec16 a, Vec16 b) { return _mm512_add_ps(a.v, b.v); }
  friend Vec16 operator-(Vec16 a, Vec16 b) { return _mm512_sub_ps(a.v, b.v); }
  friend Vec16 operator*(Vec16 a, Vec16 b) { return _mm512_mul_ps(a.v, b.v); }
  friend Vec16 operator/(Vec16 a, Vec16 b) { return _mm512_div_ps(a.v, b.v); }
  friend Vec16 operator-(Vec16 a) { return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32(INT32_MIN))); }
  Vec16& operator+=(Vec16 b) { return *this = *this + b; }
  friend Mask16 operator<(Vec16 a, Vec16 b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ)}; }
  friend Mask16 operator<=(Vec16 a, Vec16 b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LE_OQ)}; }
  friend Mask16 operator>(Vec16 a, Vec16 b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_GT_OQ)}; }
  friend Mask16 operator>=(Vec16 a, Vec16 b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_GE_OQ)}; }
  friend Mask16 operator==(Vec16 a, Vec16 b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_EQ_OQ)}; }
};

inline Vec16 select(Mask16 mask, Vec16 a, Vec16 b) { return _mm512_mask_blend_ps(mask.bits, b.v, a.v); }
// The masked forms: GCC 12's _mm512_min_ps/_mm512_max_ps warn spuriously (-Wmaybe-uninitialized).
inline Vec16 min(Vec16 a, Vec16 b) { return _mm512_mask_min_ps(a.v, 0xFFFF, a.v, b.v); }
inline Vec16 max(Vec16 a, Vec16 b) { return _mm512_mask_max_ps(a.v, 0xFFFF, a.v, b.v); }
inline Vec16 abs(Vec16 x) { return _mm512_abs_ps(x.v); }
inline Vec16 fused_multiply_subtract(Vec16 a, Vec16 b, Vec16 c) { return _mm512_fmsub_ps(a.v, b.v, c.v); }
inline Mask16 is_nan(Vec16 x) { return {_mm512_cmp_ps_mask(x.v, x.v, _CMP_UNORD_Q)}; }
inline bool all_of(Mask16 mask) { return mask.bits == 0xFFFF; }
// rcp14 and one Newton step: within 2^-28 before rounding (a division rounds to 2^-24).
inline Vec16 reciprocal(Vec16 d) {
  const __m512 r = _mm512_mask_rcp14_ps(d.v, 0xFFFF, d.v);
  return _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d.v, r, _mm512_set1_ps(1.0f)), r);
}
// The exponent primitives of the vector math (below), for an integer m that k holds as m + 1.5 2^23
// (|m| < 2^22; the sum that rounds to an integer, see reduce_by_ln2): p 2^m rounded once, for p
// in [0.5, 2) and m in [-150, 128]; and p 2^m by adding m to p's exponent field, for p 2^m normal.
inline Vec16 scale_by_shifted_power_of_two(Vec16 p, Vec16 k) {
  return _mm512_mask_scalef_ps(p.v, 0xFFFF, p.v, _mm512_sub_ps(k.v, _mm512_set1_ps(kIntegerShift)));
}
inline Vec16 scale_by_shifted_integer(Vec16 p, Vec16 k) {
  const __m512i bits = _mm512_castps_si512(k.v);  // the masked shift, as for min and max above
  return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p.v), _mm512_mask_slli_epi32(bits, 0xFFFF, bits, 23)));
}
// The table primitives of the vector math: the integer part of x in [0, 8) as a lane index, and
// table[index] in every lane (one vpermps). kHasTableLookup: lookup is one instruction.
inline constexpr bool kHasTableLookup = true;
struct TableIndex16 {
  __m512i v;
};
// (The masked forms, as for min and max above.)
inline TableIndex16 table_index(Vec16 x) { return {_mm512_maskz_cvttps_epi32(0xFFFF, x.v)}; }
inline Vec16 lookup(const std::array<float, 8>& table, TableIndex16 index) {
  return _mm512_maskz_permutexvar_ps(0xFFFF, index.v, _mm512_maskz_loadu_ps(0x00FF, table.data()));
}
using Vec = Vec16;
#else
// The raw GCC vector types of N floats and of N 32-bit integers.
template <int N> struct RawVector;
template <> struct RawVector<4> {
  typedef float Float __attribute__((vector_size(16)));
  typedef std::int32_t Int __attribute__((vector_size(16)));
};
template <> struct RawVector<8> {
  typedef float Float __attribute__((vector_size(32)));
  typedef std::int32_t Int __attribute__((vector_size(32)));
};

template <int N>
struct MaskN {
  using Bits = typename RawVector<N>::Int;
  Bits bits;
  friend MaskN operator&(MaskN a, MaskN b) { return {a.bits & b.bits}; }
  friend MaskN operator|(MaskN a, MaskN b) { return {a.bits | b.bits}; }
};

// N floats in one register (GCC vector extensions): 8 with AVX2, 4 with SSE2 or NEON.
template <int N>
struct VecN {
  static constexpr int kLanes = N;
  using Raw = typename RawVector<N>::Float;
  using Bits = typename MaskN<N>::Bits;
  Raw v;

  VecN() = default;
  VecN(Raw value) : v(value) {}  // NOLINT: the raw vector converts freely
  VecN(float value) : v(value - Raw{}) {}  // x - 0 is x for every x, -0 included; 0 + x is not
  explicit VecN(double value) : VecN(static_cast<float>(value)) {}
  VecN(int value) : VecN(static_cast<float>(value)) {}

  static VecN load(const float* p) {
    VecN out;
    std::memcpy(&out.v, p, sizeof(Raw));
    return out;
  }
  // Loads the first n < N elements; the other lanes hold `fill`.
  static VecN load(const float* p, int n, float fill = 0) {
    VecN out(fill);
    std::memcpy(&out.v, p, sizeof(float) * static_cast<std::size_t>(n));
    return out;
  }
  void store(float* p) const { std::memcpy(p, &v, sizeof(Raw)); }
  void store(float* p, int n) const { std::memcpy(p, &v, sizeof(float) * static_cast<std::size_t>(n)); }
  // Non-temporal store (around the cache) to an aligned p; see core/streaming.h. On NEON a plain
  // store (GCC has no intrinsic for its non-temporal pair store, stnp; nor does actlab stream there).
  void stream(float* p) const {
#if defined(__AVX__)
    if constexpr (N == 8) return _mm256_stream_ps(p, v);
#endif
#if defined(__SSE2__)
    if constexpr (N == 4) return _mm_stream_ps(p, v);
#endif
    store(p);
  }
  float sum() const { return fold_lanes(v, kAddLanes); }
  float max() const { return fold_lanes(v, kMaxOfLanes); }
  Bits bits() const {
    Bits out;
    std::memcpy(&out, &v, sizeof(Raw));
    return out;
  }
  static VecN from_bits(Bits b) {
    VecN out;
    std::memcpy(&out.v, &b, sizeof(Raw));
    return out;
  }

  friend VecN operator+(VecN a, VecN b) { return a.v + b.v; }
  friend VecN operator-(VecN a, VecN b) { return a.v - b.v; }
  friend VecN operator*(VecN a, VecN b) { return a.v * b.v; }
  friend VecN operator/(VecN a, VecN b) { return a.v / b.v; }
  friend VecN operator-(VecN a) { return from_bits(a.bits() ^ INT32_MIN); }
  VecN& operator+=(VecN b) { return *this = *this + b; }
  friend MaskN<N> operator<(VecN a, VecN b) { return {a.v < b.v}; }
  friend MaskN<N> operator<=(VecN a, VecN b) { return {a.v <= b.v}; }
  friend MaskN<N> operator>(VecN a, VecN b) { return {a.v > b.v}; }
  friend MaskN<N> operator>=(VecN a, VecN b) { return {a.v >= b.v}; }
  friend MaskN<N> operator==(VecN a, VecN b) { return {a.v == b.v}; }
};

template <int N> VecN<N> select(MaskN<N> mask, VecN<N> a, VecN<N> b) { return mask.bits ? a.v : b.v; }
// select(a < b, a, b) or select(a > b, a, b): exactly what x86's minps / maxps compute, in one
// instruction. NEON's fmin / fmax (and fminnm / fmaxnm) differ for NaN and for -0 vs +0, so
// there it is this select, a compare and a bit select (fcmgt, bsl).
template <int N> VecN<N> min_or_max(VecN<N> a, VecN<N> b, bool maximum) {
#if defined(__AVX__)
  if constexpr (N == 8) {
    const __m256 x = std::bit_cast<__m256>(a.v), y = std::bit_cast<__m256>(b.v);
    return std::bit_cast<typename VecN<N>::Raw>(maximum ? _mm256_max_ps(x, y) : _mm256_min_ps(x, y));
  }
#endif
#if defined(__SSE2__)
  if constexpr (N == 4) {
    const __m128 x = std::bit_cast<__m128>(a.v), y = std::bit_cast<__m128>(b.v);
    return std::bit_cast<typename VecN<N>::Raw>(maximum ? _mm_max_ps(x, y) : _mm_min_ps(x, y));
  }
#endif
  return select(maximum ? a > b : a < b, a, b);
}
template <int N> VecN<N> min(VecN<N> a, VecN<N> b) { return min_or_max(a, b, false); }
template <int N> VecN<N> max(VecN<N> a, VecN<N> b) { return min_or_max(a, b, true); }
template <int N> VecN<N> abs(VecN<N> x) { return VecN<N>::from_bits(x.bits() & INT32_MAX); }
template <int N> MaskN<N> is_nan(VecN<N> x) { return {x.v != x.v}; }
// a b - c, rounded once where the level has FMA (AVX2, NEON), twice on SSE2.
template <int N> VecN<N> fused_multiply_subtract(VecN<N> a, VecN<N> b, VecN<N> c) {
#if defined(__FMA__)
  if constexpr (N == 8)
    return std::bit_cast<typename VecN<N>::Raw>(
        _mm256_fmsub_ps(std::bit_cast<__m256>(a.v), std::bit_cast<__m256>(b.v), std::bit_cast<__m256>(c.v)));
#endif
#if defined(__ARM_NEON)
  if constexpr (N == 4)
    return std::bit_cast<typename VecN<N>::Raw>(
        vfmaq_f32(std::bit_cast<float32x4_t>((-c).v), std::bit_cast<float32x4_t>(a.v), std::bit_cast<float32x4_t>(b.v)));
#endif
  return a * b - c;
}
// A division: correctly rounded.
template <int N> VecN<N> reciprocal(VecN<N> d) { return VecN<N>(1.0f) / d; }
// Whether every lane of the mask is set (one movemask on x86, one minimum across lanes on NEON).
template <int N> bool all_of(MaskN<N> mask) {
#if defined(__ARM_NEON)
  if constexpr (N == 4) return vminvq_u32(std::bit_cast<uint32x4_t>(mask.bits)) == UINT32_MAX;
#endif
#if defined(__AVX__)
  if constexpr (N == 8) return _mm256_movemask_ps(std::bit_cast<__m256>(mask.bits)) == 0xFF;
#endif
#if defined(__SSE2__)
  if constexpr (N == 4) return _mm_movemask_ps(std::bit_cast<__m128>(mask.bits)) == 0xF;
#endif
  for (int i = 0; i < N; ++i)
    if (!mask.bits[i]) return false;
  return true;
}
// The exponent primitives of the vector math, as for Vec16 above, by bit manipulation.
template <int N> VecN<N> scale_by_shifted_integer(VecN<N> p, VecN<N> k) {
  return VecN<N>::from_bits(p.bits() + (k.bits() << 23));
}
template <int N> ACTLAB_VECTOR_MATH VecN<N> scale_by_shifted_power_of_two(VecN<N> p, VecN<N> k) {
  using Bits = typename VecN<N>::Bits;
  // The common case, p 2^m normal for every lane (p in [0.5, 2), m in [-125, 127]): exact. NaN k
  // fails the test.
  const VecN<N> m = k - VecN<N>(kIntegerShift);
  if (all_of((m >= VecN<N>(-125)) & (m <= VecN<N>(127)))) return scale_by_shifted_integer(p, k);
  // Else two steps of 2^(m/2) each keep both factors normal; only the last product rounds.
  const Bits whole = __builtin_convertvector(m.v, Bits), half = whole >> 1;
  const auto power = [](Bits e) { return VecN<N>::from_bits((e + 127) << 23); };
  return (p * power(half)) * power(whole - half);
}
// The table primitives, as for Vec16 above: one vpermps with AVX2, one two-register tbl on NEON
// (its index holds the byte offsets of each lane's float). SSE2 has no variable shuffle; GCC's
// scalar form of it there is slower than the computation a table would replace.
template <int N> struct TableIndexN {
  typename VecN<N>::Bits v;
};
template <int N> TableIndexN<N> table_index(VecN<N> x) {
  const auto lane = __builtin_convertvector(x.v, typename VecN<N>::Bits);
#if defined(__ARM_NEON)
  if constexpr (N == 4) return {lane * 0x04040404 + 0x03020100};
#endif
  return {lane};
}
template <int N> VecN<N> lookup(const std::array<float, 8>& table, TableIndexN<N> index) {
#if defined(__ARM_NEON)
  if constexpr (N == 4) {
    const uint8x16x2_t bytes = {{vreinterpretq_u8_f32(vld1q_f32(table.data())), vreinterpretq_u8_f32(vld1q_f32(table.data() + 4))}};
    return std::bit_cast<typename VecN<N>::Raw>(vqtbl2q_u8(bytes, std::bit_cast<uint8x16_t>(index.v)));
  }
#endif
  if constexpr (N == 8)
    return __builtin_shuffle(VecN<N>::load(table.data()).v, index.v);
  else  // SSE2: compiled, never taken (kHasTableLookup)
    return __builtin_shuffle(VecN<N>::load(table.data()).v, VecN<N>::load(table.data() + N).v, index.v);
}
#if defined(__AVX2__) && defined(__FMA__)
using Vec = VecN<8>;
#else
using Vec = VecN<4>;
#endif
#if defined(__ARM_NEON)
inline constexpr bool kHasTableLookup = true;
#else
inline constexpr bool kHasTableLookup = Vec::kLanes == 8;  // not SSE2 (see lookup)
#endif
#endif

// The vector math, one formula for every level (only the exponent and table primitives above
// differ), inline so that a kernel's loop keeps their constants in registers: exp (~1 ulp), expm1
// (~1.4 ulp), log1p on [0, 1] (~1 ulp), log(1 + e^-a) (~1.3 ulp), erfc (~7 ulp with FMA) and tanh
// (~2.5 ulp).
namespace math_constants {

// ln 2 split in two (Cody-Waite): kLn2High has trailing zero bits, so n kLn2High is exact for
// the exponents n that occur.
constexpr float kLn2High = 0.693145751953125f, kLn2Low = 1.42860682030941723212e-6f;

}  // namespace math_constants

// c[0] + c[1] x + ... + c[N-1] x^(N-1) by Estrin's scheme (pairs c[2k] + c[2k+1] x, then pairs
// of those in x^2, x^4, ...): a dependency chain of about log2(N) multiply-adds rather than
// Horner's N - 1, which lets the core overlap consecutive vectors.
template <std::size_t N>
ACTLAB_VECTOR_MATH Vec polynomial(Vec x, const std::array<float, N>& c) {
  std::array<Vec, (N + 1) / 2> terms;
  for (std::size_t k = 0; k < terms.size(); ++k) terms[k] = 2 * k + 1 < N ? Vec(c[2 * k + 1]) * x + Vec(c[2 * k]) : Vec(c[2 * k]);
  Vec power = x * x;
  for (std::size_t n = terms.size(); n > 1; n = (n + 1) / 2, power = power * power) {
    for (std::size_t k = 0; k < n / 2; ++k) terms[k] = terms[2 * k + 1] * power + terms[2 * k];
    if (n % 2 == 1) terms[n / 2] = terms[n - 1];
  }
  return terms[0];
}
// The same polynomial by Horner's rule: N - 1 multiply-adds in one chain, the fewest operations.
// It wins where an independent chain runs beside it (erfc's Q beside its exponential: 12% on
// Zen 4 at AVX2 and AVX-512); alone (exp, log1p) Estrin's shorter chain wins.
template <std::size_t N>
ACTLAB_VECTOR_MATH Vec horner_polynomial(Vec x, const std::array<float, N>& c) {
  Vec result(c[N - 1]);
  for (std::size_t k = N - 1; k-- > 0;) result = result * x + Vec(c[k]);
  return result;
}

// e^r - 1 for |r| <= 0.347 (ln 2 / 2): r + r^2 q(r), q(r) = 1/2 + c3 r + ... + c6 r^4 the
// minimax fit (3.8e-9 relative with these float coefficients, below the 5e-9 of the Taylor
// series to r^7).
ACTLAB_VECTOR_MATH Vec expm1_of_reduced(Vec r) {
  static constexpr std::array<float, 5> kQ = {0.5f, 1.666653454e-01f, 4.166723788e-02f, 8.367480710e-03f,
                                              1.386375865e-03f};
  return r * r * polynomial(r, kQ) + r;
}
// e^r, the leading terms added last, each rounding once.
ACTLAB_VECTOR_MATH Vec exp_of_reduced(Vec r) { return Vec(1.0f) + expm1_of_reduced(r); }
// x = n ln 2 + r, n = round(x / ln 2), r in two parts (Cody-Waite), |r| <= 0.347. n arrives as
// `rounded` = shift + n, whose low mantissa bits hold n for scale_by_shifted_integer (shift =
// 1.5 2^23 plus any offset wanted in the exponent).
struct ReducedByLn2 {
  Vec rounded, r;
};
// r = x - n ln 2, in two parts so that n kLn2High is exact.
ACTLAB_VECTOR_MATH Vec ln2_remainder(Vec x, Vec n) {
  return (x - n * Vec(math_constants::kLn2High)) - n * Vec(math_constants::kLn2Low);
}
ACTLAB_VECTOR_MATH ReducedByLn2 reduce_by_ln2(Vec x, Vec shift) {
  const Vec rounded = x * Vec(1.44269504f) + shift;
  return {rounded, ln2_remainder(x, rounded - shift)};
}
// e^x = 2^n e^r; 2^n by scale_by_shifted_power_of_two, which rounds once into the subnormal range
// and gives inf past FLT_MAX. x is clamped to [-104, 89] first (e^x is 0 and inf beyond), which
// keeps r finite for x = +-inf; NaN passes through. About 1 ulp, in fewer operations than
// SLEEF's expf.
ACTLAB_VECTOR_MATH Vec exp(Vec x) {
  const ReducedByLn2 reduced = reduce_by_ln2(max(Vec(-104.0f), min(Vec(89.0f), x)), Vec(kIntegerShift));
  return scale_by_shifted_power_of_two(exp_of_reduced(reduced.r), reduced.rounded);
}
// (e^x - 1) / 2 = h (e^r - 1) + (h - 1/2), h = 2^(n-1), for x in [-18, 89] (h normal) or NaN: no
// cancellation at n = 0, where r = x, and one rounding of the sum elsewhere (SLEEF's expm1 costs
// four exps). Below |x| = 2^-24 it is x / 2, exact where x is even in its last place (tanh's -2|x|).
ACTLAB_VECTOR_MATH Vec half_expm1(Vec x) {
  const ReducedByLn2 reduced = reduce_by_ln2(x, Vec(kIntegerShift));
  const Vec h = scale_by_shifted_integer(Vec(0.5f), reduced.rounded);
  return h * expm1_of_reduced(reduced.r) + (h - Vec(0.5f));
}
// e^x - 1, x clamped to [-18, 89] (below -17.4 the result is -1 in float); the doubling of
// half_expm1 overflows to inf where e^x passes FLT_MAX. Below |x| = 2^-24 the result is x itself
// (half of a subnormal x would drop its last bit). 1.41 ulp measured.
ACTLAB_VECTOR_MATH Vec expm1(Vec x) {
  return select(abs(x) < Vec(0x1p-24f), x, Vec(2.0f) * half_expm1(max(Vec(-18.0f), min(Vec(89.0f), x))));
}
// log1p(t) for t in [0, 1] or NaN (softplus's e^-|x|), without a division: 1 + t = 2^k (1 + f)
// with k = 0, f = t below 1/2 and k = 1, f = t / 2 - 1/2 above, so f lies in [-1/4, 1/2] and is
// exact (Sterbenz). log1p(f) = f + f^2 R(f), R a degree-8 fit of (log1p(f) - f) / f^2 (4.9e-9 of
// the result before rounding); f and k ln 2 are added last, each rounding once. About 1.1 ulp.
ACTLAB_VECTOR_MATH Vec log1p_of_unit(Vec t) {
  static constexpr std::array<float, 9> kR = {-0.5f,           3.333345652e-01f, -2.500011325e-01f,
                                              1.999056786e-01f, -1.664642245e-01f, 1.448050439e-01f,
                                              -1.317124367e-01f, 1.047240645e-01f, -4.507639632e-02f};
  const auto high = t >= Vec(0.5f);
  const Vec f = select(high, t * Vec(0.5f) - Vec(0.5f), t);
  const Vec low_terms = f * f * polynomial(f, kR) + select(high, Vec(math_constants::kLn2Low), Vec(0.0f));
  return select(high, Vec(math_constants::kLn2High), Vec(0.0f)) + (f + low_terms);
}
// log(1 + e^-a) for a >= 0 or NaN: softplus and logsigmoid past their linear part. On [0, 8),
// where the inputs of a network lie, by table: on [j, j + 1) a degree-7 polynomial in a - c_j
// (a weighted least-squares fit near minimax, its float32 coefficients rounded one at a time from
// the highest, the others refitted). c_j is a float near j + 1/2 picked so that log(1 + e^-c_j)
// lies within 0.002 ulp of a float, which is then the constant term without a rounding error of
// its own. a - c_j is exact for j >= 1 and from a = c_0 / 2 on. 1.3 ulp
// (every level with the table has FMA), in a third of the time of log1p_of_unit(exp(-a)) at
// AVX2, which a vector with a lane at 8 or beyond (or NaN), and SSE2, take instead (1.5 ulp).
ACTLAB_VECTOR_MATH Vec log1p_of_exp_minus(Vec a) {
  static constexpr std::array<float, 8> kCentres = {4.998130798e-01f, 1.499958038e+00f, 2.499990463e+00f,
                                                    3.500023842e+00f, 4.499953270e+00f, 5.499960899e+00f,
                                                    6.500122070e+00f, 7.500023842e+00f};
  // kCoefficients[k][j]: the coefficient of (a - c_j)^k.
  static constexpr std::array<std::array<float, 8>, 8> kCoefficients = {{
      {4.741475582e-01f, 2.014209330e-01f, 7.889045775e-02f, 2.974971943e-02f, 1.104825828e-02f, 4.078602418e-03f,
       1.502126921e-03f, 5.529182963e-04f},
      {-3.775846064e-01f, -1.824317873e-01f, -7.585884631e-02f, -2.931155264e-02f, -1.098745037e-02f,
       -4.070296418e-03f, -1.500999322e-03f, -5.527654430e-04f},
      {1.175072119e-01f, 7.457524538e-02f, 3.505213559e-02f, 1.422618981e-02f, 5.433362909e-03f, 2.026864560e-03f,
       7.493732264e-04f, 2.762299846e-04f},
      {-9.589776397e-03f, -1.578843780e-02f, -9.911386296e-03f, -4.464074038e-03f, -1.771321869e-03f,
       -6.701211678e-04f, -2.490410116e-04f, -9.197479085e-05f},
      {-4.015193321e-03f, 6.524283090e-04f, 1.692512189e-03f, 9.831973584e-04f, 4.232627689e-04f, 1.647936006e-04f,
       6.188410043e-05f, 2.294201295e-05f},
      {8.722918574e-04f, 6.232453743e-04f, -7.852936687e-05f, -1.469679992e-04f, -7.701885625e-05f,
       -3.187892071e-05f, -1.222942137e-05f, -4.568792065e-06f},
      {1.850261033e-04f, -1.617701491e-04f, -5.105083255e-05f, 9.169888472e-06f, 1.036120375e-05f, 4.981338407e-06f,
       2.003077725e-06f, 7.606432177e-07f},
      {-7.430765982e-05f, -1.232259933e-06f, 1.656038512e-05f, 2.204313660e-06f, -8.081518104e-07f,
       -6.022237926e-07f, -2.678060014e-07f, -1.050175626e-07f},
  }};
  if (!kHasTableLookup || !all_of(a < Vec(8.0f))) return log1p_of_unit(exp(-a));
  const auto index = table_index(a);
  const Vec t = a - lookup(kCentres, index);
  Vec p = lookup(kCoefficients[7], index);
  for (int k = 6; k >= 0; --k) p = p * t + lookup(kCoefficients[k], index);
  return p;
}
// erfc(z) = t Q(t) e^(-z^2), t = 1 / (1 + 0.33 z), for z >= 0; erfc(-z) = 2 - erfc(z). Q(t) =
// erfcx(z) / t is smooth on (0, 1]: a degree-7 polynomial fits it within 1.2e-7 relative for
// z <= 10.26 (a weighted least-squares fit near minimax, its float32 coefficients rounded one at
// a time from the highest, the others refitted), where erfc(z) e^z^2 is 1 / (z sqrt pi) to
// first order. The polynomial and the exponential are independent, so they run side by side.
// The exponent -z^2 arrives as high + low (exact with FMA), so its rounding, which e^-z^2
// amplifies by z^2, does not reach the result. The factors come scaled, Q by 2^-64 (in its
// coefficients) and e^-z^2 by 2^(64 - h): t q and the gaussian (times any factor from 2^-149 to
// 15) stay normal where erfc and e^-z^2 are subnormal, so their product rounds once, at the last
// multiplication, to erfc(z) / 2^h. The exponential adds n + 64 - h, never below -125, straight
// to the exponent field.
struct ErfcFactors {
  Vec t, q, gaussian;  // t, 2^-64 Q(t) and 2^(64 - h) e^-z^2: t q gaussian = erfc(z) / 2^h
};
// z = z_per_s s for s >= 0, z in [0, 10.26] or NaN (erfc(z) is 0 in float from 10.06 on), and
// high + low = -z^2. z_per_s goes into t's denominator, so z itself is never rounded.
template <int kHalvings>
ACTLAB_VECTOR_MATH ErfcFactors erfc_factors(Vec s, float z_per_s, Vec exponent_high, Vec exponent_low) {
  static constexpr std::array<float, 8> kQ = {0x1p-64f * 0.186351612f, 0x1p-64f * 0.183045179f, 0x1p-64f * 0.200694382f,
                                              0x1p-64f * 0.048900757f, 0x1p-64f * 0.40541625f,  0x1p-64f * -0.34786877f,
                                              0x1p-64f * 0.458359301f, 0x1p-64f * -0.134898677f};
  const Vec t = reciprocal(Vec(1.0f) + Vec(0.33f * z_per_s) * s);
  // n + 64 - h in the low bits of `rounded` (see scale_by_shifted_integer), n = round(high / ln 2).
  const ReducedByLn2 reduced = reduce_by_ln2(exponent_high, Vec(kIntegerShift + 64.0f - kHalvings));
  const Vec gaussian = scale_by_shifted_integer(exp_of_reduced(reduced.r + exponent_low), reduced.rounded);
  return {t, horner_polynomial(t, kQ), gaussian};
}
ACTLAB_VECTOR_MATH Vec erfc(Vec x) {
  const Vec z = min(Vec(10.26f), abs(x)), minus_z = -z, high = minus_z * z;
  const ErfcFactors f = erfc_factors<0>(z, 1.0f, high, fused_multiply_subtract(minus_z, z, high));
  const Vec tail = f.t * f.q * f.gaussian;
  return select(x < Vec(0.0f), Vec(2.0f) - tail, tail);
}

// tanh|x| = -m / (2 + m) = q / (-1 - q), m = expm1(-2|x|) = 2 q: no cancellation at any |x|, and
// q = -|x| exactly for tiny x; about 2.5 ulp. -2|x| is clamped at -18 (tanh is 1 in float from
// |x| = 9 on).
ACTLAB_VECTOR_MATH Vec tanh(Vec x) {
  const Vec q = half_expm1(max(Vec(-18.0f), Vec(-2.0f) * abs(x)));
  const Vec t = q / (Vec(-1.0f) - q);
  return select(x < Vec(0.0f), -t, t);
}

// ---- loops generic over V: lanes<V>, load_n / store_n (masked at a row's end), horizontal sums ----
template <class V> inline constexpr int lanes = 1;
template <class V, class T> V load_n(const T* p, std::int64_t remaining, T = T(0)) { (void)remaining; return *p; }
template <class T> void store_n(T* p, T value, std::int64_t) { *p = value; }
template <class T> T horizontal_sum(T v) { return v; }
template <class T> T horizontal_max(T v) { return v; }
template <> inline constexpr int lanes<Vec> = Vec::kLanes;
template <> inline Vec load_n<Vec, float>(const float* p, std::int64_t remaining, float fill) {
  return remaining >= Vec::kLanes ? Vec::load(p) : Vec::load(p, static_cast<int>(remaining), fill);
}
inline void store_n(float* p, Vec value, std::int64_t remaining) {
  if (remaining >= Vec::kLanes)
    value.store(p);
  else
    value.store(p, static_cast<int>(remaining));
}
inline float horizontal_sum(Vec v) { return v.sum(); }
inline float horizontal_max(Vec v) { return v.max(); }

// ---- shared building blocks, written once for every V ----

// a * b, but 0 where b == 0 even when a is infinite (the limit of x * f(x) as f -> 0).
template <class V> ACTLAB_VECTOR_MATH V mul_or_zero(V a, V b) { return select(b == V(0), V(0), a * b); }

// sigmoid(x) = 1 / (1 + e^-x) and sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)), both from one
// e^-|x|: no exponential overflows and the derivative e^-|x| / (1 + e^-|x|)^2 never cancels.
template <class V> struct SigmoidParts {
  V value, derivative;
};
template <class V> ACTLAB_VECTOR_MATH SigmoidParts<V> sigmoid_parts(V x) {
  const V e = exp(-abs(x));
  const V r = reciprocal(V(1) + e);
  return {select(x >= V(0), r, e * r), e * r * r};
}
template <class V> ACTLAB_VECTOR_MATH V sigmoid(V x) { return sigmoid_parts(x).value; }
template <class V> ACTLAB_VECTOR_MATH V sigmoid_derivative(V x) { return sigmoid_parts(x).derivative; }

// GELU, x Phi(x), and its derivative Phi(x) + x phi(x), Phi and phi the standard normal CDF and
// density. The scalar reference from libm's erfc, which keeps full relative precision in the
// left tail, where 1 + erf(x / sqrt 2) cancels.
template <class V> struct GeluParts {
  V value, derivative;
};
template <class T> GeluParts<T> gelu_parts(T x) {
  const T cdf = std::erfc(-x / std::sqrt(T(2))) / 2;
  const T density = std::exp(-x * x / 2) / std::sqrt(2 * std::numbers::pi_v<T>);
  return {mul_or_zero(x, cdf), cdf + mul_or_zero(x, density)};
}
// The vector form from one erfc_factors at z = |x| / sqrt 2, halved: Phi(-|x|) = erfc(z) / 2, with
// the exponent -x^2 / 2 formed from x itself. For x > 0, Phi(x) = 1 - Phi(-x). x multiplies the
// gaussian before the last product, which alone may round into the subnormals. Beyond |x| =
// 14.5, x Phi(-|x|) and x phi(x) round to 0, so x is clamped there (which also keeps +-inf out of
// the products).
ACTLAB_VECTOR_MATH GeluParts<Vec> gelu_parts(Vec x) {
  const Vec size = min(Vec(14.5f), abs(x)), clamped = min(Vec(14.5f), max(Vec(-14.5f), x));
  const Vec minus_half_size = Vec(-0.5f) * size, high = minus_half_size * size;
  const ErfcFactors f = erfc_factors<1>(size, 0.70710678f, high, fused_multiply_subtract(minus_half_size, size, high));
  const Vec tq = f.t * f.q, scaled_x_gaussian = clamped * f.gaussian;
  const Vec lower = tq * scaled_x_gaussian;                         // x Phi(-|x|)
  const Vec tail = tq * f.gaussian;                                 // Phi(-|x|)
  const Vec slope = scaled_x_gaussian * Vec(0x1p-64f * 0.79788456f);  // x phi(x)
  const auto positive = x > Vec(0.0f);
  return {select(positive, x - lower, lower),
          select(positive, Vec(1.0f), Vec(0.0f)) + select(positive, slope - tail, slope + tail)};
}

}  // namespace ACTLAB_ISA
}  // namespace actlab::simd

// The vector math of each level over arrays, for tests that check every level the CPU has:
// out[i] = f(x[i]) for i < n, through that level's Vec (masked at the end). Call it through
// ACTLAB_ISA_DISPATCH(simd, evaluate(function, n, out, x)).
namespace actlab::simd {
enum class MathFunction { exp, expm1, log1p_of_unit, log1p_of_exp_minus, erfc, tanh };
#define ACTLAB_DECLARE_VECTOR_MATH(level) \
  namespace level {                       \
  void evaluate(MathFunction function, std::int64_t n, float* out, const float* x);     \
  }
ACTLAB_DECLARE_VECTOR_MATH(avx512)
ACTLAB_DECLARE_VECTOR_MATH(avx2)
ACTLAB_DECLARE_VECTOR_MATH(baseline)
#undef ACTLAB_DECLARE_VECTOR_MATH
}  // namespace actlab::simd
