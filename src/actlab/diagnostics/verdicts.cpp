#include "actlab/diagnostics/verdicts.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <functional>

namespace actlab::diagnostics {
namespace {

const std::vector<std::string> kVanishingRemedies = {
    "a ReLU-family activation (--activations relu,leaky_relu,elu)",
    "an init matched to the activation (--init he for ReLU, --init xavier for tanh)",
    "normalization between layers (--norm batch)", "residual connections (--model resnet-small)"};
const std::vector<std::string> kExplodingRemedies = {"clip the gradient norm (--clip-norm 1)",
                                                     "a lower learning rate (--lr)",
                                                     "normalization between layers (--norm batch or --norm layer)"};
const std::vector<std::string> kDeadRemedies = {"Leaky ReLU or ELU (--activations leaky_relu,elu)",
                                                "a lower learning rate (--lr)", "He init (--init he)"};
const std::vector<std::string> kSaturatedRemedies = {"a zero-centred activation (tanh rather than sigmoid, or the ReLU family)",
                                                     "Xavier init (--init xavier)",
                                                     "normalization between layers (--norm batch)"};

std::vector<std::size_t> weighted(const std::vector<LayerInfo>& layers) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i].weighted) out.push_back(i);
  return out;
}

// First-layer over last-layer gradient norm, when both are measured and positive.
std::optional<double> depth_ratio(const std::vector<std::size_t>& w, const Snapshot& s) {
  if (w.size() < 2) return std::nullopt;
  const double first = s.layers[w.front()].grad_norm, last = s.layers[w.back()].grad_norm;
  if (!(last > 0) || !std::isfinite(first)) return std::nullopt;
  return first / last;
}

// A check gives the evidence at a snapshot where it fires, or nothing.
using Check = std::function<std::optional<std::string>(const Snapshot&)>;

std::optional<Verdict> first_firing(const std::string& kind, const std::vector<Snapshot>& snapshots, const Check& check,
                                    const std::vector<std::string>& remedies) {
  for (const auto& s : snapshots) {
    const auto evidence = check(s);
    if (!evidence) continue;
    Verdict v{kind, s.step, fmt::format("at step {}: {}", s.step, *evidence), remedies};
    const Snapshot& last = snapshots.back();
    if (&last != &s) {
      const auto at_end = check(last);
      v.evidence += at_end ? fmt::format("; still at step {}: {}", last.step, *at_end)
                           : fmt::format("; gone by step {}", last.step);
    }
    return v;
  }
  return std::nullopt;
}

// Layers whose fraction (dead or saturated) is above `limit`, as "'3' 45%".
Check fraction_check(const std::vector<LayerInfo>& layers, double limit,
                     std::optional<double> LayerStats::*member, const std::string& what) {
  return [&layers, limit, member, what](const Snapshot& s) -> std::optional<std::string> {
    std::vector<std::string> over;
    for (std::size_t i = 0; i < layers.size(); ++i)
      if (const auto& f = s.layers[i].*member; f && *f > limit)
        over.push_back(fmt::format("layer '{}' {:.0f}%", layers[i].name, *f * 100));
    if (over.empty()) return std::nullopt;
    return fmt::format("{} of {} activation layer(s) have more than {:.0f}% {}: {}", over.size(),
                       std::count_if(layers.begin(), layers.end(), [](const LayerInfo& l) { return l.activation; }),
                       limit * 100, what, fmt::join(over, ", "));
  };
}

std::string percent_cell(const nlohmann::json& v) {
  return v.is_number() ? fmt::format("{:.1f}%", v.get<double>() * 100) : "-";
}
std::string number_cell(const nlohmann::json& v) { return v.is_number() ? fmt::format("{:.3g}", v.get<double>()) : "-"; }

}  // namespace

std::vector<Verdict> judge(const std::vector<LayerInfo>& layers, const std::vector<Snapshot>& snapshots,
                           const Thresholds& t, const std::optional<Anomaly>& anomaly) {
  std::vector<Verdict> verdicts;
  if (snapshots.empty() && !anomaly) return verdicts;
  const auto w = weighted(layers);
  auto add = [&](std::optional<Verdict> v) {
    if (v) verdicts.push_back(std::move(*v));
  };
  if (!snapshots.empty()) {
    add(first_firing("vanishing", snapshots, [&](const Snapshot& s) -> std::optional<std::string> {
      const auto ratio = depth_ratio(w, s);
      if (!ratio || *ratio >= t.vanishing_ratio) return std::nullopt;
      // Where it shrinks fastest, walking back from the output.
      std::size_t worst = 0;
      double worst_factor = 1;
      for (std::size_t k = 0; k + 1 < w.size(); ++k) {
        const double upper = s.layers[w[k + 1]].grad_norm;
        const double factor = upper > 0 ? s.layers[w[k]].grad_norm / upper : 1;
        if (factor < worst_factor) {
          worst_factor = factor;
          worst = k;
        }
      }
      return fmt::format("the gradient norm at the output of the first layer '{}' is {:.2g} times that at the last "
                         "layer '{}' ({:.3g} vs {:.3g}), below {:.2g}; it shrinks fastest from '{}' back to '{}' (x{:.2g})",
                         layers[w.front()].name, *ratio, layers[w.back()].name, s.layers[w.front()].grad_norm,
                         s.layers[w.back()].grad_norm, t.vanishing_ratio, layers[w[worst + 1]].name, layers[w[worst]].name,
                         worst_factor);
    }, kVanishingRemedies));
  }
  std::optional<Verdict> exploding;
  if (anomaly)
    exploding = Verdict{"exploding", anomaly->step, anomaly->describe(), kExplodingRemedies};
  else if (!snapshots.empty())
    exploding = first_firing("exploding", snapshots, [&](const Snapshot& s) -> std::optional<std::string> {
      if (const auto ratio = depth_ratio(w, s); ratio && *ratio > t.exploding_ratio)
        return fmt::format("the gradient norm grows {:.3g} times from the last layer '{}' back to the first '{}' "
                           "(above {:.3g})",
                           *ratio, layers[w.back()].name, layers[w.front()].name, t.exploding_ratio);
      for (std::size_t i : w) {
        const double now = s.layers[i].grad_norm, init = snapshots.front().layers[i].grad_norm;
        if (!std::isfinite(now)) return fmt::format("the gradient at layer '{}' is not finite", layers[i].name);
        if (init > 0 && now > t.exploding_ratio * init)
          return fmt::format("the gradient norm at layer '{}' grew {:.3g} times since initialization ({:.3g} -> {:.3g})",
                             layers[i].name, now / init, init, now);
      }
      return std::nullopt;
    }, kExplodingRemedies);
  add(exploding);
  if (!snapshots.empty()) {
    add(first_firing("dead", snapshots, fraction_check(layers, t.dead_fraction, &LayerStats::dead_fraction, "dead units"),
                     kDeadRemedies));
    add(first_firing("saturated", snapshots,
                     fraction_check(layers, t.saturated_fraction, &LayerStats::saturated_fraction, "saturated values"),
                     kSaturatedRemedies));
  }
  return verdicts;
}

