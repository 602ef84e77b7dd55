// Seeded random numbers.
//
// A Generator is a counter-based Philox4x32-10 stream: the n-th number drawn depends only on the
// seed and on how many numbers were drawn before, never on the thread count. Its whole state is
// (seed, offset), so checkpoints can save and restore it exactly.
#pragma once

#include <array>
#include <cstdint>

namespace actlab {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : seed_(seed) {}

  std::uint64_t seed() const { return seed_; }
  // Number of 128-bit Philox blocks consumed so far.
  std::uint64_t offset() const { return offset_; }
  void set_state(std::uint64_t seed, std::uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }

  // Reserves `blocks` consecutive Philox blocks and returns the first block's counter; callers
  // then evaluate block(counter + i) in any order or on any thread.
  std::uint64_t reserve(std::uint64_t blocks) {
    const std::uint64_t first = offset_;
    offset_ += blocks;
    return first;
  }

  // Four independent 32-bit random words for block `counter`.
  std::array<std::uint32_t, 4> block(std::uint64_t counter) const;

  // Convenience draws for scalar use (each consumes one block).
  double uniform();                                 // [0, 1)
  double normal();                                  // N(0, 1)
  std::int64_t randint(std::int64_t low, std::int64_t high);  // [low, high)

 private:
  std::uint64_t seed_;
  std::uint64_t offset_ = 0;
};

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): the ten
// rounds on the counter words `c` under the key `seed`, written once for any lane type W, a
// 32-bit word (Generator::block) or a vector of them (kernels that draw 16 blocks at once).
// mulhilo(a, m, hi, lo) sets the high and low words of each lane's a * m; key(k) is k in every lane.
template <typename W, typename MulHiLo, typename Key>
void philox_rounds(W& c0, W& c1, W& c2, W& c3, std::uint64_t seed, MulHiLo mulhilo, Key key) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  auto k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    W hi0, lo0, hi1, lo1;
    mulhilo(c0, kMul0, hi0, lo0);
    mulhilo(c2, kMul1, hi1, lo1);
    c0 = hi1 ^ c1 ^ key(k0);
    c1 = lo1;
    c2 = hi0 ^ c3 ^ key(k1);
    c3 = lo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
}

// Converts a 32-bit word to a float in [0, 1) / a double in [0, 1) from two words.
inline float uniform_float(std::uint32_t word) { return static_cast<float>(word >> 8) * 0x1.0p-24f; }
inline double uniform_double(std::uint32_t hi, std::uint32_t lo) {
  return static_cast<double>(((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11) * 0x1.0p-53;
}

// Maps 64 random bits to [0, range) by multiply-shift (Lemire); the bias is below range / 2^64.
inline std::uint64_t bounded(std::uint64_t bits, std::uint64_t range) {
  __extension__ using u128 = unsigned __int128;
  return static_cast<std::uint64_t>((static_cast<u128>(bits) * range) >> 64);
}

// The process-wide generator used when a function is given none (seed 0 unless reseeded).
Generator& default_generator();
void manual_seed(std::uint64_t seed);

}  // namespace actlab
