#include "actlab/train/state.h"

#include <cmath>

#include "actlab/core/error.h"
#include "actlab/core/generator.h"

namespace actlab::train {
namespace {

using nlohmann::json;

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(); }

// NaN is written as null; both read back as nullopt.
std::optional<double> optional_from(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<double>();
}

}  // namespace

json to_json(const EpochMetrics& e) {
  return {{"epoch", e.epoch},         {"train_loss", e.train_loss},       {"train_acc", e.train_acc},
          {"val_loss", optional_json(e.val_loss)}, {"val_acc", optional_json(e.val_acc)},
          {"test_loss", e.test_loss}, {"test_acc", e.test_acc},           {"lr", e.lr},
          {"seconds", e.seconds}};
}

json to_json(const StepMetrics& s) { return {{"step", s.step}, {"epoch", s.epoch}, {"loss", s.loss}}; }

EpochMetrics epoch_from_json(const json& j) {
  EpochMetrics m;
  m.epoch = j.at("epoch").get<std::int64_t>();
  m.train_loss = optional_from(j, "train_loss").value_or(NAN);
  m.train_acc = optional_from(j, "train_acc").value_or(NAN);
  m.val_loss = optional_from(j, "val_loss");
  m.val_acc = optional_from(j, "val_acc");
  m.test_loss = optional_from(j, "test_loss").value_or(NAN);
  m.test_acc = optional_from(j, "test_acc").value_or(NAN);
  m.lr = optional_from(j, "lr").value_or(0);
  m.seconds = optional_from(j, "seconds").value_or(0);
  return m;
}

StepMetrics step_from_json(const json& j) {
  return {j.value("step", std::int64_t{0}), j.value("epoch", 0.0), optional_from(j, "loss").value_or(NAN)};
}

json to_json(const TrainState& s) {
  json epochs = json::array(), steps = json::array();
  for (const auto& e : s.epochs) epochs.push_back(to_json(e));
  for (const auto& st : s.steps) steps.push_back(to_json(st));
  return {{"epoch", s.epoch},
          {"step_in_epoch", s.step_in_epoch},
          {"step", s.step},
          {"samples", s.samples},
          {"epoch_score",
           {{"loss_sum", s.epoch_score.loss_sum}, {"correct", s.epoch_score.correct},
            {"samples", s.epoch_score.samples}, {"has_accuracy", s.epoch_score.has_accuracy}}},
          {"interval_loss", s.interval_loss},
          {"interval_steps", s.interval_steps},
          {"train_seconds", s.train_seconds},
          {"status", s.status},
          {"finished", s.finished},
          {"diverged_at_step", s.diverged_at_step ? json(*s.diverged_at_step) : json()},
          {"epochs", epochs},
          {"steps", steps},
          {"observers", s.observers}};
}

TrainState state_from_json(const json& j) {
  TrainState s;
  try {
    s.epoch = j.at("epoch").get<std::int64_t>();
    s.step_in_epoch = j.at("step_in_epoch").get<std::int64_t>();
    s.step = j.at("step").get<std::int64_t>();
    s.samples = j.at("samples").get<std::int64_t>();
    const json& score = j.at("epoch_score");
    s.epoch_score = {score.at("loss_sum").get<double>(), score.at("correct").get<double>(),
                     score.at("samples").get<std::int64_t>(), score.at("has_accuracy").get<bool>()};
    s.interval_loss = j.at("interval_loss").get<double>();
    s.interval_steps = j.at("interval_steps").get<std::int64_t>();
    s.train_seconds = j.at("train_seconds").get<double>();
    s.status = j.at("status").get<std::string>();
    s.finished = j.at("finished").get<bool>();
    if (!j.at("diverged_at_step").is_null()) s.diverged_at_step = j.at("diverged_at_step").get<std::int64_t>();
    for (const auto& e : j.at("epochs")) s.epochs.push_back(epoch_from_json(e));
    for (const auto& st : j.at("steps")) s.steps.push_back(step_from_json(st));
    s.observers = j.at("observers");
  } catch (const json::exception& e) {
    fail("training state: malformed ({})", e.what());
  }
  ACTLAB_CHECK(s.epoch >= 1 && s.step_in_epoch >= 0 && s.step >= 0, "training state: counters out of range (epoch {}, "
               "step {}, step in epoch {})", s.epoch, s.step, s.step_in_epoch);
  return s;
}

json generator_states(nn::Module& model) {
  json states = json::object();
  for (const auto& [name, generator] : model.named_generators()) states[name] = {generator->seed(), generator->offset()};
  states[""] = {default_generator().seed(), default_generator().offset()};
  return states;
}

void restore_generators(nn::Module& model, const json& states) {
  auto apply = [&](Generator& generator, const std::string& name) {
    ACTLAB_CHECK(states.contains(name), "training state: no saved state for the generator '{}'", name);
    const auto& state = states.at(name);
    generator.set_state(state.at(0).get<std::uint64_t>(), state.at(1).get<std::uint64_t>());
  };
  try {
    for (const auto& [name, generator] : model.named_generators()) apply(*generator, name);
    apply(default_generator(), "");
  } catch (const json::exception& e) {
    fail("training state: malformed generator states ({})", e.what());
  }
}

}  // namespace actlab::train
