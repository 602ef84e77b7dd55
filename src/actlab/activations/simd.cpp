// The AVX-512 float functions behind simd::Vec16 (see simd.h): SLEEF's, or a faster formula of
// stated accuracy where SLEEF's is slow. The maskless forms of some intrinsics are written masked
// (all lanes): GCC 12 warns spuriously about the maskless ones (-Wuninitialized).
#include "actlab/activations/simd.h"

#include <array>

#if ACTLAB_HAVE_VEC16
#include <sleef.h>

namespace actlab::simd {
namespace {

// ln 2 split in two (Cody-Waite): kLn2High has trailing zero bits, so n kLn2High is exact for
// the exponents n that occur.
constexpr float kLn2High = 0.693145751953125f, kLn2Low = 1.42860682030941723212e-6f;

// 1 / k! for the Taylor series of exp and expm1.
constexpr auto kInverseFactorial = [] {
  std::array<float, 13> c{};
  double f = 1;
  c[0] = 1;
  for (int k = 1; k <= 12; ++k) c[k] = static_cast<float>(1 / (f *= k));
  return c;
}();

}  // namespace

// e^x = 2^n e^r, n = round(x / log 2), r = x - n log 2 in two parts (Cody-Waite), |r| <= 0.347;
// e^r by its Taylor series to r^7 (truncation error 5e-9 relative), 2^n by scalef, which rounds
// once into the subnormal range and gives inf past FLT_MAX. x is clamped to [-104, 89] first
// (e^x is 0 and inf beyond), which keeps r finite for x = +-inf; NaN passes through. About
// 1 ulp, in fewer operations than SLEEF's expf.
Vec16 exp(Vec16 x) {
  const Vec16 clamped = max(Vec16(-104.0f), min(Vec16(89.0f), x));
  const Vec16 scaled = clamped * Vec16(1.44269504f);
  const Vec16 n = _mm512_mask_roundscale_ps(scaled.v, 0xFFFF, scaled.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const Vec16 r = (clamped - n * Vec16(kLn2High)) - n * Vec16(kLn2Low);
  Vec16 p(kInverseFactorial[7]);
  for (int k = 6; k >= 0; --k) p = p * r + Vec16(kInverseFactorial[k]);
  return _mm512_mask_scalef_ps(p.v, 0xFFFF, p.v, n.v);
}
// SLEEF's expm1 costs four exps. exp(x) - 1 loses at most 2 bits for |x| >= 0.7; below, the
// Taylor series to x^12 is exact to 3e-11 relative. About 2 ulp in all.
Vec16 expm1(Vec16 x) {
  Vec16 series = Vec16(kInverseFactorial[12]);
  for (int k = 11; k >= 1; --k) series = series * x + Vec16(kInverseFactorial[k]);
  return select(abs(x) < Vec16(0.7f), series * x, exp(x) - Vec16(1.0f));
}
// log1p(x) = log(u) + e / u with u = 1 + x rounded and e its exact rounding error (TwoSum);
// log(u) = k log 2 + log(1 + f), 1 + f = u / 2^k in [sqrt(2)/2, sqrt(2)), by FreeBSD's logf
// (s = f / (2 + f), a degree-8 polynomial in s, error below 2^-34 before rounding). About 1 ulp,
// without the double-float arithmetic of SLEEF's log1pf.
Vec16 log1p(Vec16 x) {
  const Vec16 one(1.0f);
  const Vec16 u = x + one;
  const Vec16 rounded_x = u - one;
  const Vec16 error = (one - (u - rounded_x)) + (x - rounded_x);
  Vec16 mantissa = _mm512_mask_getmant_ps(u.v, 0xFFFF, u.v, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
  Vec16 k = _mm512_mask_getexp_ps(u.v, 0xFFFF, u.v);
  const __mmask16 high = _mm512_cmp_ps_mask(mantissa.v, _mm512_set1_ps(1.41421356f), _CMP_GT_OQ);
  mantissa = _mm512_mask_mul_ps(mantissa.v, high, mantissa.v, _mm512_set1_ps(0.5f));
  k = _mm512_mask_add_ps(k.v, high, k.v, one.v);
  const Vec16 f = mantissa - one;
  const Vec16 s = f / (Vec16(2.0f) + f);
  const Vec16 z = s * s, w = z * z;
  const Vec16 r = z * (Vec16(0.66666662693f) + w * Vec16(0.28498786688f)) +
                  w * (Vec16(0.40000972152f) + w * Vec16(0.24279078841f));
  const Vec16 half_f_squared = Vec16(0.5f) * f * f;
  const Vec16 low_terms = k * Vec16(kLn2Low) + error * reciprocal(u);
  const Vec16 log_u = k * Vec16(kLn2High) - ((half_f_squared - (s * (half_f_squared + r) + low_terms)) - f);
  // u = 0 (x = -1): -inf; u = inf: inf; u < 0 or NaN: NaN.
  const Vec16 special = select(u == Vec16(0.0f), Vec16(-INFINITY), select(u == Vec16(INFINITY), u, Vec16(NAN)));
  return select((u > Vec16(0.0f)) & (u < Vec16(INFINITY)), log_u, special);
}
Vec16 tanh(Vec16 x) { return Sleef_tanhf16_u10(x.v); }
Vec16 erf(Vec16 x) { return Sleef_erff16_u10(x.v); }
// erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2), for z >= 0, with fractional error below
// 1.2e-7 everywhere (Numerical Recipes, 6.2 "erfcc"); erfc(-z) = 2 - erfc(z). Four times faster
// than SLEEF's erfc at float accuracy.
Vec16 erfc(Vec16 x) {
  static constexpr float kP[10] = {-1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f,
                                   0.27886807f,  -1.13520398f, 1.48851587f, -0.82215223f, 0.17087277f};
  const Vec16 z = min(Vec16(1e4f), abs(x));  // erfc(1e4) is 0 already; keeps 1 / (1 + z/2) normal
  const Vec16 t = reciprocal(Vec16(1.0f) + Vec16(0.5f) * z);
  Vec16 p = Vec16(kP[9]);
  for (int k = 8; k >= 0; --k) p = p * t + Vec16(kP[k]);
  const Vec16 tail = t * exp(p - z * z);
  return select(x < Vec16(0.0f), Vec16(2.0f) - tail, tail);
}

}  // namespace actlab::simd
#endif
