#include "actlab/lessons/render.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "actlab/core/version.h"
#include "actlab/lessons/text.h"
#include "actlab/report/report.h"

namespace actlab::lessons {
namespace {

const auto escape_html = report::html_text;

// The plotted value of y: log10 on a log axis; NaN for what cannot be drawn.
double plotted(double y, bool log_scale) {
  if (!std::isfinite(y)) return NAN;
  if (!log_scale) return y;
  return y > 0 ? std::log10(y) : NAN;
}

std::string value_text(double y) { return std::isfinite(y) ? fmt::format("{:.3g}", y) : fmt::format("{}", y); }

struct Range {
  double low = INFINITY, high = -INFINITY;
  void add(double v) {
    if (!std::isfinite(v)) return;
    low = std::min(low, v);
    high = std::max(high, v);
  }
  double fraction(double v) const { return high > low ? (v - low) / (high - low) : 0.5; }
};

std::string sparkline_chart(const Chart& chart, int width) {
  static const char* const levels[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  Range range;
  std::size_t label_width = 0;
  for (const Series& s : chart.series) {
    for (double y : s.y) range.add(plotted(y, chart.log_scale));
    label_width = std::max(label_width, s.label.size());
  }
  std::string out;
  for (const Series& s : chart.series) {
    const std::size_t n = s.y.size(), columns = std::min<std::size_t>(n, static_cast<std::size_t>(width));
    std::string line;
    for (std::size_t c = 0; c < columns; ++c) {
      const double v = plotted(s.y[columns > 1 ? c * (n - 1) / (columns - 1) : 0], chart.log_scale);
      line += std::isfinite(v) ? levels[std::clamp(static_cast<int>(range.fraction(v) * 7.999), 0, 7)] : "×";
    }
    const double first = n ? s.y.front() : NAN, last = n ? s.y.back() : NAN;
    out += fmt::format("  {:<{}}  {}  {} → {}\n", s.label, label_width, line, value_text(first), value_text(last));
  }
  const auto shown = [&](double v) { return value_text(chart.log_scale ? std::pow(10.0, v) : v); };
  if (range.low <= range.high)
    out += fmt::format("  {:<{}}  ▁ = {}, █ = {}{}\n", "", label_width, shown(range.low), shown(range.high),
                       chart.log_scale ? " (log)" : "");
  return out;
}

// Bars as long as |value| over the largest |value| (linear), or from the lowest decade (log).
std::string bar_chart(const Chart& chart, int width) {
  Range range;
  std::size_t label_width = 0;
  const bool several = chart.series.size() > 1;
  for (const Series& s : chart.series)
    for (std::size_t i = 0; i < s.y.size() && i < chart.categories.size(); ++i) {
      const double v = plotted(s.y[i], chart.log_scale);
      range.add(chart.log_scale ? v : std::abs(v));
      label_width = std::max(label_width, chart.categories[i].size() + (several ? s.label.size() + 1 : 0));
    }
  range.low = chart.log_scale ? std::floor(range.low) : 0.0;
  std::string out;
  for (std::size_t i = 0; i < chart.categories.size(); ++i)
    for (const Series& s : chart.series) {
      if (i >= s.y.size()) continue;
      const double v = plotted(s.y[i], chart.log_scale);
      const double length = range.fraction(chart.log_scale ? v : std::abs(v)) * width;
      const bool empty = !std::isfinite(v) || (!chart.log_scale && v == 0);
      const int filled = empty ? 0 : std::max(1, static_cast<int>(std::lround(length)));
      std::string bar;
      for (int k = 0; k < filled; ++k) bar += "█";
      const std::string label = several ? chart.categories[i] + " " + s.label : chart.categories[i];
      out += fmt::format("  {:<{}}  {} {}\n", label, label_width, bar, value_text(s.y[i]));
    }
  return out;
}

// `code` and **bold** of one escaped line.
std::string inline_html(const std::string& line) {
  static const std::regex code("`([^`]+)`"), bold(R"(\*\*([^*]+)\*\*)");
  return std::regex_replace(std::regex_replace(escape_html(line), code, "<code>$1</code>"), bold, "<b>$1</b>");
}

std::vector<std::string> table_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] != '|') {
      cell += line[i];
      continue;
    }
    const auto first = cell.find_first_not_of(' ');
    cells.push_back(first == std::string::npos ? "" : cell.substr(first, cell.find_last_not_of(' ') - first + 1));
    cell.clear();
  }
  return cells;
}

