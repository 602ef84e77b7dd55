// The actlab program as a child process of a test: its output captured into a file, its run
// time bounded, killed if the test ends first.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace actlab::test {

namespace fs = std::filesystem;

inline fs::path actlab_program() { return fs::read_symlink("/proc/self/exe").parent_path() / "actlab"; }

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A running child: `program args...` with stdout and stderr into one file.
class Child {
 public:
  // `environment`: variables to set in the child ("NAME=VALUE"), or to remove from it ("NAME").
  Child(std::vector<std::string> args, const fs::path& output, const std::vector<std::string>& environment = {},
        const std::string& program = actlab_program().string())
      : output_(output) {
    args.insert(args.begin(), program);
    pid_ = ::fork();
    if (pid_ == 0) {
      for (const std::string& variable : environment) {
        const auto equals = variable.find('=');
        if (equals == std::string::npos)
          ::unsetenv(variable.c_str());
        else
          ::setenv(variable.substr(0, equals).c_str(), variable.c_str() + equals + 1, 1);
      }
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

}  // namespace actlab::test