nlohmann::json to_json(const Recorder& recorder, const Thresholds& t, const std::optional<Anomaly>& anomaly) {
  nlohmann::json j;
  j["probe_samples"] = recorder.probe_samples();
  j["thresholds"] = {{"vanishing_ratio", t.vanishing_ratio}, {"exploding_ratio", t.exploding_ratio},
                     {"dead_fraction", t.dead_fraction}, {"saturated_fraction", t.saturated_fraction}};
  j["histogram"] = {{"bins", kHistogramBins}, {"range", kHistogramRange}};
  j["layers"] = nlohmann::json::array();
  for (const auto& l : recorder.layers())
    j["layers"].push_back({{"name", l.name}, {"type", l.type}, {"weighted", l.weighted}, {"activation", l.activation}});
  j["snapshots"] = nlohmann::json::array();
  for (const auto& s : recorder.snapshots()) j["snapshots"].push_back(to_json(s));
  j["verdicts"] = nlohmann::json::array();
  for (const auto& v : judge(recorder.layers(), recorder.snapshots(), t, anomaly))
    j["verdicts"].push_back({{"kind", v.kind}, {"step", v.step}, {"evidence", v.evidence}, {"remedies", v.remedies}});
  if (anomaly) j["anomaly"] = to_json(*anomaly);
  return j;
}

nlohmann::json to_json(const Anomaly& anomaly) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& [what, s] : anomaly.inputs)
    inputs.push_back({{"what", what}, {"count", s.count}, {"non_finite", s.non_finite}, {"min", s.min},
                      {"max", s.max}, {"mean", s.mean}, {"std", s.std}});
  return {{"step", anomaly.step}, {"phase", anomaly.phase}, {"layer", anomaly.layer}, {"layer_type", anomaly.layer_type},
          {"op", anomaly.op}, {"inputs", inputs}, {"message", anomaly.describe()}};
}

std::string format_table(const nlohmann::json& d, std::optional<std::size_t> snapshot) {
  const auto& snapshots = d.at("snapshots");
  if (snapshots.empty()) return "no snapshot recorded\n";
  const auto& s = snapshots.at(snapshot.value_or(snapshots.size() - 1));
  std::string out = fmt::format("per-layer statistics at step {} (probe of {} samples)\n", s.at("step").get<std::int64_t>(),
                                d.at("probe_samples").get<std::int64_t>());
  out += fmt::format("{:<10} {:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6} {:>6} {:>10} {:>10} {:>10}\n", "layer",
                     "type", "mean", "std", "p5", "p50", "p95", "neg%", "dead%", "sat%", "grad norm", "w grad", "update");
  const auto& layers = d.at("layers");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = s.at("layers").at(i);
    out += fmt::format("{:<10} {:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6} {:>6} {:>10} {:>10} {:>10}\n",
                       layers[i].at("name").get<std::string>(), layers[i].at("type").get<std::string>(),
                       number_cell(l.at("mean")), number_cell(l.at("std")), number_cell(l.at("p5")),
                       number_cell(l.at("p50")), number_cell(l.at("p95")), percent_cell(l.at("negative_input_fraction")),
                       percent_cell(l.at("dead_fraction")), percent_cell(l.at("saturated_fraction")),
                       number_cell(l.at("grad_norm")), number_cell(l.at("weight_grad_norm")),
                       number_cell(l.at("update_ratio")));
  }
  return out;
}

std::string format_verdicts(const nlohmann::json& d) {
  const auto& verdicts = d.at("verdicts");
  if (verdicts.empty()) return "  healthy: no vanishing or exploding gradients, dead units or saturation\n";
  std::string out;
  for (const auto& v : verdicts) {
    out += fmt::format("  {}: {}\n", v.at("kind").get<std::string>(), v.at("evidence").get<std::string>());
    out += fmt::format("    try: {}\n", fmt::join(v.at("remedies").get<std::vector<std::string>>(), "; "));
  }
  return out;
}

}  // namespace actlab::diagnostics
