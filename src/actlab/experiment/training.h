// From settings to the objects that train: the model for a dataset's shape, the optimizer and
// the learning-rate schedule. Each comes from a catalog (model_kinds, optimizer_kinds,
// schedule_kinds) that settings, `--help` and validation read their choices from, and every
// spec is checked here, so a bad one is rejected before any training starts.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actlab/experiment/settings.h"
#include "actlab/nn/models.h"
#include "actlab/optim/optimizer.h"
#include "actlab/optim/schedule.h"

namespace actlab::experiment {

// The canonical nn::init registry spec of a settings value ("glorot:gain=auto" ->
// "xavier:gain=auto", "kaiming" -> "he"). Throws Error listing the valid names.
std::string init_scheme(const std::string& name);

// ---- models ----

// What a model spec ("mlp:256x4", "resnet-small:5") asks for, before anything is built.
struct ModelRequest {
  std::string spec;   // the whole spec, for messages
  std::string args;   // the text after the colon ("" when none)
  Shape sample_shape;
  std::int64_t classes = 0;
  nn::Norm norm = nn::Norm::None;
  bool per_step = false;  // the data has a target at every time step
};

struct ModelKind {
  std::string name;    // "mlp"
  std::string syntax;  // "mlp:WIDTH[xREPEAT],..."
  std::string help;    // one line
  std::optional<Shape> sample_shape;  // the sample shape it needs; none: any (or what `fits` accepts)
  // Parameters of the model, counted from the request without building it; throws on bad args.
  std::function<double(const ModelRequest&)> parameters;
  std::function<std::shared_ptr<nn::Module>(const ModelRequest&, const nn::ModelOptions&)> build;
};

// Every model kind, in documentation order.
const std::vector<ModelKind>& model_kinds();
// The kind a spec names. Throws Error listing every syntax for an unknown one.
const ModelKind& model_kind(const std::string& spec);
// The syntaxes joined by " | ", for help texts.
std::string model_syntaxes();

struct ModelSize {
  double parameters = 0;
  double bytes = 0;  // float32 weights, gradients and the optimizer's state buffers
};
// The size of `settings.model` for this data, estimated from the spec alone. Throws Error when
// the spec is malformed or does not fit the data.
ModelSize model_size(const Settings& settings, const Shape& sample_shape, std::int64_t classes);

// Builds the model `settings.model` for samples of `sample_shape` and `classes` classes, with
// the settings' (single) activation, init, norm and dropout, initialized from `seed`.
// Throws Error when the spec is malformed, does not fit the data (e.g. lenet5 on 3x32x32), or
// has more than settings.max_parameters parameters (checked before anything is allocated).
std::shared_ptr<nn::Module> make_model(const Settings& settings, const Shape& sample_shape, std::int64_t classes,
                                       std::uint64_t seed);

// ---- optimizers ----

struct OptimizerKind {
  std::string name;  // "adam"
  std::string help;  // one line
  std::int64_t state_buffers = 0;  // buffers shaped like each parameter it keeps (for model_size)
  std::function<std::unique_ptr<optim::Optimizer>(const Settings&, const std::vector<Tensor>&)> build;
};

const std::vector<OptimizerKind>& optimizer_kinds();
// Throws Error listing the valid names for an unknown one.
const OptimizerKind& optimizer_kind(const std::string& name);
std::vector<std::string> optimizer_names();

std::unique_ptr<optim::Optimizer> make_optimizer(const Settings& settings, const std::vector<Tensor>& parameters);

// ---- learning-rate schedules ----

// A numeric argument of a schedule and the range it must lie in.
struct ScheduleParam {
  std::string name;   // "gamma"
  bool integer = false;
  double low = 0, high = 0;
  bool low_open = false, high_open = false;  // (low, ...] rather than [low, ...]
  std::optional<double> default_value;       // none: required
};

// What a schedule installs: a closed-form scheduler stepped each epoch, or a plateau rule fed
// the monitored loss (either may be empty: "none").
struct ScheduleParts {
  std::unique_ptr<optim::LRScheduler> scheduler;
  std::unique_ptr<optim::ReduceLROnPlateau> plateau;
};

struct ScheduleKind {
  std::string name;    // "step"
  std::string syntax;  // "step:EPOCHS[:GAMMA]"
  std::string help;    // one line
  std::vector<ScheduleParam> params;  // in spec order; the optional ones last
  // Further checks that need the settings (e.g. a warmup shorter than the epochs); may be empty.
  std::function<void(const std::vector<double>& values, std::int64_t epochs, const std::string& what)> check;
  // The schedule from checked argument values (defaults filled in).
  std::function<ScheduleParts(const std::vector<double>& values, const Settings&, optim::Optimizer&)> build;
};

const std::vector<ScheduleKind>& schedule_kinds();
// The syntaxes joined by " | ", for help texts.
std::string schedule_syntaxes();

// Applies the settings' schedule once per epoch; `epoch_end(val_loss)` after each epoch.
class Schedule {
 public:
  Schedule(const Settings& settings, optim::Optimizer& optimizer);
  void epoch_end(double monitored_loss);

 private:
  ScheduleParts parts_;
};

// Throws Error (naming `origin`, the argument and its valid range) when the schedule spec is
// malformed: an unknown kind, a wrong argument count, a value that is not a finite number, not
// an integer where one is needed, or out of range (e.g. a gamma outside (0, 1]).
void check_schedule(const std::string& spec, std::int64_t epochs, const std::string& origin);

}  // namespace actlab::experiment
