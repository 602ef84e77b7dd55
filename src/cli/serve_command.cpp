// `actlab serve`: the live playground in the browser (see playground/server.h).
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "actlab/core/parallel.h"
#include "actlab/playground/server.h"
#include "cli/commands.h"

namespace actlab::cli {
namespace {

struct ServeArgs {
  playground::ServerOptions server;
  std::string data_dir;
  int threads = 0;
  double idle_minutes = 5;
};

void run_serve(const ServeArgs& args) {
  if (args.threads > 0) set_num_threads(static_cast<int>(capped_threads(args.threads)));
  playground::ServerOptions options = args.server;
  if (!args.data_dir.empty()) options.data_dir = args.data_dir;
  options.limits.idle_seconds = args.idle_minutes * 60;
  if (options.host != "127.0.0.1" && options.host != "localhost")
    std::cerr << fmt::format(
        "actlab: warning: --host {} lets other machines on the network reach the playground; "
        "it has no login, so anyone who can connect can train models here\n",
        options.host);
  playground::Server server(options);
  const int port = server.bind();
  std::cout << fmt::format("actlab serve: open http://{}:{}/ (Ctrl-C ends it)",
                           options.host == "0.0.0.0" ? "127.0.0.1" : options.host, port)
            << std::endl;
  StopSignals signals;
  std::atomic<bool> served{false};
  std::thread watcher([&] {
    while (!served && signals.received() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.stop();
  });
  server.serve();
  served = true;
  watcher.join();
}

const CommandRegistration reg([](CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd =
      app.add_subcommand("serve", "Live playground in the browser: train, watch gradients, compare two settings");
  cmd->add_option("--port", args->server.port, "port to listen on (0: any free one)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--host", args->server.host, "address to listen on; 0.0.0.0 opens it to the network")
      ->capture_default_str();
  cmd->add_option("--data-dir", args->data_dir,
                  "dataset folder for MNIST / Fashion-MNIST (default $ACTLAB_DATA, then ~/.cache/actlab/datasets)");
  cmd->add_option("--threads", args->threads, "threads for training (0: every core)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-sessions", args->server.limits.max_sessions, "sessions live at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--idle-minutes", args->idle_minutes, "a session nobody watches ends after this long")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->callback([args] { run_serve(*args); });
});

}  // namespace
}  // namespace actlab::cli
