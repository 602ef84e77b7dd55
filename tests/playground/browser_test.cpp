// The playground page in headless Chromium, driven by puppeteer-core (tests/playground/browser.cjs):
// trains spirals below a test loss, sees the gradient-flow view update, runs an A/B pair,
// reloads the link to the same state, and exports a config that `actlab compare` runs; no
// console errors. Training runs on one thread, and the views drawn per second are printed.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "actlab/core/parallel.h"
#include "actlab/playground/server.h"
#include "child_process.h"

namespace actlab::playground {
namespace {

namespace fs = std::filesystem;

bool have(const char* program) {
  return std::system(fmt::format("command -v {} >/dev/null 2>&1", program).c_str()) == 0;
}

TEST(PlaygroundBrowser, TrainsComparesReloadsAndExports) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the page is tested in the Release build; the sanitizers check the server in PlaygroundServer.*";
#endif
  if (!have("chromium") || !have("node"))
    GTEST_SKIP() << "chromium or node is not installed (scripts/test.sh installs them)";
  const int threads = num_threads();
  set_num_threads(1);
  ServerOptions options;
  options.port = 0;
  Server server(options);
  const int port = server.bind();
  std::thread serving([&] { server.serve(); });

  const fs::path out = fs::temp_directory_path() / fmt::format("actlab-playground-browser-{}", ::getpid());
  fs::create_directories(out);
  const std::string command = fmt::format("node {}/tests/playground/browser.cjs {} http://127.0.0.1:{} {} 2>&1",
                                          ACTLAB_SOURCE_DIR, ACTLAB_PLAYGROUND_DRIVER, port, out.string());
  std::string output;
  int status = -1;
  {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    ASSERT_NE(pipe, nullptr);
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe.get()) != nullptr) output += buffer;
    status = pclose(pipe.release());
  }
  server.stop();
  serving.join();
  set_num_threads(threads);
  ASSERT_EQ(status, 0) << output;
  std::cout << "playground (1 training thread): " << output;

  // The exported config runs in compare (one short epoch).
  const fs::path runs = out / "compare";
  test::Child compare(
      {"compare", "--config", (out / "playground.toml").string(), "--epochs", "1", "--out", runs.string()},
      out / "compare.log");
  EXPECT_EQ(compare.wait(std::chrono::seconds(120)), 0) << test::read_text(out / "compare.log");
  EXPECT_TRUE(fs::exists(runs / "summary.json")) << test::read_text(out / "compare.log");
  fs::remove_all(out);
}

}  // namespace
}  // namespace actlab::playground
