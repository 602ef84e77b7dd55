// The instruction-set levels (core/cpu.h) as this build and CPU see them.
#include "actlab/core/cpu.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "actlab/activations/simd.h"

namespace actlab {
namespace {

TEST(Isa, BaselineIsAvailableAndDescribesItsVectorWidth) {
  const std::vector<Isa> levels = available_isas();
  ASSERT_FALSE(levels.empty());
  EXPECT_EQ(levels.front(), Isa::baseline);
  // This file is compiled for the baseline, so simd::Vec is the baseline's vector.
  const std::string description(isa_description(Isa::baseline));
  EXPECT_NE(description.find(fmt::format("{} floats", simd::Vec::kLanes)), std::string::npos) << description;
#if defined(__aarch64__)
  EXPECT_NE(description.find("NEON"), std::string::npos) << description;
  EXPECT_EQ(levels.size(), 1u) << "aarch64 builds the baseline level only";
#elif defined(__x86_64__)
  EXPECT_NE(description.find("SSE2"), std::string::npos) << description;
#endif
}

TEST(Isa, EveryAvailableLevelParsesByName) {
  for (Isa isa : available_isas()) EXPECT_EQ(parse_isa(isa_name(isa)), isa);
  EXPECT_EQ(best_isa(), available_isas().back());
}

}  // namespace
}  // namespace actlab
