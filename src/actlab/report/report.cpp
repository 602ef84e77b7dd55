#include "actlab/report/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "actlab/activations/activation.h"
#include "actlab/autograd/grad_mode.h"
#include "actlab/core/version.h"
#include "actlab/experiment/settings.h"
#include "actlab/io/safetensors.h"

namespace actlab::report {

namespace assets {
extern const char* const k_chart_js;
extern const char* const k_report_js;
extern const char* const k_report_css;
}  // namespace assets

using experiment::ArmSummary;
using experiment::RunResult;
using experiment::Summary;

namespace {

std::string percent(const std::optional<double>& v, int digits = 2) {
  return v ? fmt::format("{:.{}f}%", *v * 100.0, digits) : "n/a";
}

std::string number(const std::optional<double>& v) { return v && std::isfinite(*v) ? fmt::format("{:.4g}", *v) : "n/a"; }

// Arms by test accuracy, best first, or by test loss for tasks without an accuracy (regression);
// arms without an evaluation last.
std::vector<const ArmSummary*> ranked(const Summary& summary) {
  std::vector<const ArmSummary*> arms;
  for (const auto& a : summary.by_activation) arms.push_back(&a);
  std::stable_sort(arms.begin(), arms.end(), [](const ArmSummary* a, const ArmSummary* b) {
    if (a->test_acc_mean || b->test_acc_mean) return a->test_acc_mean.value_or(-1.0) > b->test_acc_mean.value_or(-1.0);
    return a->test_loss_mean.value_or(INFINITY) < b->test_loss_mean.value_or(INFINITY);
  });
  return arms;
}

double target_of(const Summary& s) { return s.settings.value("target_acc", 0.97); }
std::int64_t seeds_of(const Summary& s) {
  return s.settings.contains("seeds") && s.settings["seeds"].is_array() ? static_cast<std::int64_t>(s.settings["seeds"].size()) : 1;
}

struct RankRow {
  std::string rank, arm, accuracy, ci, test_loss, train_loss, to_target, seconds, status;
};

std::vector<RankRow> ranking_rows(const Summary& summary) {
  std::vector<RankRow> rows;
  int rank = 1;
  for (const ArmSummary* a : ranked(summary)) {
    RankRow row;
    row.rank = std::to_string(rank++);
    row.arm = a->arm;
    row.accuracy = a->test_acc_mean ? fmt::format("{} ± {}", percent(a->test_acc_mean), percent(a->test_acc_std)) : "n/a";
    row.ci = a->test_acc_ci95 && a->runs > 1
                 ? fmt::format("[{}, {}]", percent(a->test_acc_ci95->first), percent(a->test_acc_ci95->second))
                 : "n/a (1 seed)";
    row.test_loss = number(a->test_loss_mean);
    row.train_loss = number(a->final_train_loss_mean);
    row.to_target = a->epochs_to_target
                        ? fmt::format("{:.1f} ({}/{} seeds)", *a->epochs_to_target, a->reached_target, a->runs)
                        : "not reached";
    row.seconds = fmt::format("{:.1f}", a->seconds_mean);
    row.status = a->diverged ? fmt::format("{}/{} diverged", a->diverged, a->runs) : "ok";
    rows.push_back(row);
  }
  return rows;
}

// Settings shared by every arm: everything but the swept keys.
std::vector<std::pair<std::string, std::string>> shared_settings(const Summary& summary) {
  std::set<std::string> swept = {"activations"};
  if (summary.settings.contains("sweep"))
    for (const auto& [key, _] : summary.settings["sweep"].items()) swept.insert(key);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, value] : summary.settings.items()) {
    if (swept.contains(key) || key == "sweep" || key == "published") continue;
    out.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return out;
}

// A published figure beside the measured value of its arm (settings' "published", from the config).
constexpr const char* kPublishedNote =
    "Figures the config quotes from the paper, beside this experiment's test result for the same arm. The "
    "config's comments say how its budget and procedure differ from the paper's, which explains part of any gap.";

struct PublishedRow {
  std::string arm, source, published, measured, difference;
};

std::vector<PublishedRow> published_rows(const Summary& summary) {
  std::vector<PublishedRow> rows;
  if (!summary.settings.contains("published")) return rows;
  for (const auto& entry : summary.settings["published"]) {
    experiment::PublishedFigure figure{entry.at("arm").get<std::map<std::string, std::string>>(),
                                       entry.at("metric").get<std::string>(), entry.at("value").get<double>(),
                                       entry.at("source").get<std::string>()};
    const bool error = figure.metric == "test_error";
    const std::string unit = error ? "error" : "accuracy";
    for (const ArmSummary& a : summary.by_activation) {
      if (!experiment::matches(figure, a.axes)) continue;
      PublishedRow row{a.arm, figure.source, fmt::format("{:.2f}% {}", figure.value, unit), "n/a", "n/a"};
      if (a.test_acc_mean) {
        const double measured = (error ? 1.0 - *a.test_acc_mean : *a.test_acc_mean) * 100.0;
        row.measured = fmt::format("{:.2f}% {}{}", measured, unit,
                                   a.runs > 1 ? fmt::format(" ± {:.2f}", *a.test_acc_std * 100.0) : "");
        row.difference = fmt::format("{:+.2f} points", measured - figure.value);
      }
      rows.push_back(row);
    }
  }
  return rows;
}

std::string escape_html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Mean and mean +- std over seeds of one per-epoch metric; null where no run has a value.
nlohmann::json epoch_series(const std::vector<const RunResult*>& runs, std::int64_t epochs,
                            const std::function<std::optional<double>(const experiment::EpochMetrics&)>& metric) {
  nlohmann::json mean = nlohmann::json::array(), lo = nlohmann::json::array(), hi = nlohmann::json::array();
  for (std::int64_t e = 0; e < epochs; ++e) {
    std::vector<double> values;
    for (const RunResult* run : runs)
      if (e < static_cast<std::int64_t>(run->epochs.size()))
        if (auto v = metric(run->epochs[static_cast<std::size_t>(e)]); v && std::isfinite(*v)) values.push_back(*v);
    if (values.empty()) {
      mean.push_back(nullptr);
      lo.push_back(nullptr);
      hi.push_back(nullptr);
      continue;
    }
    const double m = experiment::mean_of(values), sd = experiment::std_of(values);
    mean.push_back(m);
    lo.push_back(m - sd);
    hi.push_back(m + sd);
  }
  return {{"mean", mean}, {"lo", lo}, {"hi", hi}};
}

// Whether an activation acts on a vector along a dim (softmax, log_softmax) rather than on each
// element; such a one is drawn as the first output of f([x, 0]), i.e. two logits.
bool acts_along_dim(const ActivationFunction& activation) {
  const auto& params = activation.info().params;
  return std::any_of(params.begin(), params.end(), [](const ActivationParam& p) { return p.name == "dim"; });
}

// f(x) and f'(x) on [-5, 5], evaluated by actlab itself (f' by autograd); nullopt for an
// activation that needs a channel layout or acts along a dim other than the last.
std::optional<nlohmann::json> activation_curve(ActivationFunction& activation) {
  activation.set_training(false);
  const bool along_dim = acts_along_dim(activation);
  const std::string spec = activation.spec();
  if (along_dim && spec.find("dim=-1") == std::string::npos && spec.find("dim=1") == std::string::npos) return std::nullopt;
  Tensor x = arange(-5.0, 5.0001, 0.05, kFloat64).detach().requires_grad_();
  Tensor y;
  try {
    y = along_dim ? activation.forward(stack({x, zeros_like(x)}, 1)).select(1, 0) : activation.forward(x.reshape({1, -1}));
    y.sum().backward();
  } catch (const Error&) {
    return std::nullopt;
  }
  return nlohmann::json{{"x", x.detach().to_vector<double>()},
                        {"f", y.detach().to_vector<double>()},
                        {"df", x.grad().to_vector<double>()},
                        {"two_logits", along_dim}};
}

nlohmann::json activation_curves(const Summary& summary) {
  nlohmann::json curves = nlohmann::json::array();
  std::set<std::string> seen;
  for (const auto& arm : summary.by_activation) {
    if (!seen.insert(arm.activation).second) continue;
    std::unique_ptr<ActivationFunction> activation;
    try {
      activation = make_activation(arm.activation);
    } catch (const Error&) {
      continue;  // a spec from an older version: the report still renders, without its curve
    }
    if (auto curve = activation_curve(*activation)) {
      (*curve)["activation"] = arm.activation;
      curves.push_back(*curve);
    }
  }
  return curves;
}

// The first run of an arm with recorded snapshots: its diagnostics stand for the arm.
const RunResult* recorded(const std::vector<const RunResult*>& runs) {
  for (const RunResult* r : runs)
    if (r->diagnostics.contains("snapshots") && !r->diagnostics["snapshots"].empty()) return r;
  return nullptr;
}

std::map<std::string, std::vector<const RunResult*>> runs_by_arm(const Summary& summary) {
  std::map<std::string, std::vector<const RunResult*>> out;
  for (const auto& run : summary.runs) out[run.arm].push_back(&run);
  return out;
}

// Verdicts of each arm's recorded run, and where a run diverged, what the locator found.
struct ArmVerdicts {
  std::string arm;
  std::uint64_t seed = 0;
  std::vector<std::string> lines;  // "kind: evidence" or "healthy ..."
  std::vector<std::string> remedies;
};

std::vector<ArmVerdicts> arm_verdicts(const Summary& summary) {
  auto by_arm = runs_by_arm(summary);
  std::vector<ArmVerdicts> out;
  for (const auto& arm : summary.by_activation) {
    const RunResult* run = recorded(by_arm[arm.arm]);
    if (!run) continue;
    ArmVerdicts v{arm.arm, run->seed, {}, {}};
    for (const auto& verdict : run->diagnostics["verdicts"]) {
      v.lines.push_back(verdict.value("kind", "") + ": " + verdict.value("evidence", ""));
      v.remedies.push_back(fmt::format("{}", fmt::join(verdict.value("remedies", std::vector<std::string>{}), "; ")));
    }
    if (v.lines.empty())
      v.lines.push_back("healthy: no exploding or vanishing gradients, dead units, saturation, stall or learning-rate problem");
    out.push_back(std::move(v));
  }
  return out;
}

// A chart of the report page, declared once: the page gets a card with a canvas `id` under
// `title`, and report.js draws it with its drawer for `kind` from the data field `series`. A new
// chart is one more declaration (and, for a new kind, one more drawer in report.js).
struct Chart {
  std::string id;       // per-arm charts: the canvas of arm i is "<id>-<i>"
  std::string title;
  std::string kind;     // report.js drawers: steps, curve, bars, activation; per arm: flow, heatmap, histograms,
                        // and for sequence models time_gradient, time_series, time_gates
  std::string series;   // the field it plots (an arm's series, a curve's key, a layer statistic)
  std::string y_title{};  // the value axis
  std::string scale = "linear";  // "log": logarithmic axis; heatmaps: "log10" or "percent" values
  std::string layers{};  // per-arm charts: the layers it shows ("weighted", "activation" or "" for all)
};

void to_json(nlohmann::json& j, const Chart& c) {
  j = {{"id", c.id}, {"title", c.title}, {"kind", c.kind}, {"series", c.series}, {"y_title", c.y_title},
       {"scale", c.scale}, {"layers", c.layers}};
}

// The training curves, in page order; the held-out charts show validation data when there is some.
std::vector<Chart> training_charts(bool has_val) {
  const std::string held = has_val ? "val" : "test", held_name = has_val ? "validation" : "test";
  const std::string Held = has_val ? "Validation" : "Test";
  return {{"chart-train-steps", "Training loss (logged steps)", "steps", "steps", "training loss", "log"},
          {"chart-train-loss", "Training loss per epoch", "curve", "train_loss", "training loss (epoch mean)", "log"},
          {"chart-val-loss", Held + " loss", "curve", held + "_loss", held_name + " loss", "log"},
          {"chart-val-acc", Held + " accuracy", "curve", held + "_acc", held_name + " accuracy"},
          {"chart-test-acc", "Test accuracy per epoch", "curve", "test_acc", "test accuracy"},
          {"chart-test-bars", "Final test accuracy (95% CI over seeds)", "bars", "test_acc_mean", "test accuracy (%)"}};
}

std::vector<Chart> activation_charts() {
  return {{"chart-act-f", "f(x)", "activation", "f", "f(x)"}, {"chart-act-df", "f'(x)", "activation", "df", "f'(x)"}};
}

// One row per chart with a card for every recorded arm side by side.
std::vector<Chart> gradient_flow_charts() {
  return {{"diag-flow", "Gradient flow: gradient norm per layer at initialization and at the end", "flow", "grad_norm",
           "gradient norm at the layer's output", "log", "weighted"},
          {"diag-grad", "Gradient norm at each weighted layer's output (log10), layer x step", "heatmap", "grad_norm", "",
           "log10", "weighted"},
          {"diag-dead", "Dead units (zero for every probe sample), layer x step", "heatmap", "dead_fraction", "",
           "percent", "activation"},
          {"diag-sat", "Saturated values (|f'(x)| < 1% of its maximum), layer x step", "heatmap", "saturated_fraction",
           "", "percent", "activation"},
          {"diag-hist", "Activation histograms over time", "histograms", "histogram", "fraction of values", "linear",
           "activation"},
          {"time-grad", "Gradient through time: ||dL/dh_t|| against the time step t, at initialization and at the end",
           "time_gradient", "grad_norms", "||dL/dh_t||", "log"},
          {"time-radius", "Spectral radius of W_hh (candidate block) over training", "time_series", "spectral_radius",
           "spectral radius"},
          {"time-gates", "Saturated gates (sigmoid below 0.05 or above 0.95), gate x step", "time_gates",
           "gate_saturation", "", "percent"}};
}

// Through-time charts (kinds time_*) exist for sequence models only.
bool shows_chart(const nlohmann::json& chart, const nlohmann::json& diagnostics) {
  if (!chart["kind"].get<std::string>().starts_with("time_")) return true;
  const auto tt = diagnostics.find("through_time");
  if (tt == diagnostics.end() || tt->empty()) return false;
  return chart["kind"] != "time_gates" || !tt->front()["gate_saturation"].empty();
}

// A card with a canvas; `title` is HTML.
std::string chart_card(const std::string& title, const std::string& id) {
  return fmt::format("<div class=\"card\"><h3>{}</h3><div class=\"chart\"><canvas id=\"{}\"></canvas></div></div>\n",
                     title, id);
}

std::string chart_cards(const nlohmann::json& charts) {
  std::string html;
  for (const auto& chart : charts)
    html += chart_card(escape_html(chart["title"].get<std::string>()), chart["id"].get<std::string>());
  return html;
}

nlohmann::json chart_data(const Summary& summary) {
  auto by_arm = runs_by_arm(summary);
  bool has_val = false;
  nlohmann::json arms = nlohmann::json::array();
  for (const auto& arm : summary.by_activation) {
    const auto& runs = by_arm[arm.arm];
    std::int64_t epochs = 0;
    for (const RunResult* r : runs) {
      epochs = std::max<std::int64_t>(epochs, static_cast<std::int64_t>(r->epochs.size()));
      for (const auto& e : r->epochs) has_val = has_val || e.val_acc.has_value();
    }
    nlohmann::json epoch_numbers = nlohmann::json::array();
    for (std::int64_t e = 1; e <= epochs; ++e) epoch_numbers.push_back(e);
    // Logged training losses, averaged over seeds step by step.
    nlohmann::json step_x = nlohmann::json::array(), step_mean = nlohmann::json::array();
    if (!runs.empty()) {
      for (std::size_t k = 0; k < runs.front()->steps.size(); ++k) {
        double sum = 0;
        int count = 0;
        for (const RunResult* r : runs)
          if (k < r->steps.size() && std::isfinite(r->steps[k].loss)) {
            sum += r->steps[k].loss;
            ++count;
          }
        step_x.push_back(runs.front()->steps[k].epoch);
        step_mean.push_back(count ? nlohmann::json(sum / count) : nlohmann::json());
      }
    }
    arms.push_back({
        {"arm", arm.arm},
        {"epochs", epoch_numbers},
        {"train_loss", epoch_series(runs, epochs, [](const auto& e) { return std::optional<double>(e.train_loss); })},
        {"train_acc", epoch_series(runs, epochs, [](const auto& e) { return std::optional<double>(e.train_acc); })},
        {"val_loss", epoch_series(runs, epochs, [](const auto& e) { return e.val_loss; })},
        {"val_acc", epoch_series(runs, epochs, [](const auto& e) { return e.val_acc; })},
        {"test_loss", epoch_series(runs, epochs, [](const auto& e) { return std::optional<double>(e.test_loss); })},
        {"test_acc", epoch_series(runs, epochs, [](const auto& e) { return std::optional<double>(e.test_acc); })},
        {"steps", {{"x", step_x}, {"mean", step_mean}}},
        {"test_acc_mean", arm.test_acc_mean ? nlohmann::json(*arm.test_acc_mean) : nlohmann::json()},
        {"ci", arm.test_acc_ci95 ? nlohmann::json{arm.test_acc_ci95->first, arm.test_acc_ci95->second} : nlohmann::json()},
        {"diagnostics", recorded(runs) ? recorded(runs)->diagnostics : nlohmann::json()},
    });
  }
  const nlohmann::json curves = activation_curves(summary);
  return {{"experiment", summary.experiment},
          {"arms", arms},
          {"seeds", seeds_of(summary)},
          {"has_val", has_val},
          {"curves", curves},
          {"charts", training_charts(has_val)},
          {"activation_charts", curves.empty() ? std::vector<Chart>{} : activation_charts()},
          {"arm_charts", gradient_flow_charts()}};
}

// JSON placed inside <script>: "</" must not close the element.
std::string script_safe(const std::string& json) {
  std::string out;
  for (std::size_t i = 0; i < json.size(); ++i) {
    out += json[i];
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') out += "\\";
  }
  return out;
}

bool measures_saturation(const nlohmann::json& diagnostics) {
  for (const auto& snapshot : diagnostics["snapshots"])
    for (const auto& layer : snapshot["layers"])
      if (layer["saturated_fraction"].is_number()) return true;
  return false;
}

// Verdicts, then one row per chart kind with a card for every recorded arm side by side.
std::string gradient_flow_section(const Summary& summary, const nlohmann::json& data) {
  const auto verdicts = arm_verdicts(summary);
  if (verdicts.empty()) return "";
  std::string html =
      "<h2>Gradient flow</h2>\n<p class=\"note\">Per-layer statistics on a fixed probe batch, recorded at "
      "initialization, every <code>diagnostics_every</code> steps and at the end (one seed per arm). Layers run from "
      "the input (top) to the output (bottom). A gradient norm that fades towards the top is vanishing; one that "
      "grows towards the top or over time is exploding. See docs/DIAGNOSTICS.md.</p>\n<div class=\"arms\">\n";
  for (const auto& v : verdicts) {
    html += fmt::format("<div class=\"card\"><h3>{} <span class=\"note\">(seed {})</span></h3>\n", escape_html(v.arm), v.seed);
    for (std::size_t i = 0; i < v.lines.size(); ++i) {
      const auto colon = v.lines[i].find(':');
      html += fmt::format("<p class=\"verdict\"><b>{}</b>{}", escape_html(v.lines[i].substr(0, colon)),
                          escape_html(v.lines[i].substr(colon)));
      if (i < v.remedies.size()) html += "<br><span class=\"note\">try: " + escape_html(v.remedies[i]) + "</span>";
      html += "</p>\n";
    }
    html += "</div>\n";
  }
  html += "</div>\n";
  if (std::any_of(data["arms"].begin(), data["arms"].end(),
                  [](const nlohmann::json& arm) { return arm["diagnostics"].contains("through_time"); }))
    html += "<p class=\"note\">Recurrent models: the activation compared is the RNN's nonlinearity, and for LSTM and "
            "GRU the candidate's and the cell output's; their gates stay sigmoid.</p>\n";
  for (const auto& chart : data["arm_charts"]) {
    if (std::none_of(data["arms"].begin(), data["arms"].end(), [&](const nlohmann::json& arm) {
          return !arm["diagnostics"].is_null() && shows_chart(chart, arm["diagnostics"]);
        }))
      continue;
    html += fmt::format("<h3>{}</h3>\n<div class=\"arms\">\n", escape_html(chart["title"].get<std::string>()));
    for (std::size_t i = 0; i < data["arms"].size(); ++i) {
      const auto& arm = data["arms"][i];
      if (arm["diagnostics"].is_null() || !shows_chart(chart, arm["diagnostics"])) continue;
      const std::string name = escape_html(arm["arm"].get<std::string>());
      if (chart["series"] == "saturated_fraction" && !measures_saturation(arm["diagnostics"]))
        html += fmt::format("<div class=\"card\"><h3>{}</h3><p class=\"note\">Not measured: this activation keeps "
                            "a slope in at least one tail, so it cannot saturate there (see dead units).</p></div>\n",
                            name);
      else
        html += chart_card(name, fmt::format("{}-{}", chart["id"].get<std::string>(), i));
    }
    html += "</div>\n";
  }
  return html;
}

}  // namespace

