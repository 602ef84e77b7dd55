// SLEEF's AVX-512 float functions behind simd::Vec16 (see simd.h).
#include "actlab/activations/simd.h"

#if ACTLAB_HAVE_VEC16
#include <sleef.h>

namespace actlab::simd {

Vec16 exp(Vec16 x) { return Sleef_expf16_u10(x.v); }
Vec16 expm1(Vec16 x) { return Sleef_expm1f16_u10(x.v); }
Vec16 log1p(Vec16 x) { return Sleef_log1pf16_u10(x.v); }
Vec16 tanh(Vec16 x) { return Sleef_tanhf16_u10(x.v); }
Vec16 erf(Vec16 x) { return Sleef_erff16_u10(x.v); }
Vec16 erfc(Vec16 x) { return Sleef_erfcf16_u15(x.v); }

}  // namespace actlab::simd
#endif
