// The vector float functions behind simd::Vec (see simd.h), one formula for every level: SLEEF's,
// or a faster formula of stated accuracy where SLEEF's is slow. The level's exponent primitives
// (round_to_integer, scale_by_power_of_two, mantissa, exponent) are the only difference.
#include "actlab/activations/simd.h"

#include <array>

#include <sleef.h>

namespace actlab::simd {
inline namespace ACTLAB_ISA {
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
// e^r by its Taylor series to r^7 (truncation error 5e-9 relative), 2^n by scale_by_power_of_two, which rounds
// once into the subnormal range and gives inf past FLT_MAX. x is clamped to [-104, 89] first
// (e^x is 0 and inf beyond), which keeps r finite for x = +-inf; NaN passes through. About
// 1 ulp, in fewer operations than SLEEF's expf.
Vec exp(Vec x) {
  const Vec clamped = max(Vec(-104.0f), min(Vec(89.0f), x));
  const Vec n = round_to_integer(clamped * Vec(1.44269504f));
  const Vec r = (clamped - n * Vec(kLn2High)) - n * Vec(kLn2Low);
  Vec p(kInverseFactorial[7]);
  for (int k = 6; k >= 0; --k) p = p * r + Vec(kInverseFactorial[k]);
  return scale_by_power_of_two(p, n);
}
// SLEEF's expm1 costs four exps. exp(x) - 1 loses at most 2 bits for |x| >= 0.7; below, the
// Taylor series to x^12 is exact to 3e-11 relative. About 2 ulp in all.
Vec expm1(Vec x) {
  Vec series = Vec(kInverseFactorial[12]);
  for (int k = 11; k >= 1; --k) series = series * x + Vec(kInverseFactorial[k]);
  return select(abs(x) < Vec(0.7f), series * x, exp(x) - Vec(1.0f));
}
// log1p(x) = log(u) + e / u with u = 1 + x rounded and e its exact rounding error (TwoSum);
// log(u) = k log 2 + log(1 + f), 1 + f = u / 2^k in [sqrt(2)/2, sqrt(2)), by FreeBSD's logf
// (s = f / (2 + f), a degree-8 polynomial in s, error below 2^-34 before rounding). About 1 ulp,
// without the double-float arithmetic of SLEEF's log1pf.
Vec log1p(Vec x) {
  const Vec one(1.0f);
  const Vec u = x + one;
  const Vec rounded_x = u - one;
  const Vec error = (one - (u - rounded_x)) + (x - rounded_x);
  const auto high = mantissa(u) > Vec(1.41421356f);
  const Vec m = select(high, mantissa(u) * Vec(0.5f), mantissa(u));
  const Vec k = select(high, exponent(u) + one, exponent(u));
  const Vec f = m - one;
  const Vec s = f / (Vec(2.0f) + f);
  const Vec z = s * s, w = z * z;
  const Vec r = z * (Vec(0.66666662693f) + w * Vec(0.28498786688f)) +
                w * (Vec(0.40000972152f) + w * Vec(0.24279078841f));
  const Vec half_f_squared = Vec(0.5f) * f * f;
  const Vec low_terms = k * Vec(kLn2Low) + error * reciprocal(u);
  const Vec log_u = k * Vec(kLn2High) - ((half_f_squared - (s * (half_f_squared + r) + low_terms)) - f);
  // u = 0 (x = -1): -inf; u = inf: inf; u < 0 or NaN: NaN.
  const Vec special = select(u == Vec(0.0f), Vec(-INFINITY), select(u == Vec(INFINITY), u, Vec(NAN)));
  return select((u > Vec(0.0f)) & (u < Vec(INFINITY)), log_u, special);
}
// SLEEF's dispatching entry points for the level's width.
#if defined(__AVX512F__)
Vec tanh(Vec x) { return Sleef_tanhf16_u10(x.v); }
Vec erf(Vec x) { return Sleef_erff16_u10(x.v); }
#elif defined(__AVX2__)
Vec tanh(Vec x) { return Sleef_tanhf8_u10(x.v); }
Vec erf(Vec x) { return Sleef_erff8_u10(x.v); }
#else
Vec tanh(Vec x) { return Sleef_tanhf4_u10(x.v); }
Vec erf(Vec x) { return Sleef_erff4_u10(x.v); }
#endif
// erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2), for z >= 0, with fractional error below
// 1.2e-7 everywhere (Numerical Recipes, 6.2 "erfcc"); erfc(-z) = 2 - erfc(z). Four times faster
// than SLEEF's erfc at float accuracy.
Vec erfc(Vec x) {
  static constexpr float kP[10] = {-1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f,
                                   0.27886807f,  -1.13520398f, 1.48851587f, -0.82215223f, 0.17087277f};
  const Vec z = min(Vec(1e4f), abs(x));  // erfc(1e4) is 0 already; keeps 1 / (1 + z/2) normal
  const Vec t = reciprocal(Vec(1.0f) + Vec(0.5f) * z);
  Vec p = Vec(kP[9]);
  for (int k = 8; k >= 0; --k) p = p * t + Vec(kP[k]);
  const Vec tail = t * exp(p - z * z);
  return select(x < Vec(0.0f), Vec(2.0f) - tail, tail);
}

}  // namespace ACTLAB_ISA
}  // namespace actlab::simd