std::vector<std::string> reading(const Summary& summary) {
  std::vector<std::string> sentences;
  const auto arms = ranked(summary);
  const double target = target_of(summary);
  if (!arms.empty() && !arms.front()->test_acc_mean && arms.front()->test_loss_mean) {
    // A task without an accuracy (regression): compare the test losses.
    std::vector<const ArmSummary*> evaluated;
    for (const ArmSummary* a : arms)
      if (a->test_loss_mean) evaluated.push_back(a);
    sentences.push_back(fmt::format("{} reached the lowest test loss, {}; {} the highest, {}.", evaluated.front()->arm,
                                    number(evaluated.front()->test_loss_mean), evaluated.back()->arm,
                                    number(evaluated.back()->test_loss_mean)));
    return sentences;
  }
  if (arms.empty() || !arms.front()->test_acc_mean) {
    sentences.push_back("No run finished an epoch, so there is nothing to compare yet.");
    return sentences;
  }
  const ArmSummary& best = *arms.front();
  std::vector<const ArmSummary*> evaluated;
  for (const ArmSummary* a : arms)
    if (a->test_acc_mean) evaluated.push_back(a);
  const ArmSummary& worst = *evaluated.back();
  sentences.push_back(fmt::format("{} reached the best test accuracy, {}; {} the lowest, {} ({:.2f} points behind).",
                                  best.arm, percent(best.test_acc_mean), worst.arm, percent(worst.test_acc_mean),
                                  (*best.test_acc_mean - *worst.test_acc_mean) * 100.0));
  if (evaluated.size() >= 2) {
    const ArmSummary& second = *evaluated[1];
    if (best.runs > 1 && second.runs > 1 && best.test_acc_ci95 && second.test_acc_ci95) {
      const bool overlap = best.test_acc_ci95->first <= second.test_acc_ci95->second;
      sentences.push_back(overlap ? fmt::format("The 95% confidence intervals of {} and {} overlap: over {} seeds the "
                                                "difference between them is within seed-to-seed noise.",
                                                best.arm, second.arm, best.runs)
                                  : fmt::format("{} beats {} by more than seed-to-seed noise (95% confidence intervals "
                                                "over {} seeds do not overlap).",
                                                best.arm, second.arm, best.runs));
    } else {
      sentences.push_back("With one seed per arm, differences below about half a point may be seed noise: run "
                          "with --seeds 3 or more to get confidence intervals.");
    }
  }
  std::vector<std::string> slow, never;
  for (const ArmSummary* a : evaluated) {
    if (!a->epochs_to_target)
      never.push_back(a->arm);
    else if (best.epochs_to_target && *a->epochs_to_target >= *best.epochs_to_target + 1.0)
      slow.push_back(fmt::format("{} ({:.1f} epochs)", a->arm, *a->epochs_to_target));
  }
  if (best.epochs_to_target)
    sentences.push_back(fmt::format("{} reached {} accuracy after {:.1f} epoch(s) on average.", best.arm,
                                    percent(target, 0), *best.epochs_to_target));
  if (!slow.empty())
    sentences.push_back(fmt::format("Slower to reach {}: {}.", percent(target, 0), fmt::join(slow, ", ")));
  if (!never.empty()) {
    std::string sentence = fmt::format("Never reached {} within the budget: {}.", percent(target, 0), fmt::join(never, ", "));
    // Explain the gap when the arms left behind saturate and some other arm made it.
    bool saturating = false;
    for (const ArmSummary* a : evaluated) {
      if (a->epochs_to_target) continue;
      try {
        saturating = saturating || make_activation(a->activation)->info().saturates.find("both") != std::string::npos;
      } catch (const Error&) {
      }
    }
    if (saturating && best.epochs_to_target)
      sentence += " Activations that saturate on both sides (sigmoid, tanh) pass smaller gradients back through each "
                  "layer, so deep stacks of them learn more slowly under the same learning rate and initialization.";
    sentences.push_back(sentence);
  }
  for (const ArmSummary* a : arms)
    if (a->diverged)
      sentences.push_back(fmt::format("{} diverged (non-finite loss) in {} of {} runs: lower the learning rate, clip "
                                      "gradients (--clip-norm) or add normalization.",
                                      a->arm, a->diverged, a->runs));
  return sentences;
}

