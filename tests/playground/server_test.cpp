// The playground server under malformed, oversized, hostile and concurrent requests: each is
// answered or refused cleanly (JSON error, 4xx/5xx) and the server keeps serving. Sessions train,
// stream views, reset to the same weights, export a loadable model, and end when idle.
#include "actlab/playground/server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "actlab/experiment/settings.h"
#include "actlab/io/safetensors.h"
#include "actlab/playground/session.h"

namespace actlab::playground {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const json kSmall = {{"data", "xor"}, {"samples", 200}, {"hidden", {4}}, {"activations", {"tanh"}}, {"batch", 20}};

class Running {
 public:
  explicit Running(ServerOptions options = {})
      : server_([&] {
          options.port = 0;
          return options;
        }()) {
    port_ = server_.bind();
    thread_ = std::thread([this] { server_.serve(); });
  }
  ~Running() {
    server_.stop();
    thread_.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(20, 0);
    return c;
  }
  int port() const { return port_; }
  Server& server() { return server_; }

 private:
  Server server_;
  int port_ = 0;
  std::thread thread_;
};

std::string create(httplib::Client& c, const json& config = kSmall) {
  auto res = c.Post("/api/sessions", config.dump(), "application/json");
  EXPECT_TRUE(res) << "no answer";
  if (!res) return "";
  EXPECT_EQ(res->status, 201) << res->body;
  return json::parse(res->body).value("id", "");
}

// The error message of a refused request; fails the test when it was not refused with `status`.
std::string refused(const httplib::Result& res, int status) {
  EXPECT_TRUE(res) << "no answer";
  if (!res) return "";
  EXPECT_EQ(res->status, status) << res->body;
  const json body = json::parse(res->body, nullptr, false);
  EXPECT_TRUE(body.is_object() && body.contains("error")) << res->body;
  return body.is_object() ? body.value("error", "") : "";
}

// Sends raw bytes (then, when `end_input`, closes the sending side) and returns what came back
// (empty when the server closed without an answer).
std::string raw_exchange(int port, const std::string& bytes, bool end_input = false) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (end_input) ::shutdown(fd, SHUT_WR);
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

bool serving(Running& r) {
  auto c = r.client();
  auto res = c.Get("/api/catalog");
  return res && res->status == 200;
}

TEST(PlaygroundServer, ServesThePageAndTheCatalog) {
  Running r;
  auto c = r.client();
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("/playground.js"), std::string::npos);
  for (const char* asset : {"/playground.js", "/playground.css", "/chart.js"}) {
    auto res = c.Get(asset);
    ASSERT_TRUE(res) << asset;
    EXPECT_EQ(res->status, 200) << asset;
    EXPECT_GT(res->body.size(), 100u) << asset;
  }
  const json catalog = json::parse(c.Get("/api/catalog")->body);
  EXPECT_GT(catalog["activations"].size(), 10u);
  EXPECT_EQ(catalog["features"].size(), 7u);
}

