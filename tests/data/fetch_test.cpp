#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "actlab/data/fetch.h"
#include "actlab/data/registry.h"
#include "data/data_test_util.h"

namespace actlab::data {
namespace {

using test::Bytes;
using test::expect_error;
using test::TempDir;

// python3 -m http.server on 127.0.0.1, on a free port, serving `root`; stopped at scope exit.
class LocalServer {
 public:
  explicit LocalServer(const std::filesystem::path& root) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::execlp("python3", "python3", "-c",
               "import http.server,os,sys\n"
               "class Handler(http.server.SimpleHTTPRequestHandler):\n"
               "  def __init__(self,*a,**k): super().__init__(*a,directory=sys.argv[1],**k)\n"
               "  def log_message(self,*a): pass\n"
               "s=http.server.ThreadingHTTPServer(('127.0.0.1',0),Handler)\n"
               "os.write(1,b'%d\\n'%s.server_address[1])\n"
               "os.close(1)\n"
               "s.serve_forever()\n",
               root.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    char buffer[16] = {};
    const ssize_t n = ::read(out[0], buffer, sizeof buffer - 1);
    ::close(out[0]);
    if (n > 0) port_ = std::atoi(buffer);
  }
  ~LocalServer() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  bool running() const { return port_ > 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

std::size_t files_in(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir)) return 0;
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

TEST(Fetch, Sha256OfKnownBytes) {
  EXPECT_EQ(sha256_hex(test::text_bytes("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Fetch, DownloadsVerifiesAndRefusesAWrongSum) {
  TempDir served, target;
  const Bytes content = test::gzip(test::idx_bytes({100}, {1, 2, 3}));
  test::write_file(served / "mnist" / "file.gz", content);
  LocalServer server(served.path());
  if (!server.running()) GTEST_SKIP() << "python3 is not available to serve files on 127.0.0.1";
  const FetchOptions options;

  download_file(server.url() + "mnist/file.gz", target / "ok.gz", sha256_hex(content), options);
  EXPECT_EQ(sha256_file(target / "ok.gz"), sha256_hex(content));

  const std::string wrong(64, '0');
  expect_error([&] { download_file(server.url() + "mnist/file.gz", target / "bad" / "x.gz", wrong, options); },
               {"SHA-256 mismatch", wrong, sha256_hex(content), "Nothing was written"});
  EXPECT_EQ(files_in(target / "bad"), 0u) << "a rejected download must leave no file behind";

  expect_error([&] { download_file(server.url() + "mnist/absent.gz", target / "bad" / "y.gz", wrong, options); },
               {"absent.gz", "HTTP 404"});
  EXPECT_EQ(files_in(target / "bad"), 0u);
}

TEST(Fetch, WithoutNetworkSaysWhereToPutTheFiles) {
  TempDir target;
  FetchOptions options;
  options.data_dir = target.path();
  options.mirror = "http://127.0.0.1:9/";  // the discard port: nothing listens there
  options.connect_timeout_seconds = 2;
  expect_error([&] { fetch_dataset("fashion-mnist", options); },
               {"127.0.0.1:9/fashion-mnist/train-images-idx3-ubyte.gz", "download failed", "download these files by hand",
                (target / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").string()});
  EXPECT_EQ(files_in(target / "fashion-mnist"), 0u);
  expect_error([&] { fetch_dataset("xor", options); }, {"dataset 'xor' is generated", "no files to fetch"});
}

TEST(Fetch, FetchesMnistFromAMirrorOfTheDataDir) {
  const char* real = test::real_data_dir();
  if (!real || !std::filesystem::exists(std::filesystem::path(real) / "mnist"))
    GTEST_SKIP() << "ACTLAB_DATA does not point at the datasets folder; skipping the fetch of real MNIST";
  LocalServer server(real);
  if (!server.running()) GTEST_SKIP() << "python3 is not available to serve files on 127.0.0.1";
  TempDir target;
  FetchOptions options;
  options.data_dir = target.path();
  options.mirror = server.url();
  const FetchResult first = fetch_dataset("mnist", options);
  EXPECT_EQ(first.downloaded.size(), 4u);
  EXPECT_EQ(files_in(target / "mnist"), 4u);
  const FetchResult second = fetch_dataset("mnist", options);
  EXPECT_EQ(second.already_present.size(), 4u);
  LoadOptions load;
  load.data_dir = target.path();
  EXPECT_EQ(load_dataset("mnist", Split::Test, load).size(), 10000);
}

}  // namespace
}  // namespace actlab::data
