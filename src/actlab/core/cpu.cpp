#include "actlab/core/cpu.h"

#include <cstdlib>
#include <string>

#include "actlab/core/error.h"

namespace actlab {
namespace {

constexpr Isa kLevels[] = {Isa::baseline, Isa::avx2, Isa::avx512};

bool supported(Isa isa) {
#if ACTLAB_ISA_PASSES
  switch (isa) {
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && supported(Isa::avx2);
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::baseline:
      return true;
  }
  return false;
#else
  return isa == Isa::baseline;
#endif
}

// -1: no guard on this thread.
thread_local int guarded = -1;

Isa process_isa() {
  static const Isa chosen = [] {
    const char* requested = std::getenv("ACTLAB_ISA");
    return requested != nullptr && *requested != '\0' ? parse_isa(requested) : best_isa();
  }();
  return chosen;
}

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    case Isa::baseline: return "baseline";
  }
  return "unknown";
}

std::string_view isa_description(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "AVX-512, 16 floats a vector";
    case Isa::avx2: return "AVX2 and FMA, 8 floats a vector";
    case Isa::baseline:
#if defined(__ARM_NEON)
      return "NEON, 4 floats a vector";
#elif defined(__SSE2__)
      return "SSE2, 4 floats a vector";
#else
      return "the compiler's generic vectors, 4 floats a vector";
#endif
  }
  return "unknown";
}

Isa best_isa() {
  static const Isa best = [] {
#if ACTLAB_ISA_PASSES
    __builtin_cpu_init();  // may run in a static initializer, before libgcc's own
#endif
    Isa found = Isa::baseline;
    for (Isa isa : kLevels)
      if (supported(isa)) found = isa;
    return found;
  }();
  return best;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa isa : kLevels)
    if (supported(isa)) out.push_back(isa);
  return out;
}

Isa parse_isa(std::string_view name) {
  for (Isa isa : kLevels) {
    if (name != isa_name(isa)) continue;
    ACTLAB_CHECK(supported(isa), "ACTLAB_ISA={}: this CPU or build lacks that level (the best here is {}); "
                 "ask for {} or a lower level, or unset ACTLAB_ISA", name, isa_name(best_isa()), isa_name(best_isa()));
    return isa;
  }
  fail("ACTLAB_ISA={}: unknown level; use avx512, avx2 or baseline (the best here is {})", name,
       isa_name(best_isa()));
}

Isa active_isa() { return guarded >= 0 ? static_cast<Isa>(guarded) : process_isa(); }

IsaGuard::IsaGuard(Isa isa) : previous_(guarded) {
  ACTLAB_CHECK(supported(isa), "IsaGuard: level {} is not available here (the best is {})", isa_name(isa),
               isa_name(best_isa()));
  guarded = static_cast<int>(isa);
}
IsaGuard::~IsaGuard() { guarded = previous_; }

}  // namespace actlab
