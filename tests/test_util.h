// Helpers shared by the tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "actlab/core/error.h"

namespace actlab::testing {

// The message of the actlab::Error that `fn` throws; fails the test when it throws none.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected actlab::Error";
  return "";
}

}  // namespace actlab::testing
