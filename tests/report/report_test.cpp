// Reports render from a summary; the HTML loads in headless Chromium with every chart drawn and
// no script error.
#include "actlab/report/report.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>

#include "actlab/diagnostics/verdicts.h"
#include "actlab/nn/models.h"

namespace actlab::report {
namespace {

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

TEST(Report, HtmlIsSelfContained) {
  const std::string html = render_html(sample_summary());
  EXPECT_NE(html.find("Chart.js v"), std::string::npos);  // the embedded library's banner
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("<h1>demo <sweep>"), std::string::npos);  // escaped
  EXPECT_NE(html.find("<h1>demo &lt;sweep&gt;</h1>"), std::string::npos);
}

std::string run_command(const std::string& command) {
  std::array<char, 4096> buffer{};
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return out;
  while (fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) out += buffer.data();
  return out;
}

TEST(Report, HtmlDrawsEveryChartInHeadlessChromium) {
  if (std::system("command -v chromium >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "chromium is not installed (scripts/test.sh installs it): the HTML report was not loaded";
  const auto dir = std::filesystem::temp_directory_path() / "actlab_report_test";
  std::filesystem::create_directories(dir);
  write_reports(dir.string(), sample_summary());
  const auto profile = dir / "profile";
  const std::string command =
      "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
      "--disable-component-update --disable-sync --enable-logging=stderr --v=0 --user-data-dir=" +
      profile.string() + " --virtual-time-budget=5000 --dump-dom file://" + (dir / "report.html").string() + " 2>&1";
  const std::string output = run_command(command);
  std::smatch match;
  ASSERT_TRUE(std::regex_search(output, match, std::regex("<body data-charts=\"(\\d+)\"")))
      << "report.js did not finish; chromium printed:\n" << output.substr(0, 4000);
  // 6 training charts + f(x) + f'(x), and per arm the gradient-flow bars, heatmaps of gradient norm and dead
  // units, histograms; saturation only for sigmoid (ReLU cannot saturate above 0).
  EXPECT_EQ(match[1], "17");
  EXPECT_EQ(output.find("data-error"), std::string::npos);
  EXPECT_EQ(output.find("Uncaught"), std::string::npos) << output.substr(0, 4000);
  const std::regex drawn_canvas("<canvas[^>]*data-drawn=\"1\"");
  EXPECT_EQ(std::distance(std::sregex_iterator(output.begin(), output.end(), drawn_canvas), std::sregex_iterator()), 17);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace actlab::report
