// Instruction-set levels: which vector kernels run on this CPU.
//
// The vector kernels (activations, softmax, convolution) are compiled once per level, each copy in
// a namespace named after it (`ACTLAB_ISA`, set by the build for the file being compiled):
//   avx512    AVX-512 F/BW/VL/DQ, 16-lane floats (x86-64-v4)
//   avx2      AVX2 and FMA, 8-lane floats (x86-64-v3)
//   baseline  what every CPU of the architecture has: SSE2 on x86-64, NEON on aarch64
// At start-up the best level this CPU supports is chosen; the environment variable ACTLAB_ISA
// (avx512, avx2 or baseline) asks for a lower one. Everything else is built for the baseline, so
// the binary runs on any CPU of its architecture.
#pragma once

#include <string_view>
#include <vector>

namespace actlab {

enum class Isa { baseline, avx2, avx512 };

// "baseline", "avx2" or "avx512".
std::string_view isa_name(Isa isa);

// The instructions and vector width of a level on this architecture, e.g. "AVX2 and FMA, 8 floats
// a vector", or for the baseline "SSE2, 4 floats a vector" (x86-64), "NEON, 4 floats a vector"
// (aarch64).
std::string_view isa_description(Isa isa);

// The best level that is both built and supported by this CPU.
Isa best_isa();

// The built levels this CPU supports, lowest first (what tests iterate over).
std::vector<Isa> available_isas();

// The level kernels run at: the innermost IsaGuard on this thread, else ACTLAB_ISA, else
// best_isa(). Throws Error (once per call, until fixed) when ACTLAB_ISA names no level or one
// above best_isa().
Isa active_isa();

// Parses a level name. Throws Error for an unknown name or a level this CPU or build lacks.
Isa parse_isa(std::string_view name);

// While alive, kernels started on this thread run at `isa` (tests compare the levels). Requires
// a level from available_isas(); throws Error otherwise.
class IsaGuard {
 public:
  explicit IsaGuard(Isa isa);
  ~IsaGuard();
  IsaGuard(const IsaGuard&) = delete;
  IsaGuard& operator=(const IsaGuard&) = delete;

 private:
  int previous_;
};

}  // namespace actlab

// The level this file is compiled for: the build sets it for the per-level copies.
#ifndef ACTLAB_ISA
#define ACTLAB_ISA baseline
#endif

// Runs `actlab::area::<level>::call` for the active level (see above): the dispatch from
// baseline code to a kernel compiled per level, e.g.
//   ACTLAB_ISA_DISPATCH(activations, PointwiseLoops<K>::forward(kernel, n, out, x));
#if ACTLAB_ISA_PASSES
#define ACTLAB_ISA_DISPATCH(area, call)                                    \
  do {                                                                     \
    switch (::actlab::active_isa()) {                                      \
      case ::actlab::Isa::avx512: ::actlab::area::avx512::call; break;     \
      case ::actlab::Isa::avx2: ::actlab::area::avx2::call; break;         \
      case ::actlab::Isa::baseline: ::actlab::area::baseline::call; break; \
    }                                                                      \
  } while (false)
#else
#define ACTLAB_ISA_DISPATCH(area, call) ::actlab::area::baseline::call
#endif
