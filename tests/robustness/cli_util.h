// Helpers for the robustness tests: the actlab program as a child process with its output
// captured and its run time bounded, and a scratch folder.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "data/data_test_util.h"

namespace actlab::robustness {

namespace fs = std::filesystem;
using test::TempDir;

inline fs::path actlab_program() { return fs::read_symlink("/proc/self/exe").parent_path() / "actlab"; }

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A running child: `program args...` with stdout and stderr into one file.
class Child {
 public:
  Child(std::vector<std::string> args, const fs::path& output, const std::string& program = actlab_program().string())
      : output_(output) {
    args.insert(args.begin(), program);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int number) const { ::kill(pid_, number); }

  // The exit status (128 + N when ended by signal N), or -1 after `limit` (the child is then killed).
  int wait(std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::string output() const { return read_text(output_); }

 private:
  fs::path output_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

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
