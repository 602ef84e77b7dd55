// A playground session: one experiment of the page, trained on its own worker thread through the
// training core (train::fit and its observers), publishing views of the run as JSON.
//
// Controls: play (train until paused), pause, step (one optimizer step), reset (the initial
// weights again, from the same seed). A view is published at most every view_interval while
// playing, after every single step, and after a reset; wait_view() blocks until one newer than
// the caller's arrives, so any number of streams follow a session without polling it.
//
// A view: {"step", "epoch", "status" (ok | diverged), "playing", "metrics" (train/test loss and
// accuracy, and the step they were measured at), "diagnostics" (the Recorder's latest snapshot per layer: gradient
// norms, dead and saturated fractions, histograms), "verdicts" (diagnostics::judge, with remedies as settings options),
// and for 2-D sets "surface" (the decision surface on a grid), "units" (each hidden unit's output on a coarser grid,
// quantized to [-100, 100] per layer) and "weights" (the links between the units shown); for image sets "confusion"
// (test-set confusion matrix) and "misclassified" (the first misclassified test images with their pixels)}.
//
// Guarantees: the same Config gives the same data, initial weights and batches (seeded), so two
// sessions of configs differing only in training settings start from identical weights.
// Everything read from disk is the image set's files in the data dir, read-only.
//
// Errors: the constructor throws Error when the data cannot be loaded or the model not built;
// control() throws Error for an unknown action.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "actlab/playground/config.h"

namespace actlab::playground {

struct View {
  std::uint64_t version = 0;
  std::string json;
};

class Session {
 public:
  Session(Config config, const std::optional<std::filesystem::path>& data_dir,
          std::chrono::milliseconds view_interval = std::chrono::milliseconds(25));
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Config& config() const;
  void control(std::string_view action);
  // The latest view once its version exceeds `after`, or whatever is latest after `timeout`.
  View wait_view(std::uint64_t after, std::chrono::milliseconds timeout);
  // The training and test points of a 2-D set in the input plane: {"extent", "train": [[x1, x2,
  // label], ...], "test": [...]}; for image sets {"classes": [...]} only.
  nlohmann::json data_points() const;
  // The current model as a safetensors file, with the metadata `actlab eval` reads.
  std::string model_file();
  // The experiment as an `actlab compare` config, its epochs those trained so far (at least 1).
  std::string compare_config();

  struct State;  // defined in session.cpp

 private:
  std::unique_ptr<State> state_;
};

}  // namespace actlab::playground
