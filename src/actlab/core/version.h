// The actlab version, recorded in reports, summaries and model files.
#pragma once

#include <string_view>

namespace actlab {
inline constexpr std::string_view kVersion = "0.1.0";
}
