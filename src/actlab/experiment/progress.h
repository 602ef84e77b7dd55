// Progress display for long training: on a terminal, a bar for the current run (epoch, step,
// loss, accuracy, samples/s, ETA) above a bar for the whole sweep, redrawn in place at most 10
// times a second; otherwise plain log lines every few seconds, so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace actlab::experiment {

class Progress {
 public:
  Progress(std::ostream& out, bool tty);
  ~Progress();

  void start_sweep(std::int64_t total_steps);
  void start_run(const std::string& label, std::int64_t epochs, std::int64_t steps_per_epoch);
  // After each optimizer step: the running mean loss and accuracy of the epoch so far.
  void step(std::int64_t epoch, std::int64_t step_in_epoch, double loss, double accuracy, double samples_per_second);
  // A line that stays (epoch results, warnings); the bars are redrawn below it.
  void print(const std::string& line);
  void finish();

 private:
  void draw(bool force);
  void clear();

  std::ostream& out_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point sweep_start_, run_start_, last_draw_;
  std::int64_t sweep_total_ = 0, sweep_done_ = 0;
  std::string label_;
  std::int64_t epochs_ = 0, steps_per_epoch_ = 0, epoch_ = 0, step_ = 0;
  double loss_ = 0, accuracy_ = 0, samples_per_second_ = 0;
};

// True when `fd` is a terminal that understands cursor movement.
bool is_terminal(int fd);

}  // namespace actlab::experiment
