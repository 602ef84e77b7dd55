// The labelled scenario suite (configs/scenarios/*.toml): each config says in its comments the
// verdicts it must get ("# must:") and must not get ("# must_not:"), and how to shorten it for
// a quick run ("# quick: epochs=1, limit_train=4000"). Every scenario runs in its quick form
// here; ACTLAB_SCENARIOS=full runs the full forms instead and prints precision and recall per
// verdict kind (the figures in docs/DIAGNOSTICS.md). MNIST scenarios are skipped, with a
// message, when the dataset is not available.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "actlab/data/registry.h"
#include "actlab/diagnostics/verdicts.h"
#include "actlab/experiment/runner.h"
#include "actlab/experiment/settings.h"

namespace actlab::experiment {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kKinds = {"exploding",    "vanishing",    "dead",
                                         "saturated",    "stalled",      "lr_too_small",
                                         "lr_too_large", "vanishing_through_time", "exploding_through_time",
                                         "saturated_gates"};

struct Scenario {
  std::string name;
  fs::path path;
  std::vector<std::string> must, must_not;
  std::vector<std::pair<std::string, std::string>> quick;  // settings for the quick form
};

// gtest prints a scenario by its name.
void PrintTo(const Scenario& s, std::ostream* out) { *out << s.name; }

std::vector<std::string> list_after(const std::string& line, const std::string& tag) {
  std::vector<std::string> out;
  std::stringstream rest(line.substr(tag.size()));
  std::string item;
  while (std::getline(rest, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty() && item != "-") out.push_back(item);
  }
  return out;
}

Scenario read_scenario(const fs::path& path) {
  Scenario s{path.stem().string(), path, {}, {}, {}};
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# must: ")) s.must = list_after(line, "# must: ");
    if (line.starts_with("# must_not: ")) s.must_not = list_after(line, "# must_not: ");
    if (line.starts_with("# quick: "))
      for (const auto& kv : list_after(line, "# quick: ")) s.quick.emplace_back(kv.substr(0, kv.find('=')), kv.substr(kv.find('=') + 1));
  }
  return s;
}

std::vector<Scenario> scenarios() {
  std::vector<Scenario> out;
  for (const auto& entry : fs::directory_iterator(fs::path(ACTLAB_SOURCE_DIR) / "configs" / "scenarios"))
    if (entry.path().extension() == ".toml") out.push_back(read_scenario(entry.path()));
  std::sort(out.begin(), out.end(), [](const Scenario& a, const Scenario& b) { return a.name < b.name; });
  return out;
}

bool full_form() {
  const char* mode = std::getenv("ACTLAB_SCENARIOS");
  return mode && std::string(mode) == "full";
}

// The verdict kinds of the scenario's run, or nullopt (with the reason) when its data is missing.
std::optional<std::vector<std::string>> verdicts_of(const Scenario& s, bool full, std::string& skipped,
                                                    std::string& printed) {
  Experiment e = load_config(s.path.string());
  if (!full)
    for (const auto& [key, value] : s.quick) set_setting(e.base, key, value, "quick form");
  e.base.threads = 1;
  e.base.out = (fs::temp_directory_path() / ("actlab_scenario_" + s.name)).string();
  fs::remove_all(e.base.out);
  if (!data::is_synthetic(e.base.data)) {
    try {
      data::load_dataset(e.base.data, data::Split::Test, load_options(e.base));
    } catch (const Error& missing) {
      skipped = fmt::format("{} needs {}, which is not available (set ACTLAB_DATA): {}", s.name, e.base.data, missing.what());
      return std::nullopt;
    }
  }
  std::ostringstream log;
  const Outcome outcome = run_experiment(e, {.log = &log});
  fs::remove_all(e.base.out);
  std::vector<std::string> kinds;
  const auto& run = outcome.summary.runs.at(0);
  for (const auto& v : run.diagnostics["verdicts"]) kinds.push_back(v["kind"]);
  printed = diagnostics::format_verdicts(run.diagnostics);
  return kinds;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

class ScenarioSuite : public ::testing::TestWithParam<Scenario> {};

TEST_P(ScenarioSuite, GetsExactlyItsLabelledVerdicts) {
  if (full_form()) GTEST_SKIP() << "ACTLAB_SCENARIOS=full: see ScenarioSuiteFull";
  const Scenario& s = GetParam();
  std::string skipped, printed;
  const auto kinds = verdicts_of(s, false, skipped, printed);
  if (!kinds) GTEST_SKIP() << skipped;
  for (const auto& kind : s.must) EXPECT_TRUE(contains(*kinds, kind)) << s.name << " must get " << kind << ":\n" << printed;
  for (const auto& kind : s.must_not)
    EXPECT_FALSE(contains(*kinds, kind)) << s.name << " must not get " << kind << ":\n" << printed;
}

INSTANTIATE_TEST_SUITE_P(Configs, ScenarioSuite, ::testing::ValuesIn(scenarios()),
                         [](const auto& info) {
                           std::string name = info.param.name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(ScenarioSuiteFull, PrecisionAndRecallPerVerdictKind) {
  if (!full_form()) GTEST_SKIP() << "set ACTLAB_SCENARIOS=full to run the full forms";
  std::map<std::string, std::array<int, 3>> counts;  // kind -> true positives, false positives, false negatives
  int run = 0;
  for (const auto& s : scenarios()) {
    std::string skipped, printed;
    const auto kinds = verdicts_of(s, true, skipped, printed);
    if (!kinds) {
      std::cout << "skipped: " << skipped << '\n';
      continue;
    }
    ++run;
    std::cout << s.name << ": " << (kinds->empty() ? "healthy" : fmt::format("{}", fmt::join(*kinds, ", "))) << '\n';
    for (const auto& kind : kKinds) {
      const bool got = contains(*kinds, kind);
      if (contains(s.must, kind)) ++counts[kind][got ? 0 : 2];
      if (contains(s.must_not, kind) && got) ++counts[kind][1];
      EXPECT_FALSE(got && contains(s.must_not, kind)) << s.name << ": " << kind << "\n" << printed;
      EXPECT_TRUE(got || !contains(s.must, kind)) << s.name << ": " << kind << "\n" << printed;
    }
  }
  std::cout << fmt::format("{} scenarios (full form)\n{:<14} {:>4} {:>4} {:>4} {:>10} {:>8}\n", run, "verdict", "TP",
                           "FP", "FN", "precision", "recall");
  for (const auto& kind : kKinds) {
    const auto [tp, fp, fn] = counts[kind];
    auto ratio = [](int a, int b) { return b > 0 ? fmt::format("{:.2f}", static_cast<double>(a) / b) : std::string("-"); };
    std::cout << fmt::format("{:<14} {:>4} {:>4} {:>4} {:>10} {:>8}\n", kind, tp, fp, fn, ratio(tp, tp + fp), ratio(tp, tp + fn));
  }
}

}  // namespace
}  // namespace actlab::experiment
