#include "actlab/ops/gemm.h"

#include <cblas.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "actlab/core/cpu.h"
#include "actlab/core/parallel.h"
#include "actlab/core/tensor.h"

namespace actlab {
namespace {

// Restores the thread count and mode a test changes.
class ThreadSettings {
 public:
  ThreadSettings() : threads_(num_threads()), deterministic_(deterministic()) {}
  ~ThreadSettings() {
    set_num_threads(threads_);
    set_deterministic(deterministic_);
  }

 private:
  int threads_;
  bool deterministic_;
};

struct Product {
  bool trans_a, trans_b;
  std::int64_t m, n, k;
};

// C = op(A) op(B) through ops::gemm, with A and B stored with padded leading dimensions.
std::vector<float> gemm_of(const Product& p, const std::vector<float>& a, std::int64_t lda, const std::vector<float>& b,
                           std::int64_t ldb) {
  std::vector<float> c(static_cast<std::size_t>(p.m * p.n), 7.0f);
  ops::gemm<float>(p.trans_a, p.trans_b, p.m, p.n, p.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), p.n);
  return c;
}

TEST(Gemm, DeterministicTilesComputeTheProductAndIgnoreTheThreadCount) {
  ThreadSettings restore;
  Generator gen(3);
  // Sizes that leave partial tiles in both directions, in every transpose combination.
  for (const Product p : {Product{false, false, 300, 200, 70}, Product{true, false, 257, 129, 33},
                          Product{false, true, 130, 385, 64}, Product{true, true, 520, 140, 16}}) {
    const std::int64_t a_rows = p.trans_a ? p.k : p.m, a_cols = p.trans_a ? p.m : p.k;
    const std::int64_t b_rows = p.trans_b ? p.n : p.k, b_cols = p.trans_b ? p.k : p.n;
    const std::int64_t lda = a_cols + 3, ldb = b_cols + 5;
    const auto a = randn({a_rows, lda}, gen).to_vector<float>(), b = randn({b_rows, ldb}, gen).to_vector<float>();

    set_deterministic(false);
    const auto reference = gemm_of(p, a, lda, b, ldb);
    set_deterministic(true);
    set_num_threads(1);
    const auto one = gemm_of(p, a, lda, b, ldb);
    set_num_threads(2);
    const auto two = gemm_of(p, a, lda, b, ldb);

    EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0)
        << p.m << "x" << p.n << "x" << p.k << ": results differ between 1 and 2 threads";
    for (std::size_t i = 0; i < one.size(); ++i)
      ASSERT_NEAR(one[i], reference[i], 1e-4f * (1.0f + std::abs(reference[i]))) << "element " << i;
  }
}

// OpenBLAS falls back to its SSE3 kernels on CPUs newer than itself; actlab makes it choose again.
TEST(Gemm, BlasRunsTheKernelsOfThisCpusLevel) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) GTEST_SKIP() << "OPENBLAS_CORETYPE chooses the kernels";
  if (best_isa() == Isa::baseline) GTEST_SKIP() << "no level above the baseline here";
  EXPECT_NE(std::string_view(openblas_get_corename()), "Prescott") << openblas_get_config();
}

}  // namespace
}  // namespace actlab
