#include "actlab/playground/server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "actlab/core/error.h"
#include "actlab/playground/session.h"

namespace actlab::report::assets {
extern const char* const k_chart_js;
}
namespace actlab::playground::assets {
extern const char* const k_playground_html;
extern const char* const k_playground_js;
extern const char* const k_playground_css;
}  // namespace actlab::playground::assets

namespace actlab::playground {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr auto kStreamWait = std::chrono::milliseconds(250);  // a stream notices its end this fast

// A live session and what the server tracks about it.
struct Entry {
  std::unique_ptr<Session> session;
  std::atomic<Clock::rep> last_active{Clock::now().time_since_epoch().count()};
  std::atomic<int> streams{0};
  std::atomic<bool> ended{false};
  void touch() { last_active = Clock::now().time_since_epoch().count(); }
  double idle_seconds() const {
    return std::chrono::duration<double>(Clock::now().time_since_epoch() - Clock::duration(last_active.load())).count();
  }
};

// An answer with a status other than 200, and the message the page shows.
struct Refusal {
  int status;
  std::string message;
};

void send_json(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

json parse_body(const httplib::Request& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) throw Refusal{400, "the request body is not valid JSON"};
  if (!body.is_object())
    throw Refusal{400, fmt::format("the request body must be a JSON object, not {}", body.type_name())};
  return body;
}

// cpp-httplib 0.11 listens with a backlog of 5 connections, so the kernel drops a burst of new
// connections beyond it (a page opening several streams, a test's 200 clients): the listening
// socket of `port` gets the system's maximum instead.
void widen_backlog(int port) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int listening = 0;
    socklen_t length = sizeof listening;
    sockaddr_storage address{};
    socklen_t address_length = sizeof address;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || !listening) continue;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_length) != 0) continue;
    const int bound = address.ss_family == AF_INET    ? ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port)
                      : address.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port)
                                                      : -1;
    if (bound == port) ::listen(fd, SOMAXCONN);
  }
}

