// Numbers from text, for every spec and setting parser: the whole text must be the number (an
// optional leading '+' allowed, no spaces). Each caller words its own error from the nullopt.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace actlab {

namespace detail {
template <class T>
std::optional<T> parse_whole(std::string_view text) {
  if (text.size() > 1 && text.front() == '+' && text[1] != '-') text.remove_prefix(1);
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end) return std::nullopt;
  return value;
}
}  // namespace detail

// "1e-3", "0.5", "inf", "nan" (callers that need a finite value check std::isfinite).
inline std::optional<double> parse_number(std::string_view text) { return detail::parse_whole<double>(text); }
// "42", "-7"; nullopt also when out of range.
inline std::optional<std::int64_t> parse_integer(std::string_view text) { return detail::parse_whole<std::int64_t>(text); }

}  // namespace actlab
