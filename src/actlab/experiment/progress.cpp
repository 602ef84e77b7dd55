#include "actlab/experiment/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace actlab::experiment {
namespace {

using Clock = std::chrono::steady_clock;

std::string bar(double fraction, int width) {
  const int filled = static_cast<int>(fraction * width + 0.5);
  std::string out;
  for (int i = 0; i < width; ++i) out += i < filled ? "█" : "░";
  return out;
}

std::string duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  const auto s = static_cast<long>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60) : fmt::format("{}:{:02}", s / 60, s % 60);
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

bool is_terminal(int fd) {
  const char* term = std::getenv("TERM");
  return ::isatty(fd) != 0 && term != nullptr && std::strcmp(term, "dumb") != 0;
}

Progress::Progress(std::ostream& out, bool tty) : out_(out), tty_(tty) {}

Progress::~Progress() { finish(); }

void Progress::start_sweep(std::int64_t total_steps) {
  sweep_total_ = total_steps;
  sweep_done_ = 0;
  sweep_start_ = Clock::now();
}

void Progress::start_run(const std::string& label, std::int64_t epochs, std::int64_t steps_per_epoch) {
  label_ = label;
  epochs_ = epochs;
  steps_per_epoch_ = steps_per_epoch;
  epoch_ = 1;
  step_ = 0;
  run_start_ = Clock::now();
  last_draw_ = {};
  print(fmt::format("── {} ──", label));
}

void Progress::step(std::int64_t epoch, std::int64_t step_in_epoch, double loss, double accuracy, double samples_per_second) {
  epoch_ = epoch;
  step_ = step_in_epoch;
  loss_ = loss;
  accuracy_ = accuracy;
  samples_per_second_ = samples_per_second;
  ++sweep_done_;
  draw(false);
}

void Progress::print(const std::string& line) {
  clear();
  out_ << line << '\n';
  if (tty_ && !label_.empty()) draw(true);
  out_.flush();
}

void Progress::finish() {
  clear();
  out_.flush();
}

void Progress::clear() {
  if (tty_ && drawn_) out_ << "\r\033[K\033[1A\r\033[K";
  drawn_ = false;
}

void Progress::draw(bool force) {
  const double since_draw = seconds_since(last_draw_);
  if (!force && since_draw < (tty_ ? 0.1 : 10.0)) return;
  last_draw_ = Clock::now();
  const double run_total = static_cast<double>(epochs_ * steps_per_epoch_);
  const double run_done = static_cast<double>((epoch_ - 1) * steps_per_epoch_ + step_);
  const double run_eta = run_done > 0 ? seconds_since(run_start_) * (run_total - run_done) / run_done : -1;
  const double sweep_eta = sweep_done_ > 0 ? seconds_since(sweep_start_) *
                                                 static_cast<double>(sweep_total_ - sweep_done_) /
                                                 static_cast<double>(sweep_done_)
                                           : -1;
  // A task without an accuracy (regression) shows its loss only.
  const std::string accuracy = std::isnan(accuracy_) ? "" : fmt::format(" acc {:.2f}%", accuracy_ * 100.0);
  const std::string run_line = fmt::format(
      "epoch {}/{} {} {}/{} | loss {:.4f}{} | {:.0f} samples/s | ETA {}", epoch_, epochs_,
      bar(static_cast<double>(step_) / static_cast<double>(std::max<std::int64_t>(steps_per_epoch_, 1)), 24), step_,
      steps_per_epoch_, loss_, accuracy, samples_per_second_, duration(run_eta));
  const std::string sweep_line =
      fmt::format("sweep     {} {:.0f}% | ETA {}",
                  bar(static_cast<double>(sweep_done_) / static_cast<double>(std::max<std::int64_t>(sweep_total_, 1)), 24),
                  100.0 * static_cast<double>(sweep_done_) / static_cast<double>(std::max<std::int64_t>(sweep_total_, 1)),
                  duration(sweep_eta));
  if (tty_) {
    clear();
    out_ << run_line << '\n' << sweep_line;
    drawn_ = true;
  } else {
    out_ << label_ << " | " << run_line << " | sweep ETA " << duration(sweep_eta) << '\n';
  }
  out_.flush();
}

}  // namespace actlab::experiment
