#include "actlab/distributed/sweep.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "actlab/core/error.h"

namespace actlab::distributed {
namespace {

using nlohmann::json;

// A rank that is ready for a run sends kReady ({} at first, then {"run": i, "result": ...});
// the coordinator answers kAssign with the next run, or -1 when there is none.
constexpr int kReady = 1, kAssign = 2;
constexpr std::int64_t kNoRun = -1;

// Blocking MPI calls spin on a core; these waits sleep between tests instead, so a waiting rank
// leaves the cores to the ranks that train.
void wait_for(MPI_Request& request) {
  for (int done = 0;;) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void send_text(const std::string& text, int to, int tag) {
  MPI_Request request;
  MPI_Isend(text.data(), static_cast<int>(text.size()), MPI_CHAR, to, tag, MPI_COMM_WORLD, &request);
  wait_for(request);
}

}  // namespace

SweepOverRanks::SweepOverRanks(const World& world) : world_(world) {
  ACTLAB_CHECK(world.size() >= 2, "a sweep over ranks needs at least 2 ranks, the world has {}", world.size());
}

void SweepOverRanks::run(const experiment::SweepWork& work) {
  if (coordinator())
    coordinate(work);
  else
    work_for_coordinator(work);
}

void SweepOverRanks::coordinate(const experiment::SweepWork& work) {
  std::deque<std::size_t> pending;
  int started = 1;
  std::exception_ptr failure;
  try {
    const auto runs = work.prepare();
    pending.assign(runs.begin(), runs.end());
  } catch (...) {
    started = 0;
    failure = std::current_exception();
  }
  MPI_Bcast(&started, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (failure) std::rethrow_exception(failure);

  std::mutex mutex;  // guards `pending`, `stopping` and work.record
  bool stopping = false;
  auto record = [&](std::size_t run, const experiment::RunResult& result) {
    const std::lock_guard lock(mutex);
    if (!work.record(run, result)) stopping = true;
  };
  auto next_run = [&]() -> std::int64_t {
    const std::lock_guard lock(mutex);
    if (stopping || pending.empty()) return kNoRun;
    const std::size_t run = pending.front();
    pending.pop_front();
    return static_cast<std::int64_t>(run);
  };
  // The other ranks are answered from a thread of their own while this one trains.
  std::thread answering([&] {
    try {
      for (int working = world_.size() - 1; working > 0;) {
        int arrived = 0;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, kReady, MPI_COMM_WORLD, &arrived, &status);
        if (!arrived) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          continue;
        }
        int length = 0;
        MPI_Get_count(&status, MPI_CHAR, &length);
        std::string text(static_cast<std::size_t>(length), '\0');
        MPI_Recv(text.data(), length, MPI_CHAR, status.MPI_SOURCE, kReady, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        const json message = json::parse(text);
        if (message.contains("run"))
          record(message.at("run").get<std::size_t>(), experiment::run_from_json(message.at("result")));
        std::int64_t run = next_run();
        MPI_Request request;
        MPI_Isend(&run, 1, MPI_INT64_T, status.MPI_SOURCE, kAssign, MPI_COMM_WORLD, &request);
        wait_for(request);
        if (run == kNoRun) --working;
      }
    } catch (const std::exception& e) {
      world_.abort_job(e);
    }
  });
  try {
    for (std::int64_t run = next_run(); run != kNoRun; run = next_run()) {
      const auto i = static_cast<std::size_t>(run);
      record(i, work.train(i));
    }
  } catch (const std::exception& e) {
    world_.abort_job(e);
  }
  answering.join();
}

void SweepOverRanks::work_for_coordinator(const experiment::SweepWork& work) {
  int started = 0;
  MPI_Bcast(&started, 1, MPI_INT, 0, MPI_COMM_WORLD);
  ACTLAB_CHECK(started == 1, "rank 0 could not start the sweep (its message says why)");
  try {
    json ready = json::object();
    for (;;) {
      send_text(ready.dump(), 0, kReady);
      std::int64_t run = kNoRun;
      MPI_Request request;
      MPI_Irecv(&run, 1, MPI_INT64_T, 0, kAssign, MPI_COMM_WORLD, &request);
      wait_for(request);
      if (run == kNoRun) return;
      const auto i = static_cast<std::size_t>(run);
      ready = {{"run", i}, {"result", experiment::to_json(work.train(i))}};
    }
  } catch (const std::exception& e) {
    world_.abort_job(e);
  }
}

}  // namespace actlab::distributed
