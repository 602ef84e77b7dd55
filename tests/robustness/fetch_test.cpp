// actlab data fetch against a local server that misbehaves: one that stops sending after the
// headers (the low-speed timeout), one that trickles (the total timeout), Ctrl-C and SIGTERM in
// the middle of a download, a temporary file left by a killed download, and a destination that is
// a directory. The server is a python3 stub on 127.0.0.1 that ends itself after a few seconds.
#include <gtest/gtest.h>

#include "robustness/cli_util.h"

namespace actlab::robustness {
namespace {

// Serves every GET with a 1 MB Content-Length, then sends `rate` bytes per second (0: nothing
// more after a first few bytes). Writes its port to `port_file`; exits after `lifetime` seconds.
constexpr const char* kStub = R"(
import socket, sys, threading, time
port_file, rate, lifetime = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(8)
server.settimeout(lifetime)
end = time.time() + lifetime
open(port_file + ".tmp", "w").write(str(server.getsockname()[1]))
import os; os.rename(port_file + ".tmp", port_file)
def serve(conn):
    try:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 16)
        while time.time() < end:
            if rate:
                conn.sendall(b"x" * (rate // 10))
            time.sleep(0.1)
    except OSError:
        pass
    conn.close()
while time.time() < end:
    try:
        conn, _ = server.accept()
    except OSError:
        break
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
)";

class Stub {
 public:
  Stub(const TempDir& dir, int rate, int lifetime_seconds) {
    const fs::path script = dir / "stub.py";
    std::ofstream(script) << kStub;
    const fs::path port_file = dir / "port";
    child_ = std::make_unique<Child>(
        std::vector<std::string>{script.string(), port_file.string(), std::to_string(rate),
                                 std::to_string(lifetime_seconds)},
        dir / "stub.txt", std::vector<std::string>{}, "/usr/bin/python3");
    EXPECT_TRUE(eventually([&] { return fs::exists(port_file); })) << child_->output();
    url_ = "http://127.0.0.1:" + read_text(port_file) + "/";
  }
  const std::string& url() const { return url_; }

 private:
  std::unique_ptr<Child> child_;  // killed at scope exit if still running
  std::string url_;
};

std::vector<fs::path> part_files(const fs::path& folder) {
  std::vector<fs::path> parts;
  if (!fs::exists(folder)) return parts;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().extension() == ".part") parts.push_back(entry.path());
  return parts;
}

std::vector<std::string> fetch_args(const TempDir& dir, const Stub& stub, std::vector<std::string> limits) {
  std::vector<std::string> args = {"data", "fetch", "mnist", "--data-dir", (dir / "ds").string(), "--mirror", stub.url()};
  args.insert(args.end(), limits.begin(), limits.end());
  return args;
}

TEST(RobustFetch, ServerThatStallsAfterTheHeadersTimesOut) {
  TempDir dir;
  const Stub stub(dir, 0, 20);
  const Result result = run_actlab(
      fetch_args(dir, stub, {"--stall-timeout", "1", "--min-speed", "1000", "--timeout", "30"}), dir.path(),
      std::chrono::seconds(20));
  expect_clean_error(result, "the download stalled: less than 1000 bytes/s for 1 s");
  EXPECT_TRUE(part_files(dir / "ds/mnist").empty());
}

TEST(RobustFetch, TricklingServerRunsIntoTheTotalTimeout) {
  TempDir dir;
  const Stub stub(dir, 5000, 20);
  const Result result = run_actlab(
      fetch_args(dir, stub, {"--stall-timeout", "5", "--min-speed", "100", "--timeout", "2"}), dir.path(),
      std::chrono::seconds(20));
  expect_clean_error(result, "did not finish within the total timeout of 2 s");
  EXPECT_TRUE(part_files(dir / "ds/mnist").empty());
}

TEST(RobustFetch, InterruptedDownloadLeavesNoPartialFile) {
  for (const int signal : {SIGINT, SIGTERM}) {
    TempDir dir;
    const Stub stub(dir, 0, 20);
    // A temporary file of a download killed earlier: no process holds it, so it goes.
    fs::create_directories(dir / "ds/mnist");
    const fs::path stale = dir / "ds/mnist/train-images-idx3-ubyte.gz.Ab12Cd.part";
    std::ofstream(stale) << "stale";
    fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::minutes(5));
    Child fetch(fetch_args(dir, stub, {"--stall-timeout", "60", "--timeout", "60"}), dir / "fetch.txt");
    ASSERT_TRUE(eventually([&] {
      const auto parts = part_files(dir / "ds/mnist");
      return parts.size() == 1 && parts[0].filename() != "train-images-idx3-ubyte.gz.Ab12Cd.part";
    })) << fetch.output();
    fetch.signal(signal);
    EXPECT_EQ(fetch.wait(std::chrono::seconds(10)), 128 + signal) << fetch.output();
    EXPECT_NE(fetch.output().find("download interrupted"), std::string::npos) << fetch.output();
    EXPECT_TRUE(part_files(dir / "ds/mnist").empty());
  }
}

TEST(RobustFetch, DestinationThatIsADirectory) {
  TempDir dir;
  fs::create_directories(dir / "ds/mnist/train-images-idx3-ubyte.gz");
  // Refused before connecting: the mirror does not exist.
  const Result result = run_actlab({"data", "fetch", "mnist", "--data-dir", (dir / "ds").string(), "--mirror",
                                    "http://127.0.0.1:9/"},
                                   dir.path());
  expect_clean_error(result, "train-images-idx3-ubyte.gz: is a directory, where the downloaded file belongs");
}

}  // namespace
}  // namespace actlab::robustness
