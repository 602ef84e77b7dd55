// The instruction-set levels (core/cpu.h) as this build and CPU see them, and the CPU's name
// (core/parallel.h) as reports print it.
#include "actlab/core/cpu.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <sstream>
#include <string>
#include <vector>

#include "actlab/activations/simd.h"
#include "actlab/core/parallel.h"

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

std::string model_of(const std::string& cpuinfo) {
  std::istringstream in(cpuinfo);
  return cpu_model_from(in);
}

TEST(CpuModel, NamesX86ByModelNameAndArmByImplementerAndPart) {
  EXPECT_EQ(model_of("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu\n"),
            "AMD EPYC 9R14");
  // aarch64 Linux: no model name, one block per core.
  const std::string neoverse = "processor\t: 0\nBogoMIPS\t: 243.75\nCPU implementer\t: 0x41\nCPU architecture: 8\n"
                               "CPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\nprocessor\t: 1\n"
                               "CPU implementer\t: 0x41\nCPU part\t: 0xd0c\n";
  EXPECT_EQ(model_of(neoverse), "ARM Neoverse-N1");
  EXPECT_EQ(model_of("CPU implementer\t: 0x61\nCPU part\t: 0x022\n"), "Apple part 0x022");
  EXPECT_EQ(model_of("CPU implementer\t: 0x41\nCPU part\t: 0xfff\n"), "ARM part 0xfff");
  EXPECT_EQ(model_of("CPU implementer\t: 0x99\n"), "implementer 0x99");
  EXPECT_EQ(model_of(""), "unknown");
  EXPECT_EQ(model_of("model name:\n"), "");
}

TEST(CpuModel, ThisMachineHasAName) { EXPECT_NE(cpu_model(), "unknown"); }

}  // namespace
}  // namespace actlab