TEST(PlaygroundServer, RefusesMalformedRequestsWithAMessage) {
  ServerOptions options;
  options.limits.max_body_bytes = 4096;
  Running r(options);
  auto c = r.client();
  EXPECT_NE(refused(c.Post("/api/sessions", "{not json", "application/json"), 400).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(refused(c.Post("/api/sessions", "[1,2]", "application/json"), 400).find("JSON object"), std::string::npos);
  EXPECT_NE(refused(c.Post("/api/sessions", R"({"lr": -5})", "application/json"), 400).find("'lr' is -5"),
            std::string::npos);
  EXPECT_NE(
      refused(c.Post("/api/sessions", R"({"data": "/etc/passwd"})", "application/json"), 400).find("choose one of"),
      std::string::npos);
  refused(c.Post("/api/sessions", std::string(10'000, ' ') + "{}", "application/json"), 413);
  refused(c.Get("/api/sessions/0123456789abcdef/view"), 404);
  refused(c.Get("/api/sessions/..%2F..%2Fetc%2Fpasswd/view"), 404);
  refused(c.Get("/../../../etc/passwd"), 404);
  refused(c.Get("/api/nothing"), 404);
  const std::string id = create(c);
  EXPECT_NE(refused(c.Post("/api/sessions/" + id + "/control", R"({"action": "explode"})", "application/json"), 400)
                .find("unknown action"),
            std::string::npos);
  refused(c.Post("/api/sessions/" + id + "/control", R"({"action": 7})", "application/json"), 400);
  refused(c.Post("/api/sessions/" + id + "/control", "", "application/json"), 400);
  EXPECT_TRUE(serving(r));
}

TEST(PlaygroundServer, SurvivesHostileBytes) {
  Running r;
  const std::string garbage(3000, '\x01');
  for (const std::string& bytes :
       {garbage, std::string("GET / HTTP/1.1\r\nHost: x\r\nX: ") + std::string(100'000, 'a') + "\r\n\r\n",
        std::string("POST /api/sessions HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n{}"),
        std::string("POST /api/sessions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
        std::string("GET /api/catalog HTTP/1.1\r\n"), std::string("\r\n\r\n\r\n")}) {
    const std::string answer = raw_exchange(r.port(), bytes, true);
    if (!answer.empty()) {
      EXPECT_EQ(answer.rfind("HTTP/1.1 ", 0), 0u) << answer.substr(0, 200);
    }
    EXPECT_TRUE(serving(r)) << "after " << bytes.substr(0, 60);
  }
}

TEST(PlaygroundServer, AnswersTwoHundredConcurrentRequests) {
  ServerOptions options;
  options.limits.max_sessions = 4;
  Running r(options);
  std::atomic<int> answered{0}, created{0}, full{0};
  std::mutex mutex;
  std::vector<std::string> unexpected;
  auto post = [](const std::string& body) {
    return fmt::format("POST /api/sessions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{}",
                       body.size(), body);
  };
  const std::string requests[4] = {post(kSmall.dump()), post(R"({"lr": "x"})"),
                                   "GET /api/catalog HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                   "GET /api/sessions/ffff/view HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"};
  std::vector<std::thread> threads;
  for (int i = 0; i < 200; ++i)
    threads.emplace_back([&, i] {
      const std::string answer = raw_exchange(r.port(), requests[i % 4]);
      const int status = answer.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(answer.c_str() + 9) : 0;
      const bool json_error = status < 400 || answer.find("{\"error\":") != std::string::npos;
      created += status == 201;
      full += status == 503;
      const int expected = i % 4 == 1 ? 400 : i % 4 == 2 ? 200 : 404;
      if (json_error && (i % 4 == 0 ? status == 201 || status == 503 : status == expected)) {
        ++answered;
        return;
      }
      std::lock_guard lock(mutex);
      unexpected.push_back(fmt::format("request {}: {}", i, answer.substr(0, 200)));
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(answered, 200) << fmt::format("{}", fmt::join(unexpected, "\n"));
  EXPECT_EQ(created, 4) << "the session limit";
  EXPECT_EQ(full, 46);
  EXPECT_EQ(r.server().session_count(), 4);
  EXPECT_TRUE(serving(r));
}

TEST(PlaygroundServer, StreamsViewsAndExports) {
  Running r;
  auto c = r.client();
  const std::string id = create(c);
  const std::string base = "/api/sessions/" + id;
  ASSERT_EQ(c.Post(base + "/control", R"({"action": "play"})", "application/json")->status, 200);
  int events = 0;
  std::int64_t last_step = -1;
  bool increasing = true;
  auto stream = r.client();
  std::string received;
  stream.Get(base + "/events", [&](const char* data, std::size_t size) {
    received.append(data, size);
    for (std::size_t end; (end = received.find("\n\n")) != std::string::npos; received.erase(0, end + 2)) {
      if (received.rfind("data: ", 0) != 0) continue;
      const json view = json::parse(received.substr(6, end - 6));
      increasing = increasing && view["step"].get<std::int64_t>() >= last_step;
      last_step = view["step"];
      EXPECT_TRUE(view.contains("surface") && view.contains("diagnostics") && view.contains("metrics"));
      if (++events == 5) return false;
    }
    return true;
  });
  EXPECT_EQ(events, 5);
  EXPECT_TRUE(increasing);
  EXPECT_GT(last_step, 0);
  ASSERT_EQ(c.Post(base + "/control", R"({"action": "pause"})", "application/json")->status, 200);

  auto model = c.Get(base + "/model.safetensors");
  ASSERT_TRUE(model);
  ASSERT_EQ(model->status, 200);
  const io::SafetensorsContents contents = io::decode_safetensors(model->body);
  EXPECT_EQ(contents.metadata.at("model"), "mlp:4");
  EXPECT_EQ(contents.tensors.size(), 4u) << "two Linear layers";

  auto toml = c.Get(base + "/config.toml");
  ASSERT_EQ(toml->status, 200);
  const auto path = std::filesystem::temp_directory_path() / ("actlab-playground-" + id + ".toml");
  std::ofstream(path) << toml->body;
  EXPECT_EQ(experiment::load_config(path.string()).base.data, "xor");
  std::filesystem::remove(path);

  auto points = json::parse(c.Get(base + "/data")->body);
  EXPECT_EQ(points["train"].size() + points["test"].size(), 200u);
  EXPECT_EQ(c.Delete(base)->status, 200);
  refused(c.Get(base + "/view"), 404);
}

TEST(PlaygroundServer, LimitsStreamsPerSession) {
  ServerOptions options;
  options.limits.max_streams_per_session = 1;
  Running r(options);
  auto c = r.client();
  const std::string id = create(c);
  std::atomic<bool> open{false};
  std::thread first([&] {
    auto s = r.client();
    s.Get("/api/sessions/" + id + "/events", [&](const char*, std::size_t) {
      open = true;
      return r.server().session_count() > 0;
    });
  });
  while (!open) std::this_thread::sleep_for(10ms);
  refused(c.Get("/api/sessions/" + id + "/events"), 429);
  c.Delete("/api/sessions/" + id);
  first.join();
  EXPECT_TRUE(serving(r));
}

TEST(PlaygroundServer, EndsIdleSessions) {
  ServerOptions options;
  options.limits.idle_seconds = 0.3;
  Running r(options);
  auto c = r.client();
  const std::string id = create(c);
  EXPECT_EQ(r.server().session_count(), 1);
  for (int i = 0; i < 50 && r.server().session_count() > 0; ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(r.server().session_count(), 0);
  refused(c.Get("/api/sessions/" + id + "/view"), 404);
}

// Takes one optimizer step and returns the first view showing `step` steps (null when none came).
json step_view(Session& s, std::uint64_t& version, std::int64_t step) {
  s.control("step");
  for (int views = 0; views < 20; ++views) {
    const View v = s.wait_view(version, 5s);
    if (v.version == version) break;
    version = v.version;
    json view = json::parse(v.json);
    if (view["step"] == step) return view;
  }
  return nullptr;
}

TEST(PlaygroundSession, StepsResetsAndStartsABPairsFromTheSameWeights) {
  Config config = parse_config(kSmall, {});
  Session a(config, std::nullopt);
  std::uint64_t version = 0;
  const json initial = json::parse(a.wait_view(0, 5s).json);
  version = initial["version"];
  EXPECT_EQ(initial["step"], 0);
  EXPECT_FALSE(step_view(a, version, 1).is_null());
  EXPECT_FALSE(step_view(a, version, 2).is_null());
  a.control("reset");
  json reset;
  do {
    const View v = a.wait_view(version, 5s);
    ASSERT_GT(v.version, version) << "no view after the reset";
    version = v.version;
    reset = json::parse(v.json);
  } while (reset["step"] != 0);
  EXPECT_EQ(reset["surface"], initial["surface"]) << "reset gives the initial weights again";
  EXPECT_THROW(a.control("jump"), Error);

  Config other = config;
  other.lr = 0.5;
  other.optimizer = "sgd";
  Session b(other, std::nullopt);
  EXPECT_EQ(json::parse(b.wait_view(0, 5s).json)["surface"], initial["surface"]) << "A/B share the initial weights";
}

TEST(PlaygroundSession, ImageSubsetsHaveAConfusionMatrix) {
  const char* data = std::getenv("ACTLAB_DATA");
  if (data == nullptr || !std::filesystem::exists(std::filesystem::path(data) / "mnist"))
    GTEST_SKIP() << "MNIST is not in $ACTLAB_DATA (actlab data fetch mnist)";
  const json request = {{"data", "mnist"}, {"samples", 500},          {"train_ratio", 0.8},
                        {"hidden", {32}},  {"activations", {"relu"}}, {"batch", 50}};
  Session s(parse_config(request, {}), std::nullopt);
  std::uint64_t version = json::parse(s.wait_view(0, 5s).json)["version"];
  const json view = step_view(s, version, 1);
  ASSERT_TRUE(view.is_object() && view.contains("confusion"));
  EXPECT_FALSE(view.contains("surface"));
  std::int64_t counted = 0;
  for (const auto& row : view["confusion"]) {
    EXPECT_EQ(row.size(), 10u);
    for (const auto& n : row) counted += n.get<std::int64_t>();
  }
  EXPECT_EQ(counted, 100) << "every test sample of the subset";
  ASSERT_TRUE(view["misclassified"].is_array());
  for (const auto& sample : view["misclassified"]) {
    EXPECT_NE(sample["label"], sample["predicted"]);
    EXPECT_EQ(sample["pixels"].size(), 784u);
  }
  EXPECT_EQ(s.data_points()["classes"].size(), 10u);
}

}  // namespace
}  // namespace actlab::playground
