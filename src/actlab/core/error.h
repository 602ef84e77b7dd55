// Errors raised by actlab.
//
// Every precondition failure throws actlab::Error (a std::runtime_error). Messages name the
// operation, the offending values and, where possible, how to fix the call.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>

namespace actlab {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace actlab

// ACTLAB_CHECK(cond, "fmt {}", args...): throws actlab::Error when cond is false.
#define ACTLAB_CHECK(cond, ...)     \
  do {                              \
    if (!(cond)) [[unlikely]] {     \
      ::actlab::fail(__VA_ARGS__);  \
    }                               \
  } while (false)
