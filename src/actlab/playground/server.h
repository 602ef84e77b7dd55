// The playground's HTTP server: the page and its assets (embedded at build time, so it works
// offline), a JSON API over sessions, and a Server-Sent Events stream of each session's views.
//
//   GET    /                               the page (/playground.js, /playground.css, /chart.js)
//   GET    /api/catalog                    the choices and limits (config.h)
//   POST   /api/sessions                   body: a Config as JSON -> {"id", "config"}
//   GET    /api/sessions/ID/events         text/event-stream: one "data: VIEW" per view
//   GET    /api/sessions/ID/view           the latest view
//   GET    /api/sessions/ID/data           the points of a 2-D set
//   POST   /api/sessions/ID/control        body: {"action": "play" | "pause" | "step" | "reset"}
//   GET    /api/sessions/ID/config.toml    the experiment for `actlab compare`
//   GET    /api/sessions/ID/model.safetensors
//   DELETE /api/sessions/ID
//
// Limits: at most limits.max_sessions sessions (503 beyond), max_streams_per_session streams each
// (429 beyond), bodies up to max_body_bytes (413), every config checked by parse_config (400 with
// the message); a session without requests or streams for idle_seconds is ended. Every error
// answer is JSON {"error": "..."}; no handler reads or writes a file except the image sets in
// the data dir, read-only. Binds 127.0.0.1 unless told otherwise.
//
// Errors: bind() throws Error when the address cannot be bound.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "actlab/playground/config.h"

namespace actlab::playground {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  Limits limits;
  std::optional<std::filesystem::path> data_dir;
  std::chrono::milliseconds view_interval{25};
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the address and returns the port (the chosen one for port 0).
  int bind();
  // Serves until stop(); call after bind().
  void serve();
  // Ends serve() and every stream; safe from any thread.
  void stop();
  std::int64_t session_count() const;

  struct Impl;  // defined in server.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace actlab::playground
