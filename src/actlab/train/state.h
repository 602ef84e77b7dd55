// TrainState: everything a run's loop depends on besides the model's and the optimizer's
// tensors, in one object. The loop mutates it directly and a checkpoint saves and restores it
// whole, so a resumed run continues exactly where the saved one stood, at any point: mid-epoch,
// after an epoch's last batch (its evaluation still to come), or finished.
//
// Generators are the model's (every module registers those it draws from, see
// nn::Module::register_generator) plus the process-wide default one; generator_states() and
// restore_generators() read and write them by name.
//
// to_json()/state_from_json() give the saved form; `observers` holds what observers keep across a
// kill (the diagnostics history, ...) under their names, and is saved as it is.
//
// Errors: state_from_json() on a malformed object, and restore_generators() on a model whose
// generators differ from the saved ones, throw Error naming the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/nn/module.h"
#include "actlab/train/task.h"

namespace actlab::train {

struct EpochMetrics {
  std::int64_t epoch = 0;
  double train_loss = 0, train_acc = 0;
  std::optional<double> val_loss, val_acc;
  double test_loss = 0, test_acc = 0;
  double lr = 0;
  double seconds = 0;  // wall time of this epoch's training
};

struct StepMetrics {
  std::int64_t step = 0;  // optimizer steps since the start of the run
  double epoch = 0;       // fractional epoch, for plotting against epochs
  double loss = 0;        // mean training loss over the logged interval
};

struct TrainState {
  std::int64_t epoch = 1;          // the epoch in progress, or the next one to start (1-based)
  std::int64_t step_in_epoch = 0;  // batches of `epoch` trained so far
  std::int64_t step = 0;           // optimizer steps of the run
  std::int64_t samples = 0;        // training samples seen by the run
  Score epoch_score;               // training loss and accuracy of `epoch` so far
  double interval_loss = 0;        // losses since the last logged step
  std::int64_t interval_steps = 0;
  double train_seconds = 0;        // training time of the run so far
  std::string status = "ok";       // ok | diverged | interrupted
  bool finished = false;           // the loop has ended (its result is final)
  std::optional<std::int64_t> diverged_at_step;
  std::vector<EpochMetrics> epochs;  // the metrics so far
  std::vector<StepMetrics> steps;
  nlohmann::json observers = nlohmann::json::object();
};

nlohmann::json to_json(const TrainState& state);
TrainState state_from_json(const nlohmann::json& json);

// {"<module name>.<generator name>": [seed, offset], ..., "": default generator}.
nlohmann::json generator_states(nn::Module& model);
void restore_generators(nn::Module& model, const nlohmann::json& states);

nlohmann::json to_json(const EpochMetrics& epoch);
nlohmann::json to_json(const StepMetrics& step);
EpochMetrics epoch_from_json(const nlohmann::json& json);
StepMetrics step_from_json(const nlohmann::json& json);

}  // namespace actlab::train
