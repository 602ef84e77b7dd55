#include "actlab/core/failpoint.h"

#include <csignal>
#include <cstdlib>
#include <string>

namespace actlab {
namespace {

struct Armed {
  std::string name;
  long remaining = 0;  // passes left before the kill; 0: disarmed
};

Armed armed_from_environment() {
  const char* spec = std::getenv("ACTLAB_FAILPOINT");
  if (spec == nullptr) return {};
  const std::string text(spec);
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return {text, 1};
  const long count = std::strtol(text.c_str() + colon + 1, nullptr, 10);
  return {text.substr(0, colon), count > 0 ? count : 1};
}

}  // namespace

void failpoint(std::string_view name) {
  static Armed armed = armed_from_environment();
  if (armed.remaining == 0 || name != armed.name) return;
  if (--armed.remaining == 0) std::raise(SIGKILL);
}

}  // namespace actlab
