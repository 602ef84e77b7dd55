// The vector math of the level this file is compiled for over arrays, for the tests (simd.h).
#include "actlab/activations/simd.h"

namespace actlab::simd {
inline namespace ACTLAB_ISA {

void evaluate(MathFunction function, std::int64_t n, float* out, const float* x) {
  for (std::int64_t i = 0; i < n; i += Vec::kLanes) {
    const Vec v = load_n<Vec>(x + i, n - i);
    const Vec y = [&] {
      switch (function) {
        case MathFunction::exp: return exp(v);
        case MathFunction::expm1: return expm1(v);
        case MathFunction::log1p_of_unit: return log1p_of_unit(v);
        case MathFunction::log1p_of_exp_minus: return log1p_of_exp_minus(v);
        case MathFunction::erfc: return erfc(v);
        case MathFunction::tanh: return tanh(v);
      }
      return v;
    }();
    store_n(out + i, y, n - i);
  }
}
}  // namespace ACTLAB_ISA
}  // namespace actlab::simd