std::string render_markdown(const Summary& summary) {
  std::string md = fmt::format("# {}\n\n", summary.experiment);
  md += fmt::format("actlab {} on {} with {} thread(s).\n\n", summary.environment.version, summary.environment.cpu,
                    summary.environment.threads);
  md += "## Ranking\n\n";
  md += fmt::format("| # | arm | test accuracy (mean ± std) | 95% CI | test loss | final train loss | epochs to {} | "
                    "seconds per run | status |\n",
                    percent(target_of(summary), 0));
  md += "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : ranking_rows(summary))
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", r.rank, r.arm, r.accuracy, r.ci, r.test_loss,
                      r.train_loss, r.to_target, r.seconds, r.status);
  md += "\n## Reading\n\n";
  for (const auto& s : reading(summary)) md += "- " + s + "\n";
  if (const auto published = published_rows(summary); !published.empty()) {
    md += "\n## Published beside measured\n\n" + std::string(kPublishedNote) +
          "\n\n| arm | source | published | measured | measured − published |\n|---|---|---|---|---|\n";
    for (const auto& r : published)
      md += fmt::format("| {} | {} | {} | {} | {} |\n", r.arm, r.source, r.published, r.measured, r.difference);
  }
  if (const auto verdicts = arm_verdicts(summary); !verdicts.empty()) {
    md += "\n## Gradient flow\n\nVerdicts from per-layer statistics on a fixed probe batch (see docs/DIAGNOSTICS.md).\n\n";
    for (const auto& v : verdicts) {
      md += fmt::format("- **{}** (seed {})\n", v.arm, v.seed);
      for (std::size_t i = 0; i < v.lines.size(); ++i)
        md += fmt::format("  - {}{}\n", v.lines[i], i < v.remedies.size() ? " — try: " + v.remedies[i] : "");
    }
  }
  md += "\n## Shared settings\n\nEvery arm saw the same data in the same order, started from the same initial "
        "weights where shapes allow (same seed), and used the same hyper-parameters; only the swept settings "
        "differ.\n\n| setting | value |\n|---|---|\n";
  for (const auto& [key, value] : shared_settings(summary)) md += fmt::format("| {} | {} |\n", key, value);
  return md;
}

