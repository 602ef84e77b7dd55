// An experiment's output folder, claimed by one run of `actlab compare` before any training.
//
// OutputFolder(path, existing) guarantees, or throws Error naming the path and the fix:
//   - the path can hold an experiment: it is a folder or can be created as one (not a file, not
//     under a read-only or virtual file system, its name not too long), and the models/ and
//     checkpoints/ inside it are folders where they exist;
//   - no other process uses it: it holds an exclusive flock on PATH/.lock, which records its pid;
//     a second claim is refused with the holder's pid. The lock goes with the object (or with the
//     process, however it ends), and the .lock file with the object;
//   - an earlier experiment in it (any of config.toml, summary.json, metrics.*, report.*,
//     models/, checkpoints/) is kept only as `existing` says: Refuse throws, Resume keeps it to
//     continue, Overwrite removes those files first (and nothing else in the folder).
#pragma once

#include <filesystem>

namespace actlab::experiment {

enum class ExistingExperiment { Refuse, Resume, Overwrite };

class OutputFolder {
 public:
  OutputFolder(std::filesystem::path path, ExistingExperiment existing);
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int lock_fd_ = -1;
};

}  // namespace actlab::experiment
