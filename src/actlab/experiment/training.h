// From settings to the objects that train: the model for a dataset's shape, the optimizer and
// the learning-rate schedule. Every spec is checked here, so a bad one is rejected before any
// training starts.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "actlab/experiment/settings.h"
#include "actlab/nn/models.h"
#include "actlab/optim/optimizer.h"
#include "actlab/optim/schedule.h"

namespace actlab::experiment {

// The canonical nn::init registry spec of a settings value ("glorot:gain=auto" ->
// "xavier:gain=auto", "kaiming" -> "he"). Throws Error listing the valid names.
std::string init_scheme(const std::string& name);

// Builds the model `settings.model` for samples of `sample_shape` and `classes` classes, with
// the settings' (single) activation, init, norm and dropout, initialized from `seed`.
// Throws Error when the spec is malformed or does not fit the data (e.g. lenet5 on 3x32x32).
std::shared_ptr<nn::Module> make_model(const Settings& settings, const Shape& sample_shape, std::int64_t classes,
                                       std::uint64_t seed);

std::unique_ptr<optim::Optimizer> make_optimizer(const Settings& settings, const std::vector<Tensor>& parameters);

// Applies the settings' schedule once per epoch; `epoch_end(val_loss)` after each epoch.
class Schedule {
 public:
  Schedule(const Settings& settings, optim::Optimizer& optimizer);
  void epoch_end(double monitored_loss);

 private:
  std::unique_ptr<optim::LRScheduler> scheduler_;
  std::unique_ptr<optim::ReduceLROnPlateau> plateau_;
};

// Throws Error (naming `origin`) when the schedule spec is malformed.
void check_schedule(const std::string& spec, std::int64_t epochs, const std::string& origin);

}  // namespace actlab::experiment
