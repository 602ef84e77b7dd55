// The lessons: every --quick experiment runs and reaches the conclusions its numbers support,
// every text file of every language fills completely, both languages define the same lessons and
// conclusions, the "try this next" lines parse as `actlab compare` settings, and the HTML pages
// draw their charts in headless Chromium.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "actlab/core/parallel.h"
#include "actlab/experiment/runner.h"
#include "actlab/experiment/settings.h"
#include "actlab/lessons/embedded.h"
#include "actlab/lessons/lesson.h"
#include "actlab/lessons/render.h"
#include "actlab/lessons/text.h"
#include "html_page.h"
#include "test_util.h"

namespace actlab::lessons {
namespace {

// Each lesson's --quick findings, measured once for all the tests (one thread: the models are
// small, and the numbers then do not depend on the machine's core count).
const Findings& quick_findings(const std::string& name) {
  static std::map<std::string, Findings> cache;
  if (!cache.contains(name)) {
    const int threads = num_threads();
    set_num_threads(1);
    cache[name] = run_lesson(lesson(name), {.quick = true});
    set_num_threads(threads);
  }
  return cache.at(name);
}

// The findings of `name`, or a skip when its dataset is not here.
#define QUICK_FINDINGS(var, name)                                                                          \
  const Findings& var = quick_findings(name);                                                              \
  if (var.missing_data) GTEST_SKIP() << "lesson " << name << " needs " << *var.missing_data << "; set $ACTLAB_DATA"

bool chose(const Findings& f, const std::string& conclusion) { return f.conclusions.contains(conclusion); }

std::vector<std::string> lesson_names() {
  std::vector<std::string> names;
  for (const Lesson& l : lessons()) names.push_back(l.name);
  return names;
}

class EveryLesson : public ::testing::TestWithParam<std::string> {};

// Both languages render the lesson without a leftover placeholder or marker, and with the
// measured numbers in the text.
TEST_P(EveryLesson, RendersInEveryLanguage) {
  QUICK_FINDINGS(f, GetParam());
  EXPECT_FALSE(f.conclusions.empty());
  for (const std::string& language : languages()) {
    const std::string text = render_terminal(language, lesson(GetParam()), f);
    EXPECT_FALSE(std::regex_search(text, std::regex(R"(\{[a-z0-9_]+\})"))) << language << ":\n" << text;
    EXPECT_FALSE(std::regex_search(text, std::regex(R"(\[\[(if|end|chart))"))) << language << ":\n" << text;
    EXPECT_NE(text.find("actlab compare --"), std::string::npos) << language;
    EXPECT_TRUE(text.starts_with("# " + title(language, GetParam()))) << language;
  }
}

// Every conclusion block of every language fills from the experiment's values, so a variant the
// numbers did not choose this time cannot hide an unfilled placeholder.
TEST_P(EveryLesson, EveryConclusionVariantFills) {
  QUICK_FINDINGS(measured, GetParam());
  Findings all = measured;
  const Lesson& l = lesson(GetParam());
  all.conclusions = {l.conclusions.begin(), l.conclusions.end()};
  for (const std::string& language : languages()) {
    std::string text;
    for (const Block& block : fill(language, l, all)) text += block.markdown;
    EXPECT_FALSE(std::regex_search(text, std::regex(R"(\{[a-z0-9_]+\})"))) << language;
  }
}

// The "try this next" line is a valid `actlab compare` command: every option is a settings key
// with a valid value, and the experiment validates.
TEST_P(EveryLesson, TryThisNextParsesAsACompareCommand) {
  QUICK_FINDINGS(f, GetParam());
  ASSERT_FALSE(f.try_next.empty());
  ASSERT_EQ(f.try_next.size() % 2, 0u) << "options and values come in pairs";
  experiment::Experiment e;
  for (std::size_t i = 0; i < f.try_next.size(); i += 2) {
    ASSERT_TRUE(f.try_next[i].starts_with("--")) << f.try_next[i];
    std::string key = f.try_next[i].substr(2);
    std::replace(key.begin(), key.end(), '-', '_');
    experiment::set_setting(e.base, key, f.try_next[i + 1], f.try_next[i]);
  }
  EXPECT_NO_THROW(experiment::validate(e)) << compare_command(f.try_next);
}

INSTANTIATE_TEST_SUITE_P(Lessons, EveryLesson, ::testing::ValuesIn(lesson_names()),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(LessonTexts, EveryLanguageDefinesTheSameLessonsAndConclusions) {
  ASSERT_EQ(languages(), (std::vector<std::string>{"en", "zh"}));
  for (const Lesson& l : lessons()) {
    const std::set<std::string> declared(l.conclusions.begin(), l.conclusions.end());
    for (const std::string& language : languages()) {
      const auto names = conclusion_names(raw_text(language, l.name + ".md"));
      EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), declared) << language << "/" << l.name << ".md";
      EXPECT_FALSE(title(language, l.name).empty());
    }
  }
}

TEST(LessonTexts, EveryTextFileBelongsToALesson) {
  const auto names = lesson_names();
  for (std::size_t i = 0; i < k_embedded_file_count; ++i) {
    const std::string path = k_embedded_files[i].path;
    if (path.ends_with("/strings.txt")) continue;
    const std::string name = path.substr(path.find('/') + 1, path.size() - path.find('/') - 4);
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << path << " is no lesson's text";
  }
}

TEST(LessonTexts, EveryLanguageHasTheSamePhrases) {
  const std::regex key_line(R"(^([a-z_]+) = )", std::regex::multiline);
  std::map<std::string, std::set<std::string>> keys;
  for (const std::string& language : languages()) {
    const std::string& text = raw_text(language, "strings.txt");
    for (std::sregex_iterator it(text.begin(), text.end(), key_line), end; it != end; ++it)
      keys[language].insert((*it)[1]);
  }
  EXPECT_EQ(keys["en"], keys["zh"]);
  EXPECT_TRUE(keys["en"].contains("missing_data"));
}

TEST(LessonTexts, LanguageComesFromLang) {
  const char* saved = std::getenv("LANG");
  const std::string restore = saved ? saved : "";
  setenv("LANG", "zh_CN.UTF-8", 1);
  EXPECT_EQ(default_language(), "zh");
  setenv("LANG", "en_GB.UTF-8", 1);
  EXPECT_EQ(default_language(), "en");
  unsetenv("LANG");
  EXPECT_EQ(default_language(), "en");
  if (saved) setenv("LANG", restore.c_str(), 1);
  EXPECT_NE(testing::error_of([] { check_language("fr"); }).find("en, zh"), std::string::npos);
  EXPECT_NE(testing::error_of([] { lesson("no-such-lesson"); }).find("chain-rule"), std::string::npos);
}

TEST(LessonTexts, CompareCommandQuotesWhatTheShellWouldSplit) {
  EXPECT_EQ(compare_command({"--data", "mnist", "--init", "he:gain=2.5"}), "actlab compare --data mnist --init he:gain=2.5");
  EXPECT_EQ(compare_command({"--name", "a b"}), "actlab compare --name 'a b'");
}

TEST(LessonTexts, MissingDataIsSaidNotThrown) {
  const auto empty = std::filesystem::temp_directory_path() / "actlab_lesson_no_data";
  std::filesystem::create_directories(empty);
  const Findings f = run_lesson(lesson("learning-rate"), {.quick = true, .data_dir = empty});
  std::filesystem::remove_all(empty);
  ASSERT_TRUE(f.missing_data);
  for (const std::string& language : languages()) {
    const std::string text = render_terminal(language, lesson("learning-rate"), f);
    EXPECT_NE(text.find("mnist"), std::string::npos) << text;
    EXPECT_NE(text.find("actlab data fetch"), std::string::npos) << text;
  }
}

TEST(LessonCharts, TerminalChartsScaleAndMarkWhatCannotBeDrawn) {
  const Chart lines{.id = "l", .log_scale = true, .series = {{"a", {1, 2, 3}, {1e-3, NAN, 1e3}}}};
  const std::string sparkline = terminal_chart(lines);
  EXPECT_NE(sparkline.find("▁×█"), std::string::npos) << sparkline;
  EXPECT_NE(sparkline.find("(log)"), std::string::npos) << sparkline;
  const Chart bars{.id = "b", .kind = "bars", .categories = {"x", "y", "z"}, .series = {{"s", {}, {-2, 0, 1}}}};
  const std::string text = terminal_chart(bars, 10);
  EXPECT_NE(text.find("x  ██████████ -2"), std::string::npos) << text;  // as long as |value|
  EXPECT_NE(text.find("y   0"), std::string::npos) << text;              // nothing for zero
  EXPECT_NE(text.find("z  █████ 1"), std::string::npos) << text;
}

// ---- the conclusions of the quick experiments, from their numbers ----

TEST(LessonConclusions, NoActivationCollapsesToOneMatrix) {
  QUICK_FINDINGS(f, "no-activation");
  EXPECT_LT(f.numbers.at("collapse_max_difference"), 1e-5);
  EXPECT_TRUE(chose(f, "collapse"));
  EXPECT_LT(f.numbers.at("spirals_linear_accuracy"), 0.75);
  EXPECT_LT(f.numbers.at("xor_linear_accuracy"), 0.75);
  EXPECT_GT(f.numbers.at("linear_linear_accuracy"), 0.9);
  EXPECT_TRUE(chose(f, "linear_fails"));
  EXPECT_GT(f.numbers.at("xor_relu_accuracy"), f.numbers.at("xor_linear_accuracy") + 0.3);
}

TEST(LessonConclusions, ChainRuleAgreesWithAutogradAndFiniteDifferences) {
  QUICK_FINDINGS(f, "chain-rule");
  EXPECT_LT(f.numbers.at("max_difference_autograd"), 1e-8);
  EXPECT_LT(f.numbers.at("max_difference_numeric"), 1e-8);
  EXPECT_TRUE(chose(f, "agree"));
}

TEST(LessonConclusions, ActivationTableMeasuresSigmoidsQuarter) {
  QUICK_FINDINGS(f, "activation-pros-cons");
  EXPECT_NEAR(f.numbers.at("sigmoid_max_slope"), 0.25, 1e-9);
  EXPECT_NEAR(f.numbers.at("relu_max_slope"), 1.0, 1e-12);
  EXPECT_TRUE(chose(f, "sigmoid_quarter"));
  EXPECT_LT(f.numbers.at("sigmoid_ratio"), f.numbers.at("relu_ratio") / 10);
}

TEST(LessonConclusions, LearningRateExtremesDivergeAndCrawl) {
  QUICK_FINDINGS(f, "learning-rate");
  EXPECT_TRUE(chose(f, "too_high"));
  EXPECT_TRUE(chose(f, "too_low"));
  EXPECT_LT(f.numbers.at("lr_1e-05_update_ratio"), f.numbers.at("lr_0.1_update_ratio") / 100);
  EXPECT_GT(f.numbers.at("lr_0.1_accuracy"), f.numbers.at("lr_1e-05_accuracy"));
}

TEST(LessonConclusions, SigmoidVanishesWithDepthAndReluDoesNot) {
  QUICK_FINDINGS(f, "vanishing-exploding");
  EXPECT_LT(f.numbers.at("sigmoid_20_init_ratio"), 1e-3);
  EXPECT_TRUE(chose(f, "sigmoid_vanishes"));
  EXPECT_TRUE(chose(f, "depth_worsens"));
  EXPECT_TRUE(chose(f, "relu_keeps"));
}

TEST(LessonConclusions, ConvActivationsShapeTheFeatureMaps) {
  QUICK_FINDINGS(f, "conv-activation");
  EXPECT_GT(f.numbers.at("relu_zero"), 0.3);
  EXPECT_EQ(f.numbers.at("relu_negative"), 0.0);
  EXPECT_LT(f.numbers.at("leaky_relu_zero"), 0.01);
  EXPECT_GT(f.numbers.at("elu_negative"), 0.1);
  EXPECT_TRUE(chose(f, "relu_sparse"));
  EXPECT_TRUE(chose(f, "negatives_kept"));
}

TEST(LessonConclusions, DeadReluAndItsRemedies) {
  QUICK_FINDINGS(f, "dead-relu");
  EXPECT_EQ(f.numbers.at("leaky_high_dead"), 0.0);
  EXPECT_EQ(f.numbers.at("elu_high_dead"), 0.0);
  EXPECT_TRUE(chose(f, "leaky_elu_alive"));
  EXPECT_LT(f.numbers.at("relu_low_dead"), f.numbers.at("relu_high_dead"));
}

TEST(LessonConclusions, ExplodingGradientsAndTheirRemedies) {
  QUICK_FINDINGS(f, "exploding-remedies");
  EXPECT_TRUE(chose(f, "base_fails"));
  EXPECT_TRUE(chose(f, "batchnorm_works"));
  EXPECT_LT(f.numbers.at("he_first_grad_norm"), f.numbers.at("base_first_grad_norm") / 10);
}

TEST(LessonConclusions, RecurrentGradientFadesFastestInTheTanhRnn) {
  QUICK_FINDINGS(f, "recurrent");
  const auto& n = f.numbers;
  EXPECT_LT(n.at("rnn_first_over_last"), n.at("lstm_first_over_last"));
  EXPECT_LT(n.at("rnn_first_over_last"), n.at("gru_first_over_last"));
  EXPECT_TRUE(chose(f, "rnn_vanishes_faster"));
  for (const std::string cell : {"rnn", "lstm", "gru"}) {
    EXPECT_GE(n.at(cell + "_horizon"), 1.0) << cell;  // the last step always counts
    EXPECT_LE(n.at(cell + "_horizon"), n.at("length")) << cell;
    EXPECT_LT(n.at(cell + "_radius"), 1.0) << cell;  // U(-1/sqrt(H), 1/sqrt(H)) weights
    EXPECT_TRUE(chose(f, cell + "_learns") != chose(f, cell + "_stuck")) << cell;
  }
  EXPECT_NEAR(n.at("baseline"), 1.0 / 6.0, 1e-12);
}

TEST(LessonConclusions, MythsAreMeasured) {
  QUICK_FINDINGS(f, "myths");
  EXPECT_NEAR(f.numbers.at("sigmoid_slope_0"), 0.25, 1e-15);
  EXPECT_EQ(f.numbers.at("sigmoid_slope_argmax"), 0.0);
  EXPECT_EQ(f.numbers.at("relu_slope_neg3"), 0.0);
  EXPECT_TRUE(chose(f, "sigmoid_claim_false"));
  EXPECT_TRUE(chose(f, "relu_claim_false"));
  EXPECT_TRUE(chose(f, "weights_explode"));
  EXPECT_TRUE(chose(f, "swap_vanishes"));
  EXPECT_TRUE(chose(f, "dropout_no_help"));
  EXPECT_LT(f.numbers.at("sigmoid_dropout_ratio"), 1e-6);
  EXPECT_TRUE(chose(f, "batchnorm_helps"));
}

// ---- the HTML pages ----

// The page in `language` of lesson `name`, as Chromium leaves it, with its number of charts.
void expect_page_draws_its_charts(const std::string& name, const std::string& language) {
  const Findings& f = quick_findings(name);
  if (f.missing_data) GTEST_SKIP() << "lesson " << name << " needs " << *f.missing_data;
  const std::string html = render_html(language, lesson(name), f);
  EXPECT_NE(html.find("Chart.js v"), std::string::npos);
  EXPECT_NE(html.find("<html lang=\"" + language + "\">"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  const auto dir = std::filesystem::temp_directory_path() / ("actlab_lesson_" + name + "_" + language);
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "lesson.html") << html; }
  const std::string dom = testing::rendered_dom(dir / "lesson.html");
  std::filesystem::remove_all(dir);
  if (dom.empty()) GTEST_SKIP() << testing::kNoChromium;
  testing::expect_charts_drawn(dom, std::to_string(f.charts.size()));
  EXPECT_NE(dom.find("<h2>"), std::string::npos);
  EXPECT_EQ(dom.find("[[chart"), std::string::npos);
}

TEST(LessonHtml, ChainRulePageDrawsItsChartInEnglish) { expect_page_draws_its_charts("chain-rule", "en"); }
TEST(LessonHtml, MythsPageDrawsItsChartsInChinese) { expect_page_draws_its_charts("myths", "zh"); }
TEST(LessonHtml, LearningRatePageDrawsItsLineChart) { expect_page_draws_its_charts("learning-rate", "en"); }
TEST(LessonHtml, RecurrentPageDrawsItsLogScaleChartInChinese) { expect_page_draws_its_charts("recurrent", "zh"); }

}  // namespace
}  // namespace actlab::lessons