std::string html_page(const std::string& title, const std::string& subtitle, const std::string& body,
                      const nlohmann::json& data, const std::string& language) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"{language}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title} — actlab</title>\n"
      "<style>\n{css}</style>\n</head>\n<body>\n<h1>{title}</h1>\n<p class=\"subtitle\">{subtitle}</p>\n{body}"
      "<script>\n{chartjs}\n</script>\n<script>\nwindow.ACTLAB_DATA = {data};\n</script>\n<script>\n{reportjs}\n</script>\n"
      "</body>\n</html>\n",
      fmt::arg("language", escape_html(language)), fmt::arg("title", escape_html(title)),
      fmt::arg("subtitle", escape_html(subtitle)), fmt::arg("body", body),
      fmt::arg("css", assets::k_report_css), fmt::arg("chartjs", assets::k_chart_js),
      fmt::arg("data", script_safe(data.dump())), fmt::arg("reportjs", assets::k_report_js));
}

std::string render_html(const Summary& summary) {
  std::string rows;
  for (const auto& r : ranking_rows(summary))
    rows += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                        r.rank, escape_html(r.arm), r.accuracy, r.ci, r.test_loss, r.train_loss, r.to_target, r.seconds,
                        r.status);
  std::string sentences;
  for (const auto& s : reading(summary)) sentences += "<li>" + escape_html(s) + "</li>\n";
  std::string published;
  if (const auto figures = published_rows(summary); !figures.empty()) {
    published = fmt::format("<h2>Published beside measured</h2>\n<p class=\"note\">{}</p>\n<table>\n<tr><th>arm</th>"
                            "<th>source</th><th>published</th><th>measured</th><th>measured − published</th></tr>\n",
                            kPublishedNote);
    for (const auto& r : figures)
      published += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", escape_html(r.arm),
                               escape_html(r.source), r.published, r.measured, r.difference);
    published += "</table>\n";
  }
  std::string settings;
  for (const auto& [key, value] : shared_settings(summary))
    settings += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", escape_html(key), escape_html(value));
  const nlohmann::json data = chart_data(summary);
  const std::string charts = chart_cards(data["charts"]);
  std::string activation_section;
  if (!data["activation_charts"].empty())
    activation_section = "<h2>The activations</h2>\n<p class=\"note\">Each function and its derivative, computed by "
                         "actlab (the derivative by autograd). A derivative that falls to zero is where gradients "
                         "vanish; a derivative of exactly zero over a whole half-line is where ReLU units can die.</p>\n"
                         "<div class=\"grid\">\n" + chart_cards(data["activation_charts"]) + "</div>\n";
  const std::string body = fmt::format(
      "<h2>Ranking</h2>\n<table>\n<tr><th>#</th><th>arm</th><th>test accuracy (mean ± std)</th><th>95% CI</th>"
      "<th>test loss</th><th>final train loss</th><th>epochs to {target}</th><th>seconds per run</th><th>status</th></tr>\n"
      "{rows}</table>\n<h2>Reading</h2>\n<ul class=\"reading\">\n{sentences}</ul>\n{published}"
      "<h2>Training curves</h2>\n<p class=\"note\">Lines are means over seeds; shaded bands are ± one standard "
      "deviation.</p>\n<div class=\"grid\">\n{charts}</div>\n{activations}{gradient_flow}"
      "<h2>Shared settings</h2>\n<p class=\"note\">Every arm saw the same data in the same order, started from the same "
      "initial weights where shapes allow (same seed), and used the same hyper-parameters; only the swept settings "
      "differ.</p>\n<table>\n<tr><th>setting</th><th>value</th></tr>\n{settings}</table>\n",
      fmt::arg("target", percent(target_of(summary), 0)), fmt::arg("rows", rows), fmt::arg("sentences", sentences), fmt::arg("published", published),
      fmt::arg("charts", charts), fmt::arg("activations", activation_section),
      fmt::arg("gradient_flow", gradient_flow_section(summary, data)), fmt::arg("settings", settings));
  return html_page(summary.experiment,
                   fmt::format("actlab {} · {} · {} thread(s)", summary.environment.version, summary.environment.cpu,
                               summary.environment.threads),
                   body, data);
}

