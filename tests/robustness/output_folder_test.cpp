// The output folder of actlab compare: one run at a time (a lock naming the holder), no silent
// mixing with an earlier experiment (--resume or --overwrite), every bad path refused before
// training, SIGTERM handled like Ctrl-C, and no partial file left when the disk fills up.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <csignal>

#include "actlab/experiment/observers.h"
#include "actlab/experiment/output_folder.h"
#include "actlab/io/safetensors.h"
#include "robustness/cli_util.h"
#include "test_util.h"

namespace actlab::robustness {
namespace {

using actlab::testing::error_of;

std::vector<std::string> tiny_run(const fs::path& out, const std::string& activation = "relu") {
  return {"compare", "--data", "spirals", "--model", "mlp:8", "--activations", activation, "--epochs", "1",
          "--threads", "1", "--diagnostics-every", "0", "--out", out.string()};
}

// While alive, files this process writes may not grow past `bytes` (a full disk without
// privileges); writes past it fail instead of raising SIGXFSZ.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) : handler_(std::signal(SIGXFSZ, SIG_IGN)) {
    ::getrlimit(RLIMIT_FSIZE, &previous_);
    rlimit small = previous_;
    small.rlim_cur = bytes;
    applied_ = ::setrlimit(RLIMIT_FSIZE, &small) == 0;
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  bool applied() const { return applied_; }

 private:
  rlimit previous_{};
  void (*handler_)(int);
  bool applied_ = false;
};

std::size_t lines_of(const fs::path& path) {
  const std::string text = read_text(path);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(RobustOutput, SecondRunIntoTheSameFolderIsRefusedWithTheHoldersPid) {
  TempDir dir;
  const fs::path out = dir / "out";
  // Long enough to be running while the second one starts; SIGTERM ends it early.
  Child first({"compare", "--data", "spirals", "--model", "mlp:256x4", "--activations", "relu", "--epochs", "500",
               "--threads", "1", "--diagnostics-every", "0", "--checkpoint-every", "20", "--out", out.string()},
              dir / "first.txt");
  ASSERT_TRUE(eventually([&] { return fs::exists(out / "checkpoints"); })) << first.output();
  EXPECT_EQ(read_text(out / ".lock"), fmt::format("{}\n", first.pid()));

  const Result second = run_actlab(tiny_run(out), dir.path());
  expect_clean_error(second, fmt::format("in use by another actlab process (pid {}", first.pid()));

  // SIGTERM is handled like Ctrl-C: the run checkpoints and says how to continue.
  first.signal(SIGTERM);
  EXPECT_EQ(first.wait(), 128 + SIGTERM);
  const std::string said = first.output();
  EXPECT_NE(said.find("continue with: actlab compare --resume " + out.string()), std::string::npos) << said;
  EXPECT_FALSE(fs::is_empty(out / "checkpoints"));
  EXPECT_NE(read_text(out / "summary.json").find("interrupted"), std::string::npos);
  EXPECT_FALSE(fs::exists(out / ".lock"));  // released
}

TEST(RobustOutput, ExistingExperimentNeedsResumeOrOverwrite) {
  TempDir dir;
  const fs::path out = dir / "out";
  ASSERT_EQ(run_actlab(tiny_run(out), dir.path()).status, 0);
  const std::size_t metrics_lines = lines_of(out / "metrics.csv");
  ASSERT_TRUE(fs::exists(out / "models/relu-seed1.safetensors"));

  expect_clean_error(run_actlab(tiny_run(out, "tanh"), dir.path()), "already holds an experiment");
  EXPECT_EQ(lines_of(out / "metrics.csv"), metrics_lines);  // untouched

  fs::create_directories(out / "notes");  // not the experiment's: kept
  std::vector<std::string> overwrite = tiny_run(out, "tanh");
  overwrite.push_back("--overwrite");
  const Result replaced = run_actlab(overwrite, dir.path());
  ASSERT_EQ(replaced.status, 0) << replaced.output;
  EXPECT_FALSE(fs::exists(out / "models/relu-seed1.safetensors"));  // no stale model
  EXPECT_TRUE(fs::exists(out / "models/tanh-seed1.safetensors"));
  EXPECT_EQ(lines_of(out / "metrics.csv"), metrics_lines);  // not appended to
  EXPECT_EQ(read_text(out / "summary.json").find("\"relu\""), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "notes"));

  std::vector<std::string> both = tiny_run(out);
  both.insert(both.end(), {"--overwrite", "--resume", out.string()});
  EXPECT_NE(run_actlab(both, dir.path()).status, 0);
}

TEST(RobustOutput, BadOutputPathsAreRefusedBeforeTraining) {
  TempDir dir;
  test::write_file(dir / "file", {1});
  fs::create_directories(dir / "with_models_file");
  test::write_file(dir / "with_models_file/models", {1});
  const std::vector<std::pair<fs::path, std::string>> cases = {
      {dir / "file", "is a file, not a folder"},
      {"/proc/actlab-robustness-out", "cannot create the output folder"},
      {dir / std::string(300, 'x'), "File name too long"},
      {dir / "with_models_file", "with_models_file/models is a file"},
  };
  for (const auto& [out, message] : cases) {
    const Result result = run_actlab(tiny_run(out), dir.path());
    expect_clean_error(result, message);
    EXPECT_EQ(result.output.find("epoch"), std::string::npos) << "trained before failing: " << result.output;
  }
}

TEST(RobustOutput, LockIsReleasedAndRetaken) {
  TempDir dir;
  {
    const experiment::OutputFolder folder(dir / "out", experiment::ExistingExperiment::Refuse);
    EXPECT_NE(error_of([&] { experiment::OutputFolder(dir / "out", experiment::ExistingExperiment::Refuse); })
                  .find(fmt::format("pid {}", ::getpid())),
              std::string::npos);
  }
  EXPECT_FALSE(fs::exists(dir / "out/.lock"));
  const experiment::OutputFolder again(dir / "out", experiment::ExistingExperiment::Refuse);
  EXPECT_TRUE(fs::exists(dir / "out/.lock"));
}

// A full disk, as a file-size limit: the writers fail with an error and leave no temporary file.
TEST(RobustOutput, FullDiskLeavesNoPartialFile) {
  TempDir dir;
  std::string atomic, tensors;
  {
    const FileSizeLimit limit(64 * 1024);
    ASSERT_TRUE(limit.applied());
    const std::string big(1 << 20, 'x');
    atomic = error_of([&] { io::write_file_atomically((dir / "summary.json").string(), big); });
    tensors = error_of([&] { io::save_safetensors((dir / "m.safetensors").string(), {{"w", zeros({1 << 18})}}); });
  }
  EXPECT_NE(atomic.find("cannot write"), std::string::npos) << atomic;
  EXPECT_NE(tensors.find("cannot write"), std::string::npos) << tensors;
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// Metrics lines that cannot be written stop the run with an error instead of being dropped.
TEST(RobustOutput, FullDiskStopsTheMetricsWithAnError) {
  TempDir dir;
  experiment::MetricsFiles files(dir.path());
  experiment::RunResult run;
  run.arm = run.activation = "relu";
  std::string error;
  {
    const FileSizeLimit limit(16 * 1024);
    ASSERT_TRUE(limit.applied());
    error = error_of([&] {
      for (std::int64_t step = 0; step < 10000; ++step) files.step(run, {step, 1, 0.5});
    });
  }
  EXPECT_NE(error.find("cannot write metrics into " + dir.path().string()), std::string::npos) << error;
}

}  // namespace
}  // namespace actlab::robustness
