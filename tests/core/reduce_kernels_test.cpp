// The blocked sums (ops/reduce_kernels.h) at every instruction-set level: every length around the
// partial-sum width and the block size, at every alignment, against a long double reference; and
// the tensor reductions built on them agree at every level.
#include "actlab/ops/reduce_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "actlab/core/tensor.h"

namespace actlab {
namespace {

template <class T>
void check_sums(std::int64_t offset, std::int64_t n) {
  std::vector<T> storage(static_cast<std::size_t>(offset + n));
  long double sum = 0, squares = 0, size = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    // Mixed signs and magnitudes, exact in every T.
    const T v = static_cast<T>(((i * 37) % 101) - 50) / T(4);
    storage[static_cast<std::size_t>(offset + i)] = v;
    sum += static_cast<long double>(v);
    squares += static_cast<long double>(v) * static_cast<long double>(v);
    size += std::fabs(static_cast<long double>(v));
  }
  const T* x = storage.data() + offset;
  double total = 1;  // added to, not overwritten
  ACTLAB_ISA_DISPATCH(ops::kernels, add_sum<T>(n, x, total));
  // Each float block sums at most kSumBlock terms of |v| <= 12.5: far below 2^24 / 4, so exact.
  EXPECT_EQ(total, 1 + static_cast<double>(sum))
      << "n " << n << " offset " << offset << " size " << static_cast<double>(size);
  if constexpr (std::is_floating_point_v<T>) {
    double total_squares = 0;
    ACTLAB_ISA_DISPATCH(ops::kernels, add_sum_of_squares<T>(n, x, total_squares));
    EXPECT_EQ(total_squares, static_cast<double>(squares)) << "n " << n << " offset " << offset;
  }
}

template <class T>
void check_lengths() {
  constexpr std::int64_t kWays = ops::kernels::kPartialBytes / static_cast<std::int64_t>(sizeof(T));
  constexpr std::int64_t kBlock = ops::kernels::kSumBlock;
  for (std::int64_t offset = 0; offset < 64 / static_cast<std::int64_t>(sizeof(T)); offset += 3)
    for (std::int64_t n : {std::int64_t{0}, std::int64_t{1}, kWays - 1, kWays, kWays + 1, 3 * kWays + 5, kBlock - 1,
                           kBlock, kBlock + 1, 3 * kBlock + kWays + 7})
      check_sums<T>(offset, n);
}

TEST(ReduceKernels, SumsExactlyAtEveryLevelLengthAndAlignment) {
  for (const Isa isa : available_isas()) {
    const IsaGuard level(isa);
    SCOPED_TRACE(std::string(isa_name(isa)));
    check_lengths<float>();
    check_lengths<double>();
    check_lengths<std::int64_t>();
  }
}

// Rounding: float blocks of random normals against the double sum, within a few float ulps of
// the sum of magnitudes, at every level.
TEST(ReduceKernels, FloatSumsAreAccurateAtEveryLevel) {
  const Tensor x = randn({1 << 20});
  const double reference = x.to(kFloat64).sum().item();
  const double magnitude = x.abs().to(kFloat64).sum().item();
  for (const Isa isa : available_isas()) {
    const IsaGuard level(isa);
    EXPECT_NEAR(x.sum().item(), reference, 1e-6 * magnitude) << isa_name(isa);
  }
}

}  // namespace
}  // namespace actlab
