// Reports of an experiment: report.md (ranking table, shared settings, a plain-language
// reading) and report.html (one self-contained offline page with interactive charts drawn by
// Chart.js, which is embedded).
//
// Both are rendered from a Summary alone, so `actlab report DIR` can re-render them from a
// saved summary.json.
#pragma once

#include <string>
#include <vector>

#include "actlab/experiment/results.h"

namespace actlab::report {

// Sentences that say what the numbers mean (best and worst arm, whether differences are
// larger than seed noise, which arms never reached the target or diverged).
std::vector<std::string> reading(const experiment::Summary& summary);

std::string render_markdown(const experiment::Summary& summary);
std::string render_html(const experiment::Summary& summary);

// One self-contained page with a chart of each activation and its derivative (by autograd) and
// its properties, for `actlab activations --plot`. Specs as make_activation takes them (with
// parameters: "leaky_relu:0.2"); an invalid spec throws; activations that need a channel layout
// have no scalar curve and are left out.
std::string render_activation_atlas(const std::vector<std::string>& specs);

// `text` with & < > " as HTML entities.
std::string html_text(const std::string& text);

// A self-contained page in the report's style: `title` and `subtitle` (plain text) over `body`
// (HTML), with Chart.js and report.js embedded and `data` as window.ACTLAB_DATA; report.js draws
// the charts `data` declares (see report.js for the page kinds); `language` is the page's lang.
std::string html_page(const std::string& title, const std::string& subtitle, const std::string& body,
                      const nlohmann::json& data, const std::string& language = "en");

// Writes DIR/report.md and DIR/report.html atomically.
void write_reports(const std::string& dir, const experiment::Summary& summary);

}  // namespace actlab::report