// The Markdown the lesson files use: headings, paragraphs, "- " lists, tables, ``` code blocks.
std::string markdown_html(const std::string& markdown) {
  std::istringstream lines(markdown);
  std::string html, paragraph;
  enum class Open { None, List, Table, Code } open = Open::None;
  bool header_row = false;
  const auto close = [&] {
    if (!paragraph.empty()) html += "<p>" + paragraph + "</p>\n";
    paragraph.clear();
    if (open == Open::List) html += "</ul>\n";
    if (open == Open::Table) html += "</table>\n";
    open = Open::None;
  };
  for (std::string line; std::getline(lines, line);) {
    if (open == Open::Code) {
      if (line.starts_with("```")) {
        html += "</pre>\n";
        open = Open::None;
      } else {
        html += escape_html(line) + "\n";
      }
      continue;
    }
    if (line.starts_with("```")) {
      close();
      html += "<pre>";
      open = Open::Code;
    } else if (line.starts_with("#")) {
      close();
      const auto level = std::min<std::size_t>(line.find_first_not_of('#'), 4);  // "##" is h2 under the page's h1
      html += fmt::format("<h{0}>{1}</h{0}>\n", level, inline_html(line.substr(line.find_first_not_of("# "))));
    } else if (line.starts_with("- ")) {
      if (open != Open::List) close();
      if (open != Open::List) html += "<ul>\n";
      open = Open::List;
      html += "<li>" + inline_html(line.substr(2)) + "</li>\n";
    } else if (line.starts_with("|")) {
      if (open != Open::Table) {
        close();
        html += "<table>\n";
        open = Open::Table;
        header_row = true;
      }
      const auto cells = table_cells(line);
      if (!cells.empty() && cells[0].starts_with("---")) continue;
      html += "<tr>";
      for (const auto& cell : cells) html += fmt::format("<{0}>{1}</{0}>", header_row ? "th" : "td", inline_html(cell));
      html += "</tr>\n";
      header_row = false;
    } else if (line.find_first_not_of(' ') == std::string::npos) {
      close();
    } else {
      if (open != Open::None) close();
      paragraph += (paragraph.empty() ? "" : " ") + inline_html(line);
    }
  }
  close();
  return html;
}

nlohmann::json finite_or_null(const std::vector<double>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (double v : values) out.push_back(std::isfinite(v) ? nlohmann::json(v) : nlohmann::json());
  return out;
}

std::string missing_data_text(const std::string& language, const Findings& findings) {
  return phrase(language, "missing_data", {{"dataset", *findings.missing_data}});
}

}  // namespace

std::string terminal_chart(const Chart& chart, int width) {
  return chart.kind == "bars" ? bar_chart(chart, width) : sparkline_chart(chart, width);
}

std::string render_terminal(const std::string& language, const Lesson& lesson, const Findings& findings) {
  if (findings.missing_data) return "# " + title(language, lesson.name) + "\n\n" + missing_data_text(language, findings) + "\n";
  std::string out;
  for (const Block& block : fill(language, lesson, findings)) {
    if (!block.chart) {
      out += block.markdown;
      continue;
    }
    out += fmt::format("{}  [{} ↔ {} · {}]\n\n", block.chart_title, block.x_title, block.y_title,
                       phrase(language, "chart_note"));
    out += terminal_chart(*block.chart) + "\n";
  }
  return out;
}

std::string render_html(const std::string& language, const Lesson& lesson, const Findings& findings) {
  const std::string page_title = title(language, lesson.name);
  const std::string subtitle = phrase(language, "page_subtitle", {{"version", std::string(kVersion)}, {"lesson", lesson.name}});
  if (findings.missing_data)
    return report::html_page(page_title, subtitle, "<p>" + escape_html(missing_data_text(language, findings)) + "</p>\n",
                             {{"lesson", {{"charts", nlohmann::json::array()}}}}, language);
  std::string body;
  nlohmann::json charts = nlohmann::json::array();
  for (const Block& block : fill(language, lesson, findings)) {
    if (!block.chart) {
      // The page's <h1> is the title: drop the file's first heading.
      const std::string& md = block.markdown;
      body += markdown_html(md.starts_with("# ") ? md.substr(md.find('\n') + 1) : md);
      continue;
    }
    const Chart& chart = *block.chart;
    const std::string canvas = fmt::format("lesson-chart-{}", charts.size());
    nlohmann::json series = nlohmann::json::array();
    for (const Series& s : chart.series)
      series.push_back({{"label", s.label}, {"x", finite_or_null(s.x)}, {"y", finite_or_null(s.y)}});
    charts.push_back({{"canvas", canvas}, {"kind", chart.kind}, {"log_scale", chart.log_scale},
                      {"categories", chart.categories}, {"series", series}, {"x_title", block.x_title},
                      {"y_title", block.y_title}});
    body += fmt::format("<div class=\"card\"><h3>{}</h3><div class=\"chart\"><canvas id=\"{}\"></canvas></div></div>\n",
                        escape_html(block.chart_title), canvas);
  }
  return report::html_page(page_title, subtitle, body, {{"lesson", {{"charts", charts}}}}, language);
}

}  // namespace actlab::lessons
