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

TEST(Config, PublishedFiguresMatchArmsAndRoundTrip) {
  const auto path = write_config("published",
                                 "activations = [\"tanh\", \"relu\"]\n[sweep]\ndropout = [0.0, 0.5]\n"
                                 "[[published]]\nactivation = \"tanh\"\ndropout = 0.5\ntest_error = 1.35\n"
                                 "source = \"Table 2\"\n");
  const Experiment e = load_config(path);
  ASSERT_EQ(e.published.size(), 1u);
  EXPECT_EQ(e.published[0].metric, "test_error");
  EXPECT_DOUBLE_EQ(e.published[0].value, 1.35);
  std::vector<std::string> matched;
  for (const Arm& arm : e.arms())
    if (matches(e.published[0], arm.axis_values)) matched.push_back(arm.label);
  EXPECT_EQ(matched, std::vector<std::string>{"tanh, dropout=0.5"});
  const Experiment again = load_config(write_config("published_again", to_toml(e)));
  ASSERT_EQ(again.published.size(), 1u);
  EXPECT_EQ(again.published[0].arm, e.published[0].arm);
  EXPECT_EQ(again.published[0].source, "Table 2");
}

// A command-line value replaces the config's, a swept one too: `--model rnn:128` on a config that
// sweeps the model runs that model only, and the figures published for the swept arms go.
TEST(Config, AnOverrideOfASweptKeyFixesIt) {
  Experiment e = parse_config("activations = [\"tanh\"]\n[sweep]\nmodel = [\"lstm:8\", \"gru:8\"]\n"
                              "dropout = [0.0, 0.5]\n[[published]]\nactivation = \"tanh\"\nmodel = \"gru:8\"\n"
                              "test_error = 2.0\nsource = \"T\"\n[[published]]\nactivation = \"tanh\"\n"
                              "dropout = 0.5\ntest_error = 3.0\nsource = \"T\"\n",
                              "override");
  ASSERT_EQ(e.arm_count(), 4u);
  override_setting(e, "model", "rnn:8", "--model");
  override_setting(e, "epochs", "2", "--epochs");
  EXPECT_EQ(e.arm_count(), 2u);
  for (const Arm& arm : e.arms()) {
    EXPECT_EQ(arm.settings.model, "rnn:8") << arm.label;
    EXPECT_EQ(arm.settings.epochs, 2) << arm.label;
  }
  // The figure for gru:8 has no arm left; the one for dropout 0.5 keeps its arm when 0.5 is fixed.
  Experiment other_dropout = e;
  override_setting(other_dropout, "dropout", "0", "--dropout");
  EXPECT_TRUE(other_dropout.published.empty());
  override_setting(e, "dropout", "0.50", "--dropout");
  ASSERT_EQ(e.published.size(), 1u);
  EXPECT_EQ(e.published[0].value, 3.0);
  EXPECT_EQ(e.published[0].arm, (std::map<std::string, std::string>{{"activation", "tanh"}}));
  EXPECT_TRUE(matches(e.published[0], e.arms().at(0).axis_values));
  EXPECT_THROW(override_setting(e, "epochs", "two", "--epochs"), Error);
}

TEST(Config, PublishedFiguresThatMatchNoArmAreRejected) {
  const std::string sweep = "activations = [\"tanh\"]\n[sweep]\ninit = [\"standard\", \"xavier\"]\n";
  const auto no_arm = write_config("published_no_arm", sweep + "[[published]]\nactivation = \"relu\"\n"
                                                               "test_error = 1.0\nsource = \"T\"\n");
  EXPECT_NE(error_of([&] { load_config(no_arm); }).find("matches no arm"), std::string::npos);
  const auto fixed = write_config("published_fixed", sweep + "[[published]]\nactivation = \"tanh\"\nlr = 0.1\n"
                                                             "test_error = 1.0\nsource = \"T\"\n");
  EXPECT_NE(error_of([&] { load_config(fixed); }).find("lr is not swept"), std::string::npos);
  const auto no_metric = write_config("published_no_metric", sweep + "[[published]]\nactivation = \"tanh\"\n"
                                                                     "source = \"T\"\n");
  EXPECT_NE(error_of([&] { load_config(no_metric); }).find("test_error or test_accuracy"), std::string::npos);
  const auto range = write_config("published_range", sweep + "[[published]]\nactivation = \"tanh\"\n"
                                                             "test_error = 140\nsource = \"T\"\n");
  EXPECT_NE(error_of([&] { load_config(range); }).find("percentage in [0, 100]"), std::string::npos);
}

// Every config shipped under configs/ loads (settings, sweeps, published figures all valid).
TEST(Config, EveryShippedConfigLoads) {
  int loaded = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(std::filesystem::path(ACTLAB_SOURCE_DIR) / "configs")) {
    if (entry.path().extension() != ".toml") continue;
    EXPECT_NO_THROW(load_config(entry.path().string())) << entry.path();
    ++loaded;
  }
  EXPECT_GT(loaded, 20);
}

TEST(Config, TensorboardIsAFolderSetAtTheTopLevel) {
  const auto path = write_config("tensorboard", "tensorboard = \"tb/logs\"\n");
  EXPECT_EQ(load_config(path).base.tensorboard, "tb/logs");
  Settings s;
  EXPECT_NE(error_of([&] { set_setting(s, "tensorboard", path, "--tensorboard"); })
                .find("--tensorboard: tensorboard must name a folder, but " + path + " is a file"),
            std::string::npos);
  const auto swept = write_config("tensorboard_sweep", "[sweep]\ntensorboard = [\"a\", \"b\"]\n");
  EXPECT_NE(error_of([&] { load_config(swept); }).find(swept + ":2: 'tensorboard' cannot be a sweep axis"),
            std::string::npos);
}

}  // namespace
}  // namespace actlab::experiment
