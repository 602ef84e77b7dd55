#include "actlab/experiment/output_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "actlab/core/error.h"

namespace actlab::experiment {
namespace {

namespace fs = std::filesystem;

// What `actlab compare` writes into its output folder.
constexpr std::array<std::string_view, 9> kExperimentEntries = {
    "config.toml", "summary.json", "metrics.jsonl", "metrics.csv", "report.md", "report.html", "models", "checkpoints",
    "run-metrics"};

std::string holder_of(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string pid(text, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

bool same_file(int fd, const fs::path& path) {
  struct stat held {}, named {};
  return ::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
         held.st_ino == named.st_ino;
}

// An exclusive lock on `lock`, which then names this process's pid. A holder that ends removes
// the file; when that happens between our open and our lock, the lock taken is on a removed file,
// so it is taken again on the new one.
int take_lock(const fs::path& lock, const fs::path& folder) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ACTLAB_CHECK(fd >= 0, "cannot use {} as the output folder: cannot create {} ({}); choose a writable --out",
                 folder.string(), lock.string(), std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      const std::string holder = holder_of(fd);
      ::close(fd);
      ACTLAB_CHECK(error != EWOULDBLOCK,
                   "{} is in use by another actlab process (pid {}, lock file {}); wait for it to finish, or choose "
                   "another --out", folder.string(), holder, lock.string());
      fail("cannot lock {}: {}", lock.string(), std::strerror(error));
    }
    if (same_file(fd, lock)) {
      const std::string pid = fmt::format("{}\n", ::getpid());
      ACTLAB_CHECK(::ftruncate(fd, 0) == 0 && ::pwrite(fd, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size()),
                   "cannot use {} as the output folder: cannot write {} ({}); is the disk full?", folder.string(),
                   lock.string(), std::strerror(errno));
      return fd;
    }
    ::close(fd);
  }
  fail("cannot lock {}: other processes keep replacing it", lock.string());
}

std::vector<std::string> experiment_entries(const fs::path& folder) {
  std::vector<std::string> found;
  std::error_code error;
  for (const std::string_view entry : kExperimentEntries)
    if (fs::exists(fs::symlink_status(folder / entry, error))) found.emplace_back(entry);
  return found;
}

// Removes the lock file while still holding it, so no one else takes the file away, then unlocks.
void release_lock(const fs::path& lock, int fd) {
  ::unlink(lock.c_str());
  ::close(fd);
}

}  // namespace

OutputFolder::OutputFolder(fs::path path, ExistingExperiment existing) : path_(std::move(path)) {
  std::error_code error;
  const fs::file_status status = fs::status(path_, error);
  ACTLAB_CHECK(!fs::exists(status) || fs::is_directory(status),
               "--out {} is a file, not a folder; choose a folder for the experiment's outputs", path_.string());
  fs::create_directories(path_, error);
  ACTLAB_CHECK(!error, "cannot create the output folder {}: {}; choose another --out", path_.string(),
               error.message());
  lock_fd_ = take_lock(path_ / ".lock", path_);
  try {
    for (const char* folder : {"models", "checkpoints"}) {
      const fs::path inside = path_ / folder;
      ACTLAB_CHECK(!fs::exists(fs::symlink_status(inside, error)) || fs::is_directory(inside, error),
                   "{} is a file, but the experiment keeps its {} there; move it away or choose another --out",
                   inside.string(), folder);
    }
    const std::vector<std::string> found = experiment_entries(path_);
    if (found.empty() || existing == ExistingExperiment::Resume) return;
    ACTLAB_CHECK(existing == ExistingExperiment::Overwrite,
                 "{} already holds an experiment ({}); continue it with `actlab compare --resume {}`, replace it with "
                 "--overwrite, or choose another --out",
                 path_.string(), fmt::join(found, ", "), path_.string());
    for (const std::string& entry : found) {
      fs::remove_all(path_ / entry, error);
      ACTLAB_CHECK(!error, "--overwrite: cannot remove {}: {}", (path_ / entry).string(), error.message());
    }
  } catch (...) {
    release_lock(path_ / ".lock", lock_fd_);
    throw;
  }
}

OutputFolder::~OutputFolder() { release_lock(path_ / ".lock", lock_fd_); }

}  // namespace actlab::experiment
