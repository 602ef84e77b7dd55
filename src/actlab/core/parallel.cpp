#include "actlab/core/parallel.h"

#include <cblas.h>

#include <atomic>
#include <fstream>
#include <map>

#include "actlab/core/error.h"

namespace actlab {

namespace {
std::atomic<bool> deterministic_mode{false};
}  // namespace

int num_threads() { return omp_get_max_threads(); }

bool deterministic() { return deterministic_mode.load(std::memory_order_relaxed); }
void set_deterministic(bool enabled) { deterministic_mode.store(enabled, std::memory_order_relaxed); }

void set_num_threads(int n) {
  ACTLAB_CHECK(n >= 1, "set_num_threads: need at least 1 thread, got {}", n);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

std::string cpu_model_from(std::istream& cpuinfo) {
  // ARM's codes, as util-linux's lscpu names them.
  static const std::map<std::string, std::string> kImplementers = {
      {"0x41", "ARM"}, {"0x48", "HiSilicon"}, {"0x4e", "NVIDIA"}, {"0x51", "Qualcomm"}, {"0x61", "Apple"}, {"0xc0", "Ampere"}};
  static const std::map<std::string, std::string> kArmParts = {
      {"0xd03", "Cortex-A53"},  {"0xd05", "Cortex-A55"},  {"0xd07", "Cortex-A57"},  {"0xd08", "Cortex-A72"},
      {"0xd0b", "Cortex-A76"},  {"0xd0c", "Neoverse-N1"}, {"0xd40", "Neoverse-V1"}, {"0xd41", "Cortex-A78"},
      {"0xd49", "Neoverse-N2"}, {"0xd4f", "Neoverse-V2"}};
  std::string implementer, part, line;
  while (std::getline(cpuinfo, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon), value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    key.erase(key.find_last_not_of(" \t") + 1);
    if (key == "model name") return value;
    if (key == "CPU implementer" && implementer.empty()) implementer = value;
    if (key == "CPU part" && part.empty()) part = value;
  }
  if (implementer.empty()) return "unknown";
  const auto vendor = kImplementers.find(implementer);
  const std::string name = vendor == kImplementers.end() ? "implementer " + implementer : vendor->second;
  if (const auto known = kArmParts.find(part); implementer == "0x41" && known != kArmParts.end())
    return name + " " + known->second;
  return part.empty() ? name : name + " part " + part;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  return cpu_model_from(cpuinfo);
}

}  // namespace actlab
