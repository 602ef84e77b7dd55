// A playground experiment as the page describes it: the data (a 2-D set with its input features,
// or an MNIST / Fashion-MNIST subset), the network (hidden layers, one activation spec each) and
// the training settings. Everything a request sends is checked here against the Limits, so a
// session is only ever built from a valid, bounded config.
//
//   parse_config(json, limits)   the page's JSON -> Config; throws Error naming the field, the
//                                value and the accepted range for anything else
//   to_json(config)              the same JSON back (parse_config(to_json(c)) == c)
//   to_toml(config, seen)        an `actlab compare` config of the experiment, with a comment for
//                                what compare cannot express (per-layer activations, features, L1);
//                                its epochs see about `seen` training samples (at least one epoch)
//   catalog(limits, data_dir)    the choices the page offers: datasets present, activations with
//                                their parameters, inits, optimizers, features, the limits
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "actlab/nn/models.h"

namespace actlab::playground {

struct Limits {
  std::int64_t max_sessions = 8;
  std::int64_t max_streams_per_session = 4;
  std::int64_t max_layers = 6;
  std::int64_t max_units = 64;         // per hidden layer of a 2-D set
  std::int64_t max_image_units = 256;  // per hidden layer of an image set
  double max_parameters = 300'000;
  std::int64_t max_synthetic_samples = 5000;
  std::int64_t max_image_samples = 10'000;  // training and test samples of an image subset together
  std::int64_t max_batch = 1000;
  std::int64_t max_body_bytes = 64 * 1024;
  double idle_seconds = 300;  // a session nobody asked about for this long is ended
};

// The input features of a 2-D set, in the order they become input columns.
const std::vector<std::string>& feature_names();
// The image sets the playground offers (when their files are present).
const std::vector<std::string>& image_set_names();

struct Config {
  std::string data = "spirals";
  std::int64_t samples = 600;  // 2-D: generated points; images: the subset's size
  double noise = 0.1;          // 2-D sets
  double train_ratio = 0.5;    // fraction of the samples used for training, the rest tests
  std::int64_t classes = 2;    // spirals and blobs
  std::uint64_t data_seed = 1;
  std::vector<std::string> features = {"x1", "x2"};
  std::vector<std::int64_t> hidden = {8, 8};
  std::vector<std::string> activations = {"tanh", "tanh"};  // one spec per hidden layer
  std::string init = "xavier";
  std::string norm = "none";  // none | batch | layer
  double dropout = 0;
  double l1 = 0;  // L1 penalty on the weights, added to the loss
  double l2 = 0;  // weight decay of the optimizer
  std::string optimizer = "adam";
  double lr = 0.03;
  std::int64_t batch = 10;
  std::uint64_t seed = 1;  // initial weights, batch order and dropout masks

  bool is_image() const;
  bool operator==(const Config&) const = default;
};

Config parse_config(const nlohmann::json& json, const Limits& limits);
nlohmann::json to_json(const Config& config);
std::string to_toml(const Config& config, std::int64_t samples_seen = 0);

// The parameters of the config's network (input width from the features or the image size).
double parameter_count(const Config& config);
// The network as a model spec ("mlp:8,8") and its normalization.
std::string model_spec(const Config& config);
nn::Norm norm_of(const Config& config);

nlohmann::json catalog(const Limits& limits, const std::optional<std::filesystem::path>& data_dir);

// The image sets whose files are in the data dir.
std::vector<std::string> image_sets_present(const std::optional<std::filesystem::path>& data_dir);

}  // namespace actlab::playground