std::string new_id() {
  static std::mutex mutex;
  static std::mt19937_64 random{std::random_device{}()};
  std::lock_guard lock(mutex);
  return fmt::format("{:016x}", random());
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  httplib::Server http;
  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<Entry>> sessions;
  std::int64_t reserved = 0;  // sessions being built
  std::atomic<bool> stopping{false};
  std::thread reaper;

  std::shared_ptr<Entry> find(const std::string& id) {
    std::lock_guard lock(mutex);
    const auto it = sessions.find(id);
    if (it == sessions.end())
      throw Refusal{404, fmt::format("no session '{}'; it ended (idle sessions end after {:g} s) or never existed",
                                     id.substr(0, 40), options.limits.idle_seconds)};
    it->second->touch();
    return it->second;
  }

  void end(const std::string& id) {
    std::shared_ptr<Entry> entry;
    {
      std::lock_guard lock(mutex);
      const auto it = sessions.find(id);
      if (it == sessions.end()) return;
      entry = it->second;
      sessions.erase(it);
    }
    entry->ended = true;
    entry->session->control("pause");
  }

  void end_idle_sessions() {
    while (!stopping) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      std::vector<std::string> idle;
      {
        std::lock_guard lock(mutex);
        for (const auto& [id, entry] : sessions)
          if (entry->streams == 0 && entry->idle_seconds() > options.limits.idle_seconds) idle.push_back(id);
      }
      for (const auto& id : idle) end(id);
    }
  }

  void create(const httplib::Request& req, httplib::Response& res) {
    const Config config = parse_config(parse_body(req), options.limits);
    {
      std::lock_guard lock(mutex);
      if (static_cast<std::int64_t>(sessions.size()) + reserved >= options.limits.max_sessions)
        throw Refusal{503, fmt::format("all {} sessions are in use; close a tab or wait until an idle one ends",
                                       options.limits.max_sessions)};
      ++reserved;
    }
    auto entry = std::make_shared<Entry>();
    try {
      entry->session = std::make_unique<Session>(config, options.data_dir, options.view_interval);
    } catch (...) {
      std::lock_guard lock(mutex);
      --reserved;
      throw;
    }
    const std::string id = new_id();
    {
      std::lock_guard lock(mutex);
      --reserved;
      sessions[id] = entry;
    }
    send_json(res, {{"id", id}, {"config", to_json(config)}}, 201);
  }

  void stream(const std::shared_ptr<Entry>& entry, httplib::Response& res) {
    if (++entry->streams > options.limits.max_streams_per_session) {
      --entry->streams;
      throw Refusal{429, fmt::format("this session already has {} streams open; close one first",
                                     options.limits.max_streams_per_session)};
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, entry, seen = std::uint64_t{0}](std::size_t, httplib::DataSink& sink) mutable {
          if (stopping || entry->ended) {
            sink.done();
            return true;
          }
          const View view = entry->session->wait_view(seen, kStreamWait);
          entry->touch();
          const std::string message = view.version > seen ? "data: " + view.json + "\n\n" : std::string(": idle\n\n");
          seen = view.version;
          return sink.write(message.data(), message.size());
        },
        [entry](bool) { --entry->streams; });
  }

  // Runs a handler; a Refusal or a bad config becomes its 4xx/5xx answer.
  template <typename Handler>
  auto guarded(Handler handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      try {
        handler(req, res);
      } catch (const Refusal& r) {
        send_json(res, {{"error", r.message}}, r.status);
      } catch (const Error& e) {
        send_json(res, {{"error", e.what()}}, 400);
      }
    };
  }

  void routes() {
    auto asset = [this](const char* path, const char* const& text, const char* type) {
      http.Get(path, [&text, type](const httplib::Request&, httplib::Response& res) { res.set_content(text, type); });
    };
    asset("/", assets::k_playground_html, "text/html; charset=utf-8");
    asset("/playground.js", assets::k_playground_js, "text/javascript; charset=utf-8");
    asset("/playground.css", assets::k_playground_css, "text/css; charset=utf-8");
    asset("/chart.js", report::assets::k_chart_js, "text/javascript; charset=utf-8");
    http.Get("/api/catalog", guarded([this](const httplib::Request&, httplib::Response& res) {
               send_json(res, catalog(options.limits, options.data_dir));
             }));
    http.Post("/api/sessions",
              guarded([this](const httplib::Request& req, httplib::Response& res) { create(req, res); }));
    const std::string session = R"(/api/sessions/([0-9a-f]{1,32}))";
    http.Get(session + "/events", guarded([this](const httplib::Request& req, httplib::Response& res) {
               stream(find(req.matches[1]), res);
             }));
    http.Get(session + "/view", guarded([this](const httplib::Request& req, httplib::Response& res) {
               res.set_content(find(req.matches[1])->session->wait_view(0, std::chrono::milliseconds(0)).json,
                               "application/json");
             }));
    http.Get(session + "/data", guarded([this](const httplib::Request& req, httplib::Response& res) {
               send_json(res, find(req.matches[1])->session->data_points());
             }));
    http.Post(session + "/control", guarded([this](const httplib::Request& req, httplib::Response& res) {
                const json body = parse_body(req);
                const auto action = body.find("action");
                if (action == body.end() || !action->is_string())
                  throw Refusal{400, "control: give {\"action\": \"play\" | \"pause\" | \"step\" | \"reset\"}"};
                find(req.matches[1])->session->control(action->get<std::string>());
                send_json(res, {{"ok", true}});
              }));
    http.Get(session + "/config.toml", guarded([this](const httplib::Request& req, httplib::Response& res) {
               res.set_header("Content-Disposition", "attachment; filename=\"playground.toml\"");
               res.set_content(find(req.matches[1])->session->compare_config(), "application/toml");
             }));
    http.Get(session + "/model.safetensors", guarded([this](const httplib::Request& req, httplib::Response& res) {
               res.set_header("Content-Disposition", "attachment; filename=\"playground.safetensors\"");
               res.set_content(find(req.matches[1])->session->model_file(), "application/octet-stream");
             }));
    http.Delete(session, guarded([this](const httplib::Request& req, httplib::Response& res) {
                  find(req.matches[1]);
                  end(req.matches[1]);
                  send_json(res, {{"ok", true}});
                }));
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      const std::string what = res.status == 404
                                   ? fmt::format("no such page or API: {} {}", req.method, req.path.substr(0, 100))
                               : res.status == 413 ? "the request body is too large"
                                                   : fmt::format("the request was refused (HTTP {})", res.status);
      send_json(res, {{"error", what}}, res.status);
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_json(res, {{"error", "internal error: " + what}}, 500);
    });
  }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.options = std::move(options);
  const Limits& limits = s.options.limits;
  const auto threads = static_cast<std::size_t>(limits.max_sessions * limits.max_streams_per_session + 16);
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.http.set_payload_max_length(static_cast<std::size_t>(limits.max_body_bytes));
  s.http.set_read_timeout(5, 0);
  s.http.set_write_timeout(5, 0);
  s.routes();
}

Server::~Server() {
  stop();
  if (impl_->reaper.joinable()) impl_->reaper.join();
  std::lock_guard lock(impl_->mutex);
  impl_->sessions.clear();
}

int Server::bind() {
  Impl& s = *impl_;
  const int port = s.options.port == 0 ? s.http.bind_to_any_port(s.options.host)
                                       : (s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1);
  ACTLAB_CHECK(port > 0, "serve: cannot listen on {}:{}; the port may be in use: give another with --port",
               s.options.host, s.options.port);
  widen_backlog(port);
  return port;
}

void Server::serve() {
  Impl& s = *impl_;
  s.reaper = std::thread([&s] { s.end_idle_sessions(); });
  s.http.listen_after_bind();
}

void Server::stop() {
  impl_->stopping = true;
  impl_->http.stop();
}

std::int64_t Server::session_count() const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::int64_t>(impl_->sessions.size());
}

}  // namespace actlab::playground
