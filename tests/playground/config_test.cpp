// Playground configs: every field checked, the JSON form round-trips, the export loads in compare.
#include "actlab/playground/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "actlab/core/error.h"
#include "actlab/experiment/settings.h"

namespace actlab::playground {
namespace {

using nlohmann::json;

std::string refusal(const json& config, const Limits& limits = {}) {
  try {
    parse_config(config, limits);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PlaygroundConfig, RoundTripsThroughJson) {
  Config c;
  c.data = "circles";
  c.features = {"x1", "x2", "x1x2", "sin x2"};
  c.hidden = {4, 3, 2};
  c.activations = {"relu", "leaky_relu:negative_slope=0.2", "tanh"};
  c.l1 = 0.001;
  EXPECT_EQ(parse_config(to_json(c), {}), c);
  EXPECT_EQ(parse_config(json::object(), {}), Config{});
}

TEST(PlaygroundConfig, RefusesEveryBadFieldWithAMessage) {
  EXPECT_NE(refusal(json::array()).find("JSON object"), std::string::npos);
  EXPECT_NE(refusal({{"colour", 1}}).find("unknown field 'colour'"), std::string::npos);
  EXPECT_NE(refusal({{"lr", "fast"}}).find("'lr' has the wrong type"), std::string::npos);
  EXPECT_NE(refusal({{"lr", -1}}).find("'lr' is -1"), std::string::npos);
  EXPECT_NE(refusal({{"data", "../../etc/passwd"}}).find("choose one of"), std::string::npos);
  EXPECT_NE(refusal({{"samples", 1'000'000}}).find("'samples'"), std::string::npos);
  EXPECT_NE(refusal({{"features", json::array()}}).find("'features' is empty"), std::string::npos);
  EXPECT_NE(refusal({{"features", {"x1", "x1"}}}).find("listed twice"), std::string::npos);
  EXPECT_NE(refusal({{"features", {"x3"}}}).find("'x3'"), std::string::npos);
  EXPECT_NE(refusal({{"hidden", {8}}}).find("2 activations for 1 hidden layers"), std::string::npos);
  EXPECT_NE(refusal({{"hidden", {8, 0}}}).find("hidden units"), std::string::npos);
  EXPECT_NE(refusal({{"activations", {"tanh", "no_such_activation"}}}).find("no_such_activation"), std::string::npos);
  EXPECT_NE(refusal({{"activations", {"tanh", "leaky_relu:negative_slope=nan"}}}), "");
  EXPECT_NE(refusal({{"init", "magic"}}), "");
  EXPECT_NE(refusal({{"optimizer", "newton"}}).find("choose one of"), std::string::npos);
  EXPECT_NE(refusal({{"batch", 0}}).find("'batch'"), std::string::npos);
  Limits small;
  small.max_parameters = 50;
  EXPECT_NE(refusal(json::object(), small).find("parameters, more than the limit of 50"), std::string::npos);
  const json too_deep = {{"hidden", std::vector<int>(7, 2)}, {"activations", std::vector<std::string>(7, "relu")}};
  EXPECT_NE(refusal(too_deep).find("hidden layers"), std::string::npos);
}

TEST(PlaygroundConfig, ExportLoadsAsACompareConfig) {
  Config c;
  c.hidden = {6, 5};
  c.activations = {"gelu", "relu"};
  c.lr = 0.01;
  c.optimizer = "sgd";
  const std::string toml = to_toml(c, 2 * 4000 + 1);  // a little over two epochs of compare's 4000 points
  EXPECT_NE(toml.find("per-layer activations (gelu, relu)"), std::string::npos);
  const auto path = std::filesystem::temp_directory_path() / "actlab-playground-export.toml";
  std::ofstream(path) << toml;
  const experiment::Experiment e = experiment::load_config(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(e.base.data, "spirals");
  EXPECT_EQ(e.base.model, "mlp:6,5");
  EXPECT_EQ(e.base.activations, std::vector<std::string>{"gelu"});
  EXPECT_EQ(e.base.epochs, 3);
  EXPECT_EQ(e.base.optimizer, "sgd");
  EXPECT_DOUBLE_EQ(e.base.lr, 0.01);
}

}  // namespace
}  // namespace actlab::playground
