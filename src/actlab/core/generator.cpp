#include "actlab/core/generator.h"

#include <cmath>
#include <numbers>

#include "actlab/core/error.h"

namespace actlab {
std::array<std::uint32_t, 4> Generator::block(std::uint64_t counter) const {
  std::array<std::uint32_t, 4> c = {static_cast<std::uint32_t>(counter),
                                    static_cast<std::uint32_t>(counter >> 32), 0u, 0u};
  philox_rounds(
      c[0], c[1], c[2], c[3], seed_,
      [](std::uint32_t a, std::uint32_t m, std::uint32_t& hi, std::uint32_t& lo) {
        const std::uint64_t product = static_cast<std::uint64_t>(a) * m;
        hi = static_cast<std::uint32_t>(product >> 32);
        lo = static_cast<std::uint32_t>(product);
      },
      [](std::uint32_t k) { return k; });
  return c;
}

double Generator::uniform() {
  const auto words = block(reserve(1));
  return uniform_double(words[0], words[1]);
}

double Generator::normal() {
  const auto words = block(reserve(1));
  // Box-Muller; 1 - u keeps the log argument in (0, 1].
  const double u1 = 1.0 - uniform_double(words[0], words[1]);
  const double u2 = uniform_double(words[2], words[3]);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::int64_t Generator::randint(std::int64_t low, std::int64_t high) {
  ACTLAB_CHECK(low < high, "randint: empty range [{}, {})", low, high);
  const auto words = block(reserve(1));
  const std::uint64_t bits = (static_cast<std::uint64_t>(words[0]) << 32) | words[1];
  const auto range = static_cast<std::uint64_t>(high - low);
  return low + static_cast<std::int64_t>(bounded(bits, range));
}

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(std::uint64_t seed) { default_generator().set_state(seed, 0); }

}  // namespace actlab
