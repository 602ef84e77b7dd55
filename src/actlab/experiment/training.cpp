#include "actlab/experiment/training.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <sstream>

#include "actlab/core/parse.h"
#include "actlab/data/registry.h"
#include "actlab/nn/init.h"

namespace actlab::experiment {
namespace {

std::int64_t positive_int(const std::string& text, const std::string& what) {
  const std::optional<std::int64_t> v = parse_integer(text);
  ACTLAB_CHECK(v && *v >= 1, "{}: '{}' is not a positive integer", what, text);
  return *v;
}

double number(const std::string& text, const std::string& what) {
  const std::optional<double> v = parse_number(text);
  ACTLAB_CHECK(v.has_value(), "{}: '{}' is not a number", what, text);
  return *v;
}

// "256,256" or "256x4" or "512,256x2" -> hidden widths.
std::vector<std::int64_t> hidden_widths(const std::string& spec, const std::string& model) {
  std::vector<std::int64_t> widths;
  const std::string what = fmt::format("model '{}'", model);
  for (const auto& part : split_list(spec, ',')) {
    const auto x = part.find('x');
    const std::int64_t width = positive_int(part.substr(0, x), what);
    const std::int64_t repeat = x == std::string::npos ? 1 : positive_int(part.substr(x + 1), what);
    ACTLAB_CHECK(repeat <= 1000, "{}: {} layers is more than this laboratory is meant for", what, repeat);
    widths.insert(widths.end(), static_cast<std::size_t>(repeat), width);
  }
  return widths;
}

nn::Norm norm_of(const std::string& name) {
  if (name == "batch") return nn::Norm::Batch;
  if (name == "layer") return nn::Norm::Layer;
  return nn::Norm::None;
}

std::vector<std::int64_t> mlp_widths(const ModelRequest& r) {
  ACTLAB_CHECK(!r.args.empty(), "model 'mlp' needs hidden widths, e.g. mlp:256,256 or mlp:256x4");
  return hidden_widths(r.args, r.spec);
}

void no_args(const ModelRequest& r) { ACTLAB_CHECK(r.args.empty(), "model '{}' takes no arguments", r.spec); }

std::int64_t resnet_blocks(const ModelRequest& r) {
  const std::int64_t blocks = r.args.empty() ? 3 : positive_int(r.args, "model '" + r.spec + "'");
  ACTLAB_CHECK(blocks <= 1000, "model '{}': {} blocks per stage is more than this laboratory is meant for", r.spec,
               blocks);
  return blocks;
}

// 123456789 -> "123,456,789"; counts past 1e15 in scientific notation.
std::string count_text(double count) {
  if (count >= 1e15) return fmt::format("{:.3g}", count);
  const std::string digits = fmt::format("{:.0f}", count);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string bytes_text(double bytes) {
  if (bytes >= 1e9) return fmt::format("{:.3g} GB", bytes / 1e9);
  return fmt::format("{:.3g} MB", bytes / 1e6);
}

// "128" or "128x2" -> a stack of that width and depth over the request's [T, I] or [1, T, I].
nn::SequenceModelShape sequence_shape(nn::RecurrentBase::Cell cell, const ModelRequest& r) {
  const std::string name = r.spec.substr(0, r.spec.find(':'));
  ACTLAB_CHECK(!r.args.empty() && r.args.find(',') == std::string::npos,
               "model '{}' needs a hidden size and optionally a depth, e.g. {}:128 or {}:128x2", r.spec, name, name);
  const std::vector<std::int64_t> widths = hidden_widths(r.args, r.spec);
  const Shape& sample = r.sample_shape;
  ACTLAB_CHECK(sample.size() == 2 || (sample.size() == 3 && sample[0] == 1),
               "model '{}' reads sequences [T, I] (or one-channel images row by row), but the data has samples of "
               "shape {}; use a sequence dataset such as seq-mnist or adding:100", r.spec, shape_str(sample));
  nn::SequenceModelShape shape;
  shape.cell = cell;
  shape.input = sample.back();
  shape.hidden = widths.front();
  shape.layers = static_cast<std::int64_t>(widths.size());
  shape.outputs = r.classes;
  shape.per_step = r.per_step;
  ACTLAB_CHECK(r.norm == nn::Norm::None, "model '{}': norm applies to mlp and convolutional models; set norm = none",
               r.spec);
  return shape;
}

ModelKind recurrent_kind(std::string name, nn::RecurrentBase::Cell cell, std::string help) {
  return {name, name + ":HIDDEN[xLAYERS]", std::move(help), std::nullopt,
          [cell](const ModelRequest& r) { return nn::sequence_model_parameters(sequence_shape(cell, r)); },
          [cell](const ModelRequest& r, const nn::ModelOptions& o) -> std::shared_ptr<nn::Module> {
            return nn::sequence_model(sequence_shape(cell, r), o);
          }};
}

}  // namespace

std::string init_scheme(const std::string& name) { return nn::init::parse(name).canonical(); }

const std::vector<ModelKind>& model_kinds() {
  static const std::vector<ModelKind> kinds = {
      {"mlp", "mlp:WIDTH[xREPEAT],...", "fully connected layers of these widths (mlp:256,256 or mlp:256x4), any sample shape",
       std::nullopt,
       [](const ModelRequest& r) { return nn::mlp_parameters(numel_of(r.sample_shape), mlp_widths(r), r.classes, r.norm); },
       [](const ModelRequest& r, const nn::ModelOptions& o) -> std::shared_ptr<nn::Module> {
         return nn::mlp(numel_of(r.sample_shape), mlp_widths(r), r.classes, o);
       }},
      {"lenet5", "lenet5", "LeNet-5 (LeCun et al. 1998) for 1x28x28 images", Shape{1, 28, 28},
       [](const ModelRequest& r) {
         no_args(r);
         return nn::lenet5_parameters(r.norm, r.classes);
       },
       [](const ModelRequest& r, const nn::ModelOptions& o) -> std::shared_ptr<nn::Module> {
         return nn::lenet5(o, r.classes);
       }},
      {"cifar-cnn", "cifar-cnn", "VGG-style network for 3x32x32 images", Shape{3, 32, 32},
       [](const ModelRequest& r) {
         no_args(r);
         return nn::cifar_cnn_parameters(r.norm, r.classes);
       },
       [](const ModelRequest& r, const nn::ModelOptions& o) -> std::shared_ptr<nn::Module> {
         return nn::cifar_cnn(o, r.classes);
       }},
      {"resnet-small", "resnet-small[:BLOCKS]",
       "CIFAR ResNet (He et al. 2016) with BLOCKS basic blocks per stage (3: ResNet-20) for 3x32x32 images",
       Shape{3, 32, 32},
       [](const ModelRequest& r) { return nn::resnet_small_parameters(r.norm, r.classes, resnet_blocks(r)); },
       [](const ModelRequest& r, const nn::ModelOptions& o) -> std::shared_ptr<nn::Module> {
         return nn::resnet_small(o, r.classes, resnet_blocks(r));
       }},
      recurrent_kind("rnn", nn::RecurrentBase::Cell::rnn,
                     "Elman RNN layers (rnn:128, rnn:128x2) and a linear head on the last step (every step for "
                     "per-step data); the activation is its nonlinearity"),
      recurrent_kind("lstm", nn::RecurrentBase::Cell::lstm,
                     "LSTM layers and a linear head; the activation replaces tanh in the candidate and the cell "
                     "output, the gates stay sigmoid"),
      recurrent_kind("gru", nn::RecurrentBase::Cell::gru,
                     "GRU layers and a linear head; the activation replaces tanh in the candidate, the gates stay "
                     "sigmoid"),
  };
  return kinds;
}

const ModelKind& model_kind(const std::string& spec) {
  const std::string name = spec.substr(0, spec.find(':'));
  for (const ModelKind& kind : model_kinds())
    if (kind.name == name) return kind;
  fail("unknown model '{}'; valid: {}", spec, model_syntaxes());
}

std::string model_syntaxes() {
  std::vector<std::string> syntaxes;
  for (const ModelKind& kind : model_kinds()) syntaxes.push_back(kind.syntax);
  return fmt::format("{}", fmt::join(syntaxes, " | "));
}

namespace {

ModelRequest model_request(const Settings& s, const Shape& sample_shape, std::int64_t classes) {
  const auto colon = s.model.find(':');
  return {s.model, colon == std::string::npos ? "" : s.model.substr(colon + 1), sample_shape, classes, norm_of(s.norm),
          data::dataset_info(s.data).target == data::Target::ClassPerStep};
}

void require_sample_shape(const ModelKind& kind, const ModelRequest& r) {
  ACTLAB_CHECK(!kind.sample_shape || *kind.sample_shape == r.sample_shape,
               "model '{}' needs images of shape {} but the data has samples of shape {}; "
               "use --model mlp:256,256 (any shape) or a dataset of that shape",
               r.spec, shape_str(kind.sample_shape.value_or(Shape{})), shape_str(r.sample_shape));
}

}  // namespace

ModelSize model_size(const Settings& s, const Shape& sample_shape, std::int64_t classes) {
  const ModelKind& kind = model_kind(s.model);
  const ModelRequest request = model_request(s, sample_shape, classes);
  require_sample_shape(kind, request);
  ModelSize size;
  size.parameters = kind.parameters(request);
  const double copies = 2.0 + static_cast<double>(optimizer_kind(s.optimizer).state_buffers);
  size.bytes = size.parameters * copies * static_cast<double>(element_size(kFloat32));
  return size;
}

std::shared_ptr<nn::Module> make_model(const Settings& settings, const Shape& sample_shape, std::int64_t classes,
                                       std::uint64_t seed) {
  ACTLAB_CHECK(settings.activations.size() == 1, "make_model: needs exactly one activation, got {}",
               settings.activations.size());
  const ModelSize size = model_size(settings, sample_shape, classes);
  ACTLAB_CHECK(size.parameters <= static_cast<double>(settings.max_parameters),
               "model '{}' has {} parameters (about {} for weights, gradients and {} state), more than "
               "max_parameters = {}; choose a smaller model, or raise max_parameters if the machine has the memory",
               settings.model, count_text(size.parameters), bytes_text(size.bytes), settings.optimizer,
               count_text(static_cast<double>(settings.max_parameters)));
  nn::ModelOptions options;
  options.activation = settings.activations.front();
  options.init = init_scheme(settings.init);
  options.norm = norm_of(settings.norm);
  options.dropout = settings.dropout;
  if (settings.forget_bias != 0) options.forget_bias = settings.forget_bias;
  options.seed = seed;
  return model_kind(settings.model).build(model_request(settings, sample_shape, classes), options);
}

// ---- optimizers ----

namespace {

// An optimizer whose options take the settings' learning rate and weight decay.
template <typename Optimizer, typename Options>
std::unique_ptr<optim::Optimizer> with_lr_and_decay(const Settings& s, const std::vector<Tensor>& parameters,
                                                    Options options = {}) {
  options.lr = s.lr;
  options.weight_decay = s.weight_decay;
  return std::make_unique<Optimizer>(parameters, options);
}

template <typename Optimizer, typename Options>
std::unique_ptr<optim::Optimizer> plain(const Settings& s, const std::vector<Tensor>& parameters) {
  return with_lr_and_decay<Optimizer, Options>(s, parameters);
}

std::unique_ptr<optim::Optimizer> sgd(const Settings& s, const std::vector<Tensor>& parameters, double momentum,
                                      bool nesterov) {
  optim::SGDOptions o;
  o.momentum = momentum;
  o.nesterov = nesterov;
  return with_lr_and_decay<optim::SGD>(s, parameters, o);
}

}  // namespace

const std::vector<OptimizerKind>& optimizer_kinds() {
  static const std::vector<OptimizerKind> kinds = {
      {"sgd", "plain stochastic gradient descent", 0,
       [](const Settings& s, const std::vector<Tensor>& p) { return sgd(s, p, 0.0, false); }},
      {"momentum", "SGD with heavy-ball momentum (the momentum setting)", 1,
       [](const Settings& s, const std::vector<Tensor>& p) { return sgd(s, p, s.momentum, false); }},
      {"nesterov", "SGD with Nesterov momentum (the momentum setting)", 1,
       [](const Settings& s, const std::vector<Tensor>& p) { return sgd(s, p, s.momentum, true); }},
      {"rmsprop", "RMSProp (Hinton 2012), alpha 0.99", 1, plain<optim::RMSProp, optim::RMSPropOptions>},
      {"adagrad", "Adagrad (Duchi et al. 2011)", 1, plain<optim::Adagrad, optim::AdagradOptions>},
      {"adam", "Adam (Kingma & Ba 2015), betas 0.9, 0.999", 2, plain<optim::Adam, optim::AdamOptions>},
      {"adamw", "AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay", 2,
       plain<optim::AdamW, optim::AdamWOptions>},
  };
  return kinds;
}

std::vector<std::string> optimizer_names() {
  std::vector<std::string> names;
  for (const OptimizerKind& kind : optimizer_kinds()) names.push_back(kind.name);
  return names;
}

const OptimizerKind& optimizer_kind(const std::string& name) {
  for (const OptimizerKind& kind : optimizer_kinds())
    if (kind.name == name) return kind;
  fail("unknown optimizer '{}'; valid: {}", name, fmt::join(optimizer_names(), ", "));
}

std::unique_ptr<optim::Optimizer> make_optimizer(const Settings& s, const std::vector<Tensor>& parameters) {
  return optimizer_kind(s.optimizer).build(s, parameters);
}

// ---- schedules ----

namespace {

constexpr double kMaxEpochs = 1e9;

ScheduleParam epochs_param(std::string name, double low, std::optional<double> default_value = std::nullopt) {
  return {std::move(name), true, low, kMaxEpochs, false, false, default_value};
}

// A decay factor: the rate is multiplied by it, so it lies in (0, 1] (1: no decay).
ScheduleParam gamma_param(std::optional<double> default_value = std::nullopt) {
  return {"gamma", false, 0, 1, true, false, default_value};
}

std::int64_t integer(double value) { return static_cast<std::int64_t>(value); }

std::string range_text(const ScheduleParam& p) {
  return fmt::format("{}{}, {}{}", p.low_open ? "(" : "[", p.low, p.high, p.high_open ? ")" : "]");
}

// The value of `param` in `text`, checked: a finite number (an integer if it must be) in range.
double param_value(const ScheduleParam& param, const std::string& text, const std::string& what) {
  const double v = number(text, what);
  ACTLAB_CHECK(std::isfinite(v), "{}: {} must be a finite number, got '{}'", what, param.name, text);
  ACTLAB_CHECK(!param.integer || v == std::floor(v), "{}: {} must be an integer, got '{}'", what, param.name, text);
  const bool above = param.low_open ? v > param.low : v >= param.low;
  const bool below = param.high_open ? v < param.high : v <= param.high;
  ACTLAB_CHECK(above && below, "{}: {} must be in {}, got {}", what, param.name, range_text(param), text);
  return v;
}

const ScheduleKind& schedule_kind(const std::string& name, const std::string& what) {
  for (const ScheduleKind& kind : schedule_kinds())
    if (kind.name == name) return kind;
  fail("{}: unknown; valid: {}", what, schedule_syntaxes());
}

// The checked argument values of `spec`, defaults filled in.
std::vector<double> schedule_values(const std::string& spec, std::int64_t epochs, const std::string& what) {
  const auto parts = split_list(spec, ':');
  const ScheduleKind& kind = schedule_kind(parts.front(), what);
  const std::size_t given = parts.size() - 1;
  std::size_t required = 0;
  for (const ScheduleParam& p : kind.params) required += p.default_value ? 0 : 1;
  ACTLAB_CHECK(given >= required && given <= kind.params.size(), "{}: takes {} to {} argument(s) ({})", what, required,
               kind.params.size(), kind.syntax);
  std::vector<double> values;
  for (std::size_t i = 0; i < kind.params.size(); ++i)
    values.push_back(i < given ? param_value(kind.params[i], parts[i + 1], what) : *kind.params[i].default_value);
  if (kind.check) kind.check(values, epochs, what);
  return values;
}

template <typename Scheduler, typename... Args>
ScheduleParts scheduled(Args&&... args) {
  return {std::make_unique<Scheduler>(std::forward<Args>(args)...), nullptr};
}

}  // namespace

const std::vector<ScheduleKind>& schedule_kinds() {
  static const std::vector<ScheduleKind> kinds = {
      {"none", "none", "a constant learning rate", {}, {},
       [](const std::vector<double>&, const Settings&, optim::Optimizer&) { return ScheduleParts{}; }},
      {"step", "step:EPOCHS[:GAMMA]", "multiply the rate by GAMMA (default 0.1) every EPOCHS epochs",
       {epochs_param("epochs", 1), gamma_param(0.1)}, {},
       [](const std::vector<double>& v, const Settings&, optim::Optimizer& o) {
         return scheduled<optim::StepLR>(o, integer(v[0]), v[1]);
       }},
      {"exponential", "exponential:GAMMA", "multiply the rate by GAMMA every epoch", {gamma_param()}, {},
       [](const std::vector<double>& v, const Settings&, optim::Optimizer& o) {
         return scheduled<optim::ExponentialLR>(o, v[0]);
       }},
      {"cosine", "cosine[:WARMUP_EPOCHS]", "cosine decay to 0 over the run, after a linear warmup (default none)",
       {epochs_param("warmup", 0, 0.0)},
       [](const std::vector<double>& v, std::int64_t epochs, const std::string& what) {
         ACTLAB_CHECK(integer(v[0]) < epochs, "{}: warmup {} must be shorter than the {} epochs", what, integer(v[0]),
                      epochs);
       },
       [](const std::vector<double>& v, const Settings& s, optim::Optimizer& o) {
         return scheduled<optim::CosineLR>(o, s.epochs, 0.0, integer(v[0]));
       }},
      {"warmup", "warmup:EPOCHS", "linear warmup from a third of the rate over EPOCHS epochs, then constant",
       {epochs_param("epochs", 1)}, {},
       [](const std::vector<double>& v, const Settings&, optim::Optimizer& o) {
         return scheduled<optim::LinearWarmupLR>(o, integer(v[0]));
       }},
      {"plateau", "plateau[:PATIENCE]",
       "divide the rate by 10 after PATIENCE (default 2) epochs without a better validation loss",
       {epochs_param("patience", 1, 2.0)}, {},
       [](const std::vector<double>& v, const Settings&, optim::Optimizer& o) {
         optim::PlateauOptions options;
         options.patience = integer(v[0]);
         return ScheduleParts{nullptr, std::make_unique<optim::ReduceLROnPlateau>(o, options)};
       }},
  };
  return kinds;
}

std::string schedule_syntaxes() {
  std::vector<std::string> syntaxes;
  for (const ScheduleKind& kind : schedule_kinds()) syntaxes.push_back(kind.syntax);
  return fmt::format("{}", fmt::join(syntaxes, " | "));
}

void check_schedule(const std::string& spec, std::int64_t epochs, const std::string& origin) {
  schedule_values(spec, epochs, origin + ": schedule '" + spec + "'");
}

Schedule::Schedule(const Settings& s, optim::Optimizer& optimizer) {
  const std::string what = "schedule: schedule '" + s.schedule + "'";
  const std::vector<double> values = schedule_values(s.schedule, s.epochs, what);
  parts_ = schedule_kind(split_list(s.schedule, ':').front(), what).build(values, s, optimizer);
}

void Schedule::epoch_end(double monitored_loss) {
  if (parts_.scheduler) parts_.scheduler->step();
  if (parts_.plateau) parts_.plateau->step(monitored_loss);
}

}  // namespace actlab::experiment
