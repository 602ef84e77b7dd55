// Helpers for the robustness tests: the actlab program as a child process with its output
// captured and its run time bounded, and a scratch folder.
#pragma once


#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "data/data_test_util.h"

namespace actlab::robustness {

namespace fs = std::filesystem;
using test::Child;
using test::TempDir;
using test::actlab_program;
using test::read_text;

struct Result {
  int status;
  std::string output;
};

// Runs actlab with `args` to its end (at most `limit`), its output kept in `scratch`.
inline Result run_actlab(const std::vector<std::string>& args, const fs::path& scratch,
                         std::chrono::seconds limit = std::chrono::seconds(60)) {
  Child child(args, scratch / "output.txt");
  const int status = child.wait(limit);
  return {status, child.output()};
}

// Waits (at most `limit`) until `ready` holds.
template <typename Predicate>
bool eventually(Predicate ready, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// A program that ended by an error said so and did not crash.
inline void expect_clean_error(const Result& result, const std::string& mentions) {
  EXPECT_EQ(result.status, 2) << result.output;
  EXPECT_NE(result.output.find("actlab: error:"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(mentions), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("terminate called"), std::string::npos) << result.output;
}

}  // namespace actlab::robustness
