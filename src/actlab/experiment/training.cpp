#include "actlab/experiment/training.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <sstream>

#include "actlab/nn/init.h"

namespace actlab::experiment {
namespace {

std::int64_t positive_int(const std::string& text, const std::string& what) {
  std::size_t used = 0;
  std::int64_t v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  ACTLAB_CHECK(used == text.size() && v >= 1, "{}: '{}' is not a positive integer", what, text);
  return v;
}

double number(const std::string& text, const std::string& what) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  ACTLAB_CHECK(used == text.size() && !text.empty(), "{}: '{}' is not a number", what, text);
  return v;
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

void require_image(const Shape& shape, const Shape& expected, const std::string& model) {
  ACTLAB_CHECK(shape == expected, "model '{}' needs images of shape {} but the data has samples of shape {}; "
               "use --model mlp:256,256 (any shape) or a dataset of that shape",
               model, shape_str(expected), shape_str(shape));
}

}  // namespace

std::string init_scheme(const std::string& name) { return nn::init::parse(name).canonical(); }

std::shared_ptr<nn::Module> make_model(const Settings& settings, const Shape& sample_shape, std::int64_t classes,
                                       std::uint64_t seed) {
  ACTLAB_CHECK(settings.activations.size() == 1, "make_model: needs exactly one activation, got {}",
               settings.activations.size());
  nn::ModelOptions options;
  options.activation = settings.activations.front();
  options.init = init_scheme(settings.init);
  options.norm = norm_of(settings.norm);
  options.dropout = settings.dropout;
  options.seed = seed;
  const std::string& model = settings.model;
  const auto colon = model.find(':');
  const std::string kind = model.substr(0, colon);
  const std::string args = colon == std::string::npos ? "" : model.substr(colon + 1);
  if (kind == "mlp") {
    ACTLAB_CHECK(!args.empty(), "model 'mlp' needs hidden widths, e.g. mlp:256,256 or mlp:256x4");
    return nn::mlp(numel_of(sample_shape), hidden_widths(args, model), classes, options);
  }
  ACTLAB_CHECK(args.empty() || kind == "resnet-small", "model '{}' takes no arguments", model);
  if (kind == "lenet5") {
    require_image(sample_shape, {1, 28, 28}, model);
    return nn::lenet5(options, classes);
  }
  if (kind == "cifar-cnn") {
    require_image(sample_shape, {3, 32, 32}, model);
    return nn::cifar_cnn(options, classes);
  }
  if (kind == "resnet-small") {
    require_image(sample_shape, {3, 32, 32}, model);
    return nn::resnet_small(options, classes, args.empty() ? 3 : positive_int(args, "model '" + model + "'"));
  }
  fail("unknown model '{}'; valid: mlp:WIDTH,... (e.g. mlp:256,256 or mlp:256x4), lenet5, cifar-cnn, resnet-small[:BLOCKS]",
       model);
}

namespace {

// An optimizer whose options take the settings' learning rate and weight decay.
template <typename Optimizer, typename Options>
std::unique_ptr<optim::Optimizer> with_lr_and_decay(const Settings& s, const std::vector<Tensor>& parameters,
                                                    Options options = {}) {
  options.lr = s.lr;
  options.weight_decay = s.weight_decay;
  return std::make_unique<Optimizer>(parameters, options);
}

}  // namespace

std::unique_ptr<optim::Optimizer> make_optimizer(const Settings& s, const std::vector<Tensor>& parameters) {
  const std::string& name = s.optimizer;
  if (name == "sgd" || name == "momentum" || name == "nesterov") {
    optim::SGDOptions o;
    o.momentum = name == "sgd" ? 0.0 : s.momentum;
    o.nesterov = name == "nesterov";
    return with_lr_and_decay<optim::SGD>(s, parameters, o);
  }
  if (name == "rmsprop") return with_lr_and_decay<optim::RMSProp, optim::RMSPropOptions>(s, parameters);
  if (name == "adagrad") return with_lr_and_decay<optim::Adagrad, optim::AdagradOptions>(s, parameters);
  if (name == "adam") return with_lr_and_decay<optim::Adam, optim::AdamOptions>(s, parameters);
  if (name == "adamw") return with_lr_and_decay<optim::AdamW, optim::AdamWOptions>(s, parameters);
  fail("unknown optimizer '{}'", name);
}

void check_schedule(const std::string& spec, std::int64_t epochs, const std::string& origin) {
  const auto parts = split_list(spec, ':');
  const std::string& kind = parts.front();
  const std::string what = origin + ": schedule '" + spec + "'";
  auto arity = [&](std::size_t low, std::size_t high) {
    ACTLAB_CHECK(parts.size() - 1 >= low && parts.size() - 1 <= high, "{}: takes {} to {} argument(s)", what, low, high);
  };
  if (kind == "none") return arity(0, 0);
  if (kind == "step") {
    arity(1, 2);
    positive_int(parts[1], what);
    if (parts.size() > 2) number(parts[2], what);
    return;
  }
  if (kind == "exponential") {
    arity(1, 1);
    number(parts[1], what);
    return;
  }
  if (kind == "cosine" || kind == "warmup") {
    arity(kind == "cosine" ? 0 : 1, 1);
    if (parts.size() > 1) {
      const std::int64_t warmup = positive_int(parts[1], what);
      ACTLAB_CHECK(kind == "warmup" || warmup < epochs, "{}: warmup {} must be shorter than the {} epochs", what, warmup, epochs);
    }
    return;
  }
  if (kind == "plateau") {
    arity(0, 1);
    if (parts.size() > 1) positive_int(parts[1], what);
    return;
  }
  fail("{}: unknown; valid: none, step:EPOCHS[:GAMMA], exponential:GAMMA, cosine[:WARMUP], warmup:EPOCHS, "
       "plateau[:PATIENCE]",
       what);
}

Schedule::Schedule(const Settings& s, optim::Optimizer& optimizer) {
  check_schedule(s.schedule, s.epochs, "schedule");
  const auto parts = split_list(s.schedule, ':');
  const std::string& kind = parts.front();
  if (kind == "step")
    scheduler_ = std::make_unique<optim::StepLR>(optimizer, std::stoll(parts[1]), parts.size() > 2 ? std::stod(parts[2]) : 0.1);
  else if (kind == "exponential")
    scheduler_ = std::make_unique<optim::ExponentialLR>(optimizer, std::stod(parts[1]));
  else if (kind == "cosine")
    scheduler_ = std::make_unique<optim::CosineLR>(optimizer, s.epochs, 0.0, parts.size() > 1 ? std::stoll(parts[1]) : 0);
  else if (kind == "warmup")
    scheduler_ = std::make_unique<optim::LinearWarmupLR>(optimizer, std::stoll(parts[1]));
  else if (kind == "plateau") {
    optim::PlateauOptions o;
    o.patience = parts.size() > 1 ? std::stoll(parts[1]) : 2;
    plateau_ = std::make_unique<optim::ReduceLROnPlateau>(optimizer, o);
  }
}

void Schedule::epoch_end(double monitored_loss) {
  if (scheduler_) scheduler_->step();
  if (plateau_) plateau_->step(monitored_loss);
}

}  // namespace actlab::experiment
