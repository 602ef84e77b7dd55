// Reports render from a summary; the HTML loads in headless Chromium with every chart drawn and
// no script error.
#include "actlab/report/report.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>

#include "actlab/activations/activation.h"
#include "actlab/diagnostics/verdicts.h"
#include "actlab/nn/models.h"
#include "html_page.h"

namespace actlab::report {
namespace {

using testing::expect_charts_drawn;
using testing::kNoChromium;
using testing::rendered_dom;

using experiment::EpochMetrics;
using experiment::RunResult;
using experiment::Summary;

// Diagnostics recorded on a small MLP of `activation`, at init and after nothing changed.
nlohmann::json sample_diagnostics(const std::string& activation) {
  auto model = nn::mlp(4, {8, 8, 8}, 3, {.activation = activation, .seed = 2});
  Generator gen(3);
  diagnostics::Recorder recorder(model, {randn({32, 4}, gen), randint(0, 3, {32}, gen)});
  recorder.record(0);
  recorder.record(10);
  return diagnostics::to_json(recorder, {});
}

Summary sample_summary() {
  Summary s;
  s.experiment = "demo <sweep>";
  s.settings = {{"data", "spirals"}, {"epochs", 3}, {"seeds", {1, 2}}, {"target_acc", 0.9}, {"activations", {"relu", "sigmoid"}}};
  s.environment = {"test cpu", 2, "0.1.0"};
  for (const std::string activation : {"relu", "sigmoid"}) {
    for (std::uint64_t seed : {1, 2}) {
      RunResult r;
      r.arm = activation;
      r.activation = activation;
      r.seed = seed;
      const double quality = activation == "relu" ? 0.95 : 0.80;
      for (int e = 1; e <= 3; ++e) {
        EpochMetrics m;
        m.epoch = e;
        m.train_loss = 1.0 / e;
        m.train_acc = quality - 0.1 / e;
        m.val_loss = 1.1 / e;
        m.val_acc = quality - 0.1 / e + 0.001 * static_cast<double>(seed);
        m.test_loss = 1.1 / e;
        m.test_acc = quality - 0.05 / e + 0.002 * static_cast<double>(seed);
        r.epochs.push_back(m);
        r.steps.push_back({e * 10, e - 0.5, 1.2 / e});
      }
      r.wall_seconds = 1.5;
      r.diagnostics = sample_diagnostics(activation);
      s.runs.push_back(r);
    }
  }
  s.by_activation = experiment::summarize(s.runs, 0.9);
  return s;
}

TEST(Report, MarkdownRanksAndReads) {
  const std::string md = render_markdown(sample_summary());
  EXPECT_NE(md.find("| 1 | relu | 93.63% ± 0.14%"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2 | sigmoid |"), std::string::npos);
  EXPECT_NE(md.find("Never reached 90% within the budget: sigmoid"), std::string::npos) << md;
  EXPECT_NE(md.find("relu beats sigmoid by more than seed-to-seed noise"), std::string::npos) << md;
  EXPECT_NE(md.find("| data | spirals |"), std::string::npos);
  EXPECT_EQ(md.find("| activations |"), std::string::npos);  // swept, so not a shared setting
  EXPECT_NE(md.find("## Gradient flow"), std::string::npos) << md;
  EXPECT_NE(md.find("- **sigmoid** (seed 1)"), std::string::npos) << md;
}

TEST(Report, PublishedFiguresStandBesideMeasured) {
  Summary s = sample_summary();
  for (auto& run : s.runs) run.axes = {{"activation", run.activation}};
  s.by_activation = experiment::summarize(s.runs, 0.9);
  s.settings["published"] = nlohmann::json::array(
      {{{"arm", {{"activation", "relu"}}}, {"metric", "test_error"}, {"value", 5.0}, {"source", "Paper, Table 1"}}});
  const std::string md = render_markdown(s);
  EXPECT_NE(md.find("| relu | Paper, Table 1 | 5.00% error | 6.37% error ± 0.14 | +1.37 points |"), std::string::npos)
      << md;
  EXPECT_EQ(md.find("| sigmoid | Paper"), std::string::npos);  // no figure for that arm
  EXPECT_EQ(md.find("| published | ["), std::string::npos);    // not a shared setting
  EXPECT_NE(render_html(s).find("<h2>Published beside measured</h2>"), std::string::npos);
  EXPECT_EQ(render_markdown(sample_summary()).find("Published beside measured"), std::string::npos);
}

// A task without an accuracy (regression, e.g. the adding problem): arms rank by test loss and
// the report says "n/a", never "nan%".
TEST(Report, RegressionArmsRankByTestLoss) {
  Summary s = sample_summary();
  for (auto& run : s.runs)
    for (auto& e : run.epochs) {
      e.train_acc = e.test_acc = NAN;
      e.val_acc.reset();
      e.test_loss = run.activation == "relu" ? 0.5 : 0.1;
    }
  s.by_activation = experiment::summarize(s.runs, 0.9);
  ASSERT_FALSE(s.by_activation[0].test_acc_mean.has_value());
  ASSERT_TRUE(s.by_activation[0].test_loss_mean.has_value());
  const std::string md = render_markdown(s);
  EXPECT_NE(md.find("| 1 | sigmoid | n/a |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2 | relu | n/a |"), std::string::npos) << md;
  EXPECT_NE(md.find("sigmoid reached the lowest test loss, 0.1; relu the highest, 0.5."), std::string::npos) << md;
  EXPECT_EQ(md.find("nan"), std::string::npos) << md;
}

TEST(Report, HtmlIsSelfContained) {
  const std::string html = render_html(sample_summary());
  EXPECT_NE(html.find("Chart.js v"), std::string::npos);  // the embedded library's banner
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("<h1>demo <sweep>"), std::string::npos);  // escaped
  EXPECT_NE(html.find("<h1>demo &lt;sweep&gt;</h1>"), std::string::npos);
}

// The data a page hands its script.
nlohmann::json page_data(const std::string& html) {
  const std::string marker = "window.ACTLAB_DATA = ";
  const auto begin = html.find(marker) + marker.size();
  return nlohmann::json::parse(html.substr(begin, html.find(";\n</script>", begin) - begin));
}

struct DeclaredChart {
  std::string canvas;
  std::string series;
  std::string arm;  // per-arm charts only
};

// Every chart the report page declares: the page-wide ones, then each per-arm chart for each
// arm with diagnostics.
std::vector<DeclaredChart> declared_charts(const nlohmann::json& data) {
  std::vector<DeclaredChart> out;
  for (const char* list : {"charts", "activation_charts"})
    for (const auto& chart : data.at(list)) out.push_back({chart.at("id"), chart.at("series"), ""});
  for (std::size_t i = 0; i < data.at("arms").size(); ++i)
    if (!data["arms"][i]["diagnostics"].is_null())
      for (const auto& chart : data.at("arm_charts")) {
        // Through-time charts (kinds time_*) belong to sequence models, which these arms are not.
        if (chart.at("kind").get<std::string>().starts_with("time_") &&
            !data["arms"][i]["diagnostics"].contains("through_time"))
          continue;
        out.push_back({chart.at("id").get<std::string>() + "-" + std::to_string(i), chart.at("series"),
                       data["arms"][i].at("arm")});
      }
  return out;
}

bool has_canvas(const std::string& html, const std::string& id) {
  return html.find("<canvas id=\"" + id + "\"") != std::string::npos;
}


TEST(Report, EveryDeclaredChartHasACard) {
  const std::string html = render_html(sample_summary());
  const auto charts = declared_charts(page_data(html));
  ASSERT_EQ(charts.size(), 18u);  // 6 training + 2 activation charts, 5 per arm for 2 arms
  std::size_t canvases = 0;
  for (const auto& chart : charts) {
    // ReLU keeps a slope above 0, so its saturation heatmap is a "not measured" note instead.
    const bool unmeasured = chart.series == "saturated_fraction" && chart.arm == "relu";
    EXPECT_EQ(has_canvas(html, chart.canvas), !unmeasured) << chart.canvas;
    canvases += has_canvas(html, chart.canvas) ? 1 : 0;
  }
  const std::regex canvas("<canvas id=");
  EXPECT_EQ(static_cast<std::size_t>(std::distance(std::sregex_iterator(html.begin(), html.end(), canvas),
                                                    std::sregex_iterator())),
            canvases)
      << "a canvas on the page has no declaration";
}

TEST(Report, HtmlDrawsEveryChartInHeadlessChromium) {
  const auto dir = std::filesystem::temp_directory_path() / "actlab_report_test";
  std::filesystem::create_directories(dir);
  write_reports(dir.string(), sample_summary());
  std::ifstream in(dir / "report.html");
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string dom = rendered_dom(dir / "report.html");
  std::filesystem::remove_all(dir);
  if (dom.empty()) GTEST_SKIP() << kNoChromium;
  // 6 training charts + f(x) + f'(x), and per arm the gradient-flow bars, heatmaps of gradient norm and dead
  // units, histograms; saturation only for sigmoid (ReLU cannot saturate above 0).
  expect_charts_drawn(dom, "17");
  for (const auto& chart : declared_charts(page_data(html))) {
    if (!has_canvas(html, chart.canvas)) continue;
    EXPECT_TRUE(std::regex_search(dom, std::regex("<canvas id=\"" + chart.canvas + "\"[^>]*data-drawn=\"1\"")))
        << chart.canvas << " was declared but not drawn";
  }
}


TEST(ActivationAtlas, DrawsEveryActivationWithItsDerivative) {
  std::vector<std::string> specs;
  for (const ActivationInfo* info : registered_activations()) specs.push_back(info->name);
  specs.push_back("leaky_relu:0.2");
  const std::string html = render_activation_atlas(specs);
  const nlohmann::json atlas = page_data(html).at("atlas");
  ASSERT_EQ(atlas.size(), specs.size());
  const auto at = [&](const std::string& spec, const char* key, double x) {
    for (const auto& c : atlas)
      if (c["activation"] == spec) {
        const auto xs = c["x"].get<std::vector<double>>();
        const auto i = static_cast<std::size_t>(std::min_element(xs.begin(), xs.end(), [&](double a, double b) {
                                                  return std::abs(a - x) < std::abs(b - x);
                                                }) - xs.begin());
        return c[key][i].get<double>();
      }
    ADD_FAILURE() << spec << " is not on the page";
    return 0.0;
  };
  EXPECT_DOUBLE_EQ(at("relu", "f", 2.0), 2.0);
  EXPECT_DOUBLE_EQ(at("relu", "df", -2.0), 0.0);
  EXPECT_NEAR(at("leaky_relu:negative_slope=0.2", "df", -2.0), 0.2, 1e-12);
  EXPECT_NEAR(at("tanh", "df", 0.0), 1.0, 1e-12);
  // softmax is drawn over two logits [x, 0]: its first output is sigmoid(x).
  EXPECT_NEAR(at("softmax:dim=-1", "f", 0.0), 0.5, 1e-12);
  EXPECT_NEAR(at("softmax:dim=-1", "df", 0.0), 0.25, 1e-12);
  EXPECT_NE(html.find("max(0, x)"), std::string::npos);  // the formula is on the card

  const auto dir = std::filesystem::temp_directory_path() / "actlab_atlas_test";
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "atlas.html") << html; }
  const std::string dom = rendered_dom(dir / "atlas.html");
  std::filesystem::remove_all(dir);
  if (dom.empty()) GTEST_SKIP() << kNoChromium;
  expect_charts_drawn(dom, std::to_string(specs.size()));
}

TEST(ActivationAtlas, RejectsAnUnknownSpec) {
  try {
    render_activation_atlas({"relu", "rleu"});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rleu"), std::string::npos);
  }
}

}  // namespace
}  // namespace actlab::report
