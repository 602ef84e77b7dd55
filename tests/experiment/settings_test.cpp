#include "actlab/experiment/settings.h"

#include <gtest/gtest.h>

#include "test_util.h"

#include <filesystem>
#include <fstream>

#include "actlab/core/error.h"

namespace actlab::experiment {
namespace {

std::string write_config(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("actlab_settings_" + name + ".toml");
  std::ofstream(path) << text;
  return path.string();
}

using testing::error_of;

TEST(Settings, TextFormsRoundTrip) {
  Settings s;
  set_setting(s, "lr", "0.05", "--lr");
  set_setting(s, "seeds", "3", "--seeds");
  set_setting(s, "activations", "relu,softplus:beta=2,threshold=20,leaky_relu:0.1", "--activations");
  EXPECT_DOUBLE_EQ(s.lr, 0.05);
  EXPECT_EQ(s.seeds, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(s.activations, (std::vector<std::string>{"relu", "softplus:beta=2,threshold=20", "leaky_relu:0.1"}));
  EXPECT_EQ(get_setting(s, "seeds"), "1,2,3");
  set_setting(s, "seeds", "4,9", "--seeds");
  EXPECT_EQ(s.seeds, (std::vector<std::uint64_t>{4, 9}));
}

TEST(Settings, BadValuesNameTheOptionAndChoices) {
  Settings s;
  EXPECT_EQ(error_of([&] { set_setting(s, "optimizer", "adamax", "--optimizer"); }),
            "--optimizer: unknown optimizer 'adamax'; valid choices: sgd, momentum, nesterov, rmsprop, adagrad, adam, adamw");
  EXPECT_NE(error_of([&] { set_setting(s, "epochs", "two", "--epochs"); }).find("epochs must be an integer, got 'two'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { set_setting(s, "dropout", "1.5", "--dropout"); }).find("must be in [0, 0.99]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { set_setting(s, "epoch", "2", "--epoch"); }).find("unknown setting 'epoch'"),
            std::string::npos);
}

TEST(Config, FixedSettingsAndSweepAxes) {
  const auto path = write_config("sweep", R"(
name = "init-study"
data = "spirals"
epochs = 3
lr = 0.01
seeds = [1, 2]
activations = ["sigmoid", "relu"]

[sweep]
init = ["standard", "he"]
norm = ["none", "batch"]
)");
  const Experiment e = load_config(path);
  EXPECT_EQ(e.base.name, "init-study");
  EXPECT_EQ(e.base.epochs, 3);
  EXPECT_EQ(e.base.seeds, (std::vector<std::uint64_t>{1, 2}));
  const auto arms = e.arms();
  ASSERT_EQ(arms.size(), 8u);
  EXPECT_EQ(arms[0].label, "sigmoid, init=standard, norm=none");
  EXPECT_EQ(arms[3].label, "sigmoid, init=he, norm=batch");
  EXPECT_EQ(arms[3].settings.init, "he");
  EXPECT_EQ(arms[3].settings.norm, "batch");
  EXPECT_EQ(arms[7].settings.activations, (std::vector<std::string>{"relu"}));
  // The resolved TOML loads back to the same experiment.
  const Experiment again = load_config(write_config("resolved", to_toml(e)));
  EXPECT_EQ(to_toml(again), to_toml(e));
  EXPECT_EQ(again.arms().size(), 8u);
}

TEST(Config, TextParsesAsAFileDoes) {
  const std::string text = "epochs = 2\nactivations = [\"relu\", \"tanh\"]\n[sweep]\ninit = [\"standard\", \"he\"]\n";
  EXPECT_EQ(to_toml(parse_config(text, "inline")), to_toml(load_config(write_config("text", text))));
  EXPECT_NE(error_of([] { parse_config("epochs = 2\nlearning_rate = 0.1\n", "my config"); })
                .find("my config:2: unknown setting 'learning_rate'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_config("epochs = [1,\n", "my config"); }).find("my config:"), std::string::npos);
}

TEST(Config, ErrorsNameFileAndLine) {
  const auto unknown = write_config("unknown", "epochs = 2\nlearning_rate = 0.1\n");
  EXPECT_NE(error_of([&] { load_config(unknown); }).find(unknown + ":2: unknown setting 'learning_rate'"),
            std::string::npos);
  const auto type = write_config("type", "epochs = \"many\"\n");
  EXPECT_NE(error_of([&] { load_config(type); }).find(type + ":1: epochs must be an int"), std::string::npos);
  const auto fraction = write_config("fraction", "batch = 12.5\n");
  EXPECT_NE(error_of([&] { load_config(fraction); }).find("batch must be an integer"), std::string::npos);
  const auto syntax = write_config("syntax", "epochs = [1,\n");
  EXPECT_NE(error_of([&] { load_config(syntax); }).find(syntax + ":"), std::string::npos);
  const auto choice = write_config("choice", "[sweep]\nnorm = [\"none\", \"group\"]\n");
  EXPECT_NE(error_of([&] { load_config(choice); }).find(choice + ":2: unknown norm 'group'"), std::string::npos);
  EXPECT_NE(error_of([] { load_config("/nonexistent/config.toml"); }).find("cannot read the config"),
            std::string::npos);
}

}  // namespace
}  // namespace actlab::experiment