std::string render_activation_atlas(const std::vector<std::string>& specs) {
  nlohmann::json atlas = nlohmann::json::array();
  std::string cards;
  for (const std::string& spec : specs) {
    const auto activation = make_activation(spec);
    const auto curve = activation_curve(*activation);
    if (!curve) continue;
    const ActivationInfo& info = activation->info();
    const std::string id = fmt::format("atlas-{}", atlas.size());
    nlohmann::json entry = *curve;
    entry["activation"] = activation->spec();
    entry["canvas"] = id;
    atlas.push_back(entry);
    const auto yes_no = [](bool v) { return v ? "yes" : "no"; };
    cards += fmt::format(
        "<div class=\"card\"><h3>{name}</h3>\n<p class=\"formula\">f(x) = {formula}<br>f'(x) = {derivative}{view}</p>\n"
        "<div class=\"chart\"><canvas id=\"{id}\"></canvas></div>\n"
        "<p class=\"note\">range {range} · zero-centred {zero} · monotonic {mono} · smooth {smooth} · saturates {sat} · "
        "init gain {gain:.4g}</p>\n<p>{note}</p></div>\n",
        fmt::arg("name", escape_html(activation->spec())), fmt::arg("formula", escape_html(info.formula)),
        fmt::arg("derivative", escape_html(info.derivative)), fmt::arg("id", id),
        fmt::arg("view", (*curve)["two_logits"].get<bool>() ? "<br>drawn: first output of f([x, 0]), two logits" : ""),
        fmt::arg("range", escape_html(info.output_range)), fmt::arg("zero", yes_no(info.zero_centred)),
        fmt::arg("mono", yes_no(info.monotonic)), fmt::arg("smooth", yes_no(info.smooth)),
        fmt::arg("sat", escape_html(info.saturates)), fmt::arg("gain", activation->gain()),
        fmt::arg("note", escape_html(info.note)));
  }
  return html_page("Activation functions", fmt::format("actlab {}", kVersion),
                   "<p class=\"note\">Each function (solid) and its derivative (dashed) on [-5, 5], computed by "
                   "actlab, the derivative by autograd. Where the derivative falls to zero, gradients vanish; a "
                   "derivative of exactly zero over a half-line is where units can die.</p>\n<div class=\"grid\">\n" +
                       cards + "</div>\n",
                   {{"atlas", atlas}});
}

std::string html_text(const std::string& text) { return escape_html(text); }

void write_reports(const std::string& dir, const Summary& summary) {
  io::write_file_atomically((std::filesystem::path(dir) / "report.md").string(), render_markdown(summary));
  io::write_file_atomically((std::filesystem::path(dir) / "report.html").string(), render_html(summary));
}

}  // namespace actlab::report
