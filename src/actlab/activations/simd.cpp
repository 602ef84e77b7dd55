// SLEEF's tanh and erf behind simd::Vec (see simd.h), at the width of the level this file is
// compiled for (the rest of the vector math is inline in simd.h).
#include "actlab/activations/simd.h"

#include <sleef.h>

namespace actlab::simd {
inline namespace ACTLAB_ISA {
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

void evaluate(MathFunction function, std::int64_t n, float* out, const float* x) {
  for (std::int64_t i = 0; i < n; i += Vec::kLanes) {
    const Vec v = load_n<Vec>(x + i, n - i);
    const Vec y = [&] {
      switch (function) {
        case MathFunction::exp: return exp(v);
        case MathFunction::expm1: return expm1(v);
        case MathFunction::log1p_of_unit: return log1p_of_unit(v);
        case MathFunction::erfc: return erfc(v);
      }
      return v;
    }();
    store_n(out + i, y, n - i);
  }
}
}  // namespace ACTLAB_ISA
}  // namespace actlab::simd
