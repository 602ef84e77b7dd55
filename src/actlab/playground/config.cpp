#include "actlab/playground/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "actlab/activations/activation.h"
#include "actlab/core/error.h"
#include "actlab/data/registry.h"
#include "actlab/data/synthetic.h"
#include "actlab/experiment/runner.h"
#include "actlab/experiment/settings.h"
#include "actlab/experiment/training.h"
#include "actlab/nn/init.h"
#include "actlab/nn/models.h"

namespace actlab::playground {

namespace {

using nlohmann::json;

const std::vector<std::string> kNorms = {"none", "batch", "layer"};

// A field of the request: absent keeps the default; present must have the right type.
template <typename T>
void read(const json& object, const char* key, T& out) {
  const auto it = object.find(key);
  if (it == object.end()) return;
  try {
    out = it->get<T>();
  } catch (const json::exception&) {
    fail("playground config: '{}' has the wrong type ({}); see /api/catalog for the expected fields", key,
         it->dump().substr(0, 80));
  }
}

void check_range(const char* key, double value, double low, double high) {
  ACTLAB_CHECK(std::isfinite(value) && value >= low && value <= high,
               "playground config: '{}' is {}; give a value in [{}, {}]", key, value, low, high);
}

void check_choice(const char* key, const std::string& value, const std::vector<std::string>& choices) {
  ACTLAB_CHECK(std::find(choices.begin(), choices.end(), value) != choices.end(),
               "playground config: '{}' is '{}'; choose one of {}", key, value.substr(0, 80), fmt::join(choices, ", "));
}

std::int64_t input_width(const Config& c) {
  if (!c.is_image()) return static_cast<std::int64_t>(c.features.size());
  Shape shape = data::dataset_info(c.data).sample_shape;
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::int64_t class_count(const Config& c) {
  if (c.is_image()) return data::dataset_info(c.data).classes;
  return c.data == "spirals" || c.data == "blobs" ? c.classes : 2;
}

const std::vector<std::string> kConfigKeys = {
    "data", "samples", "noise",   "train_ratio", "classes", "data_seed", "features", "hidden", "activations",
    "init", "norm",    "dropout", "l1",          "l2",      "optimizer", "lr",       "batch",  "seed"};

}  // namespace

const std::vector<std::string>& feature_names() {
  static const std::vector<std::string> names = {"x1", "x2", "x1^2", "x2^2", "x1x2", "sin x1", "sin x2"};
  return names;
}

const std::vector<std::string>& image_set_names() {
  static const std::vector<std::string> names = {"mnist", "fashion-mnist"};
  return names;
}

bool Config::is_image() const {
  return std::find(image_set_names().begin(), image_set_names().end(), data) != image_set_names().end();
}

Config parse_config(const json& object, const Limits& limits) {
  ACTLAB_CHECK(object.is_object(), "playground config: expected a JSON object, got {}", object.type_name());
  for (const auto& [key, value] : object.items())
    ACTLAB_CHECK(std::find(kConfigKeys.begin(), kConfigKeys.end(), key) != kConfigKeys.end(),
                 "playground config: unknown field '{}'; the fields are {}", key.substr(0, 80),
                 fmt::join(kConfigKeys, ", "));
  Config c;
  read(object, "data", c.data);
  read(object, "samples", c.samples);
  read(object, "noise", c.noise);
  read(object, "train_ratio", c.train_ratio);
  read(object, "classes", c.classes);
  read(object, "data_seed", c.data_seed);
  read(object, "features", c.features);
  read(object, "hidden", c.hidden);
  read(object, "activations", c.activations);
  read(object, "init", c.init);
  read(object, "norm", c.norm);
  read(object, "dropout", c.dropout);
  read(object, "l1", c.l1);
  read(object, "l2", c.l2);
  read(object, "optimizer", c.optimizer);
  read(object, "lr", c.lr);
  read(object, "batch", c.batch);
  read(object, "seed", c.seed);

  std::vector<std::string> datasets = data::synthetic_names();
  datasets.insert(datasets.end(), image_set_names().begin(), image_set_names().end());
  check_choice("data", c.data, datasets);
  const std::int64_t max_samples = c.is_image() ? limits.max_image_samples : limits.max_synthetic_samples;
  check_range("samples", static_cast<double>(c.samples), 20, static_cast<double>(max_samples));
  check_range("noise", c.noise, 0, 2);
  check_range("train_ratio", c.train_ratio, 0.1, 0.9);
  check_range("classes", static_cast<double>(c.classes), 2, 8);
  ACTLAB_CHECK(!c.features.empty(), "playground config: 'features' is empty; choose at least one of {}",
               fmt::join(feature_names(), ", "));
  std::set<std::string> seen;
  for (const auto& f : c.features) {
    check_choice("features", f, feature_names());
    ACTLAB_CHECK(seen.insert(f).second, "playground config: feature '{}' is listed twice", f);
  }
  check_range("hidden layers", static_cast<double>(c.hidden.size()), 0, static_cast<double>(limits.max_layers));
  const std::int64_t max_units = c.is_image() ? limits.max_image_units : limits.max_units;
  for (const auto units : c.hidden)
    check_range("hidden units", static_cast<double>(units), 1, static_cast<double>(max_units));
  ACTLAB_CHECK(c.activations.size() == c.hidden.size(),
               "playground config: {} activations for {} hidden layers; give one per hidden layer",
               c.activations.size(), c.hidden.size());
  for (const auto& spec : c.activations) {
    ACTLAB_CHECK(spec.size() <= 200, "playground config: an activation spec of {} characters; keep it under 200",
                 spec.size());
    make_activation(spec);  // throws naming the parameter or listing the activations
  }
  ACTLAB_CHECK(c.init.size() <= 200, "playground config: an init spec of {} characters; keep it under 200",
               c.init.size());
  nn::init::parse(c.init);
  check_choice("norm", c.norm, kNorms);
  check_range("dropout", c.dropout, 0, 0.9);
  check_range("l1", c.l1, 0, 1);
  check_range("l2", c.l2, 0, 1);
  check_choice("optimizer", c.optimizer, experiment::optimizer_names());
  check_range("lr", c.lr, 1e-6, 10);
  check_range("batch", static_cast<double>(c.batch), 1, static_cast<double>(limits.max_batch));
  const double parameters = parameter_count(c);
  ACTLAB_CHECK(parameters <= limits.max_parameters,
               "playground config: the network has {:.0f} parameters, more than the limit of {:.0f}; use fewer "
               "or narrower layers",
               parameters, limits.max_parameters);
  return c;
}

json to_json(const Config& c) {
  return {{"data", c.data},
          {"samples", c.samples},
          {"noise", c.noise},
          {"train_ratio", c.train_ratio},
          {"classes", c.classes},
          {"data_seed", c.data_seed},
          {"features", c.features},
          {"hidden", c.hidden},
          {"activations", c.activations},
          {"init", c.init},
          {"norm", c.norm},
          {"dropout", c.dropout},
          {"l1", c.l1},
          {"l2", c.l2},
          {"optimizer", c.optimizer},
          {"lr", c.lr},
          {"batch", c.batch},
          {"seed", c.seed}};
}

double parameter_count(const Config& c) {
  return nn::mlp_parameters(input_width(c), c.hidden, class_count(c), norm_of(c));
}

std::string model_spec(const Config& c) {
  return c.hidden.empty() ? std::string("mlp") : fmt::format("mlp:{}", fmt::join(c.hidden, ","));
}

nn::Norm norm_of(const Config& c) {
  if (c.norm == "batch") return nn::Norm::Batch;
  if (c.norm == "layer") return nn::Norm::Layer;
  return nn::Norm::None;
}

std::string to_toml(const Config& c, std::int64_t samples_seen) {
  experiment::Experiment e;
  experiment::Settings& s = e.base;
  s.name = "playground";
  s.data = c.data;
  s.model = model_spec(c);
  s.activations = {c.activations.empty() ? std::string("relu") : c.activations.front()};
  s.batch = c.batch;
  s.optimizer = c.optimizer;
  s.lr = c.lr;
  s.schedule = "none";
  s.weight_decay = c.l2;
  s.init = c.init;
  s.norm = c.norm;
  s.dropout = c.dropout;
  s.seeds = {c.seed};
  s.val_size = 0;
  // compare trains on the image subset's samples, or on the 2-D points it generates itself.
  if (c.is_image()) s.limit_train = std::llround(c.samples * c.train_ratio);
  const std::int64_t train_size = c.is_image() ? s.limit_train : experiment::load_options(s).synthetic.samples;
  s.epochs = std::max<std::int64_t>(1, (samples_seen + train_size - 1) / train_size);
  std::string notes;
  if (std::any_of(c.activations.begin(), c.activations.end(), [&](const auto& a) { return a != s.activations[0]; }))
    notes += fmt::format("# per-layer activations ({}): compare uses the first for every layer\n",
                         fmt::join(c.activations, ", "));
  if (!c.is_image() && c.features != std::vector<std::string>{"x1", "x2"})
    notes += fmt::format("# input features ({}): compare trains on x1, x2\n", fmt::join(c.features, ", "));
  if (c.l1 > 0) notes += fmt::format("# L1 penalty {}: compare has none\n", c.l1);
  if (!c.is_image())
    notes +=
        fmt::format("# compare generates its own 2-D points ({} training samples, the catalog's noise)\n", train_size);
  return "# Exported by `actlab serve`; run with: actlab compare --config FILE\n" + notes + experiment::to_toml(e);
}

std::vector<std::string> image_sets_present(const std::optional<std::filesystem::path>& data_dir) {
  const auto dir = data::resolve_data_dir(data_dir).path;
  std::vector<std::string> present;
  for (const auto& name : image_set_names()) {
    std::error_code error;
    if (std::filesystem::is_directory(dir / data::dataset_spec(name).folder, error)) present.push_back(name);
  }
  return present;
}

json catalog(const Limits& limits, const std::optional<std::filesystem::path>& data_dir) {
  json activations = json::array();
  for (const ActivationInfo* info : registered_activations()) {
    json params = json::array();
    for (const auto& p : info->params)
      params.push_back({{"name", p.name},
                        {"default", p.default_value},
                        {"doc", p.doc},
                        {"integer", p.integer},
                        {"min", p.min},
                        {"max", p.max}});
    activations.push_back(
        {{"name", info->name}, {"formula", info->formula}, {"learnable", info->learnable}, {"params", params}});
  }
  return {{"synthetic", data::synthetic_names()},
          {"images", image_sets_present(data_dir)},
          {"features", feature_names()},
          {"activations", activations},
          {"inits", nn::init::names()},
          {"norms", kNorms},
          {"optimizers", experiment::optimizer_names()},
          {"defaults", to_json(Config{})},
          {"limits",
           {{"max_sessions", limits.max_sessions},
            {"max_layers", limits.max_layers},
            {"max_units", limits.max_units},
            {"max_image_units", limits.max_image_units},
            {"max_parameters", limits.max_parameters},
            {"max_synthetic_samples", limits.max_synthetic_samples},
            {"max_image_samples", limits.max_image_samples},
            {"max_batch", limits.max_batch}}}};
}

}  // namespace actlab::playground
