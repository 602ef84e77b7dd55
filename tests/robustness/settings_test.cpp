// Settings a hostile user may give: seeds lists, non-finite activation parameters and float
// settings, sweeps of many arms, and more threads than cores.
#include <sched.h>

#include <gtest/gtest.h>

#include "actlab/activations/activation.h"
#include "actlab/experiment/settings.h"
#include "robustness/cli_util.h"
#include "test_util.h"

namespace actlab::robustness {
namespace {

using actlab::testing::error_of;
using experiment::Experiment;
using experiment::load_config;

Experiment config_of(const TempDir& dir, const std::string& text) {
  std::ofstream(dir / "c.toml") << text;
  return load_config((dir / "c.toml").string());
}

TEST(RobustSettings, ATomlListIsAlwaysAListOfSeeds) {
  TempDir dir;
  EXPECT_EQ(config_of(dir, "seeds = [5]\n").base.seeds, (std::vector<std::uint64_t>{5}));
  EXPECT_EQ(config_of(dir, "seeds = [0]\n").base.seeds, (std::vector<std::uint64_t>{0}));
  EXPECT_EQ(config_of(dir, "seeds = [0, 1]\n").base.seeds, (std::vector<std::uint64_t>{0, 1}));
  EXPECT_EQ(config_of(dir, "seeds = 3\n").base.seeds, (std::vector<std::uint64_t>{1, 2, 3}));
  // The resolved config loads back to the same seeds.
  Experiment e = config_of(dir, "seeds = [7]\n");
  std::ofstream(dir / "resolved.toml") << experiment::to_toml(e);
  EXPECT_EQ(load_config((dir / "resolved.toml").string()).base.seeds, (std::vector<std::uint64_t>{7}));
}

TEST(RobustSettings, RepeatedSeedsAreRejected) {
  TempDir dir;
  EXPECT_NE(error_of([&] { config_of(dir, "seeds = [1, 1, 2]\n"); }).find("seed 1 appears twice"), std::string::npos);
  experiment::Settings s;
  EXPECT_NE(error_of([&] { experiment::set_setting(s, "seeds", "3,3", "--seeds"); }).find("appears twice"),
            std::string::npos);
  EXPECT_NE(error_of([&] { config_of(dir, "seeds = []\n"); }).find("empty"), std::string::npos);
}

TEST(RobustSettings, SeedZeroIsValidInEveryListForm) {
  experiment::Settings s;
  experiment::set_setting(s, "seeds", "[0]", "--seeds");
  EXPECT_EQ(s.seeds, (std::vector<std::uint64_t>{0}));
  experiment::set_setting(s, "seeds", "0,1", "--seeds");
  EXPECT_EQ(s.seeds, (std::vector<std::uint64_t>{0, 1}));
  // A bare 0 is a count, and a count of no seeds runs nothing: the message shows the list form.
  EXPECT_NE(error_of([&] { experiment::set_setting(s, "seeds", "0", "--seeds"); }).find("[0]"), std::string::npos);
}

TEST(RobustSettings, ActivationParametersMustBeFiniteAndInRange) {
  for (const char* spec : {"elu:alpha=nan", "elu:alpha=inf", "leaky_relu:-inf", "silu:beta=NaN", "celu:alpha=1e300"}) {
    const std::string message = error_of([&] { make_activation(spec); });
    EXPECT_TRUE(message.find("finite") != std::string::npos || message.find("outside") != std::string::npos)
        << spec << ": " << message;
  }
  EXPECT_NE(error_of([&] { make_activation("elu:alpha=nan"); }).find("alpha"), std::string::npos);
  EXPECT_NE(error_of([&] { make_activation("prelu:channels=1e12"); }).find("channels=1e12 is outside [1, 65536]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { make_activation("rrelu:seed=-1"); }).find("seed"), std::string::npos);
  EXPECT_NE(error_of([&] { make_activation("softmax:dim=1e18"); }).find("dim"), std::string::npos);
  EXPECT_EQ(make_activation("elu:alpha=0.5")->spec(), "elu:alpha=0.5");
}

TEST(RobustSettings, FloatSettingsMustBeFinite) {
  experiment::Settings s;
  for (const char* key : {"lr", "momentum", "weight_decay", "dropout", "clip_norm", "target_acc", "vanishing_ratio",
                          "exploding_ratio", "dead_threshold", "saturation_threshold"}) {
    for (const char* value : {"nan", "inf", "-inf"}) {
      const std::string message = error_of([&] { experiment::set_setting(s, key, value, "--opt"); });
      EXPECT_NE(message.find("must be a finite number"), std::string::npos) << key << "=" << value << ": " << message;
    }
  }
  EXPECT_NE(error_of([&] { experiment::set_setting(s, "lr", "-1", "--lr"); }).find("must be in"), std::string::npos);
}

TEST(RobustSettings, ArmsAreCountedWithoutBuildingThem) {
  Experiment e;
  e.base.activations = {"relu", "tanh"};
  std::vector<std::string> values(1000, "0.1");
  e.sweep = {{"lr", values}, {"weight_decay", values}, {"dropout", values}};
  EXPECT_EQ(e.arm_count(), 2'000'000'000u);
  const experiment::Arm last = e.arm(e.arm_count() - 1);
  EXPECT_EQ(last.label, "tanh, lr=0.1, weight_decay=0.1, dropout=0.1");

  Experiment small;
  small.base.activations = {"relu", "tanh"};
  small.sweep = {{"lr", {"0.1", "0.2", "0.3"}}, {"init", {"he", "xavier"}}};
  const auto arms = small.arms();
  ASSERT_EQ(arms.size(), small.arm_count());
  for (std::size_t i = 0; i < arms.size(); ++i) EXPECT_EQ(small.arm(i).label, arms[i].label);
  EXPECT_EQ(arms[3].label, "relu, lr=0.2, init=xavier");
}

TEST(RobustSettings, LargeSweepCheckWarnsAndEstimates) {
  TempDir dir;
  std::string axis;
  for (int i = 1; i <= 100; ++i) axis += fmt::format("{}{}", i > 1 ? ", " : "", 0.0001 * i);
  std::ofstream(dir / "sweep.toml") << "data = \"spirals\"\nmodel = \"mlp:8\"\nactivations = [\"relu\"]\n[sweep]\n"
                                    << "lr = [" << axis << "]\nweight_decay = [" << axis << "]\n";
  const std::vector<std::string> check = {"compare", "--config", (dir / "sweep.toml").string(), "--check"};
  const Result warned = run_actlab(check, dir.path());
  EXPECT_EQ(warned.status, 0) << warned.output;
  EXPECT_NE(warned.output.find("valid: 10000 arm(s)"), std::string::npos) << warned.output;
  EXPECT_NE(warned.output.find("estimated training time"), std::string::npos) << warned.output;
  EXPECT_NE(warned.output.find("warning: 10000 arms is more than --max-arms 1000"), std::string::npos) << warned.output;
  EXPECT_NE(warned.output.find("... and 9000 more"), std::string::npos) << warned.output;

  std::vector<std::string> raised = check;
  raised.insert(raised.end(), {"--max-arms", "20000"});
  const Result quiet = run_actlab(raised, dir.path());
  EXPECT_EQ(quiet.status, 0) << quiet.output;
  EXPECT_EQ(quiet.output.find("warning"), std::string::npos) << quiet.output;
  EXPECT_NE(quiet.output.find("relu, lr=0.01, weight_decay=0.01"), std::string::npos);  // the last arm, listed
}

TEST(RobustSettings, MoreThreadsThanCoresAreCappedWithANote) {
  TempDir dir;
  const Result result = run_actlab({"compare", "--data", "spirals", "--model", "mlp:8", "--activations", "relu",
                                    "--threads", "1000", "--check"},
                                   dir.path());
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("note: --threads 1000 is more than the"), std::string::npos) << result.output;
  cpu_set_t cores;
  ASSERT_EQ(::sched_getaffinity(0, sizeof cores, &cores), 0);
  const std::string count = std::to_string(CPU_COUNT(&cores));
  EXPECT_NE(result.output.find("; using " + count + "\n"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("on " + count + " thread(s)"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace actlab::robustness
