// The arithmetic activation kernels are written in, for scalars and for 16-lane float vectors.
//
// An activation's formula is one template `template <class V> V f(V x)`; instantiated with
// float/double it is the scalar reference (libm), with simd::Vec16 it is the AVX-512 kernel
// (SLEEF's 1.0-ulp functions, or formulas of similar accuracy; see simd.cpp). Both see the same operations:
//   + - * / and comparisons, select(mask, a, b), min/max, abs, reciprocal, exp, expm1, log1p, tanh,
//   erf, erfc.
// min(a, b) and max(a, b) return b when either is NaN (the AVX-512 rule), so `max(0, x)`
// propagates a NaN x.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#define ACTLAB_HAVE_VEC16 1
#endif

namespace actlab::simd {

// ---- scalars (float, double, long double) ----
template <class T> T select(bool mask, T a, T b) { return mask ? a : b; }
template <class T> T min(T a, T b) { return a < b ? a : b; }
template <class T> T max(T a, T b) { return a > b ? a : b; }
template <class T> T abs(T x) { return std::fabs(x); }
template <class T> bool is_nan(T x) { return std::isnan(x); }
template <class T> T exp(T x) { return std::exp(x); }
template <class T> T expm1(T x) { return std::expm1(x); }
template <class T> T log1p(T x) { return std::log1p(x); }
template <class T> T tanh(T x) { return std::tanh(x); }
template <class T> T erf(T x) { return std::erf(x); }
template <class T> T erfc(T x) { return std::erfc(x); }
// 1 / d for a normal, finite d (the vector form is not exact for 0, inf or subnormals).
template <class T> T reciprocal(T d) { return T(1) / d; }

#if ACTLAB_HAVE_VEC16
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
  float sum() const {
    alignas(64) float lane[kLanes];
    _mm512_store_ps(lane, v);
    float total = 0;
    for (float value : lane) total += value;
    return total;
  }
  float max() const {
    alignas(64) float lane[kLanes];
    _mm512_store_ps(lane, v);
    float best = lane[0];
    for (float value : lane) best = value > best || value != value ? value : best;
    return best;
  }
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
inline Mask16 is_nan(Vec16 x) { return {_mm512_cmp_ps_mask(x.v, x.v, _CMP_UNORD_Q)}; }
// rcp14 and one Newton step: within 2^-28 before rounding (a division rounds to 2^-24).
inline Vec16 reciprocal(Vec16 d) {
  const __m512 r = _mm512_mask_rcp14_ps(d.v, 0xFFFF, d.v);
  return _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d.v, r, _mm512_set1_ps(1.0f)), r);
}
// About 1 ulp: SLEEF's AVX-512 tanh and erf, and faster formulas of stated accuracy for exp, expm1
// (~2 ulp), log1p and erfc (1.2e-7 relative); defined in simd.cpp so that only the library needs
// SLEEF's headers.
Vec16 exp(Vec16 x);
Vec16 expm1(Vec16 x);
Vec16 log1p(Vec16 x);
Vec16 tanh(Vec16 x);
Vec16 erf(Vec16 x);
Vec16 erfc(Vec16 x);
#endif

// ---- loops generic over V: lanes<V>, load_n / store_n (masked at a row's end), horizontal sums ----
template <class V> inline constexpr int lanes = 1;
template <class V, class T> V load_n(const T* p, std::int64_t remaining, T = T(0)) { (void)remaining; return *p; }
template <class T> void store_n(T* p, T value, std::int64_t) { *p = value; }
template <class T> T horizontal_sum(T v) { return v; }
template <class T> T horizontal_max(T v) { return v; }
#if ACTLAB_HAVE_VEC16
template <> inline constexpr int lanes<Vec16> = Vec16::kLanes;
template <> inline Vec16 load_n<Vec16, float>(const float* p, std::int64_t remaining, float fill) {
  return remaining >= Vec16::kLanes ? Vec16::load(p) : Vec16::load(p, static_cast<int>(remaining), fill);
}
inline void store_n(float* p, Vec16 value, std::int64_t remaining) {
  if (remaining >= Vec16::kLanes)
    value.store(p);
  else
    value.store(p, static_cast<int>(remaining));
}
inline float horizontal_sum(Vec16 v) { return v.sum(); }
inline float horizontal_max(Vec16 v) { return v.max(); }
#endif

// ---- shared building blocks, written once for every V ----

// a * b, but 0 where b == 0 even when a is infinite (the limit of x * f(x) as f -> 0).
template <class V> V mul_or_zero(V a, V b) { return select(b == V(0), V(0), a * b); }

// sigmoid(x) = 1 / (1 + e^-x) and sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)), both from one
// e^-|x|: no exponential overflows and the derivative e^-|x| / (1 + e^-|x|)^2 never cancels.
template <class V> struct SigmoidParts {
  V value, derivative;
};
template <class V> SigmoidParts<V> sigmoid_parts(V x) {
  const V e = exp(-abs(x));
  const V r = reciprocal(V(1) + e);
  return {select(x >= V(0), r, e * r), e * r * r};
}
template <class V> V sigmoid(V x) { return sigmoid_parts(x).value; }
template <class V> V sigmoid_derivative(V x) { return sigmoid_parts(x).derivative; }

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|); exact in both tails, NaN-propagating.
template <class V> V softplus(V x) { return max(V(0), x) + log1p(exp(-abs(x))); }

}  // namespace actlab::simd
