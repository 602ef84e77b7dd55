#include "actlab/diagnostics/verdicts.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <string_view>

namespace actlab::diagnostics {
namespace {

// Settings never repeated in a rerun's command line: where it writes, and how it runs.
const std::vector<std::string> kNotRerun = {"name", "out", "data_dir", "threads", "checkpoint_every"};

std::optional<std::string> setting(const RunFacts& f, const std::string& key) {
  for (const auto& s : f.settings)
    if (s.key == key) return s.value;
  return std::nullopt;
}

std::string option(const std::string& key, const std::string& value) {
  std::string name = key;
  std::replace(name.begin(), name.end(), '_', '-');
  const bool plain = std::all_of(value.begin(), value.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("_-.:=,+").find(c) != std::string_view::npos;
  });
  return fmt::format("--{} {}", name, plain && !value.empty() ? value : "'" + value + "'");
}

// `actlab compare` with the arm's settings (those not at their defaults) and the remedy's change.
std::string command_line(const RunFacts& f, const Remedy& r) {
  std::string out = "actlab compare";
  auto changed = [&](const std::string& key) -> const std::string* {
    for (const auto& [k, v] : r.change)
      if (k == key) return &v;
    return nullptr;
  };
  for (const auto& s : f.settings) {
    if (std::find(kNotRerun.begin(), kNotRerun.end(), s.key) != kNotRerun.end()) continue;
    const std::string* value = changed(s.key);
    if (value || s.value != s.default_value) out += " " + option(s.key, value ? *value : s.value);
  }
  for (const auto& [k, v] : r.change)
    if (!setting(f, k)) out += " " + option(k, v);
  return out;
}

// Whether the arm's model is recurrent: its model kinds take no normalization between layers.
bool recurrent_model(const RunFacts& f) {
  const std::string model = setting(f, "model").value_or("");
  const std::string kind = model.substr(0, model.find(':'));
  return kind == "rnn" || kind == "lstm" || kind == "gru";
}

// The remedies not already in effect and applicable to the model, each with the command line
// that tries it.
std::vector<std::string> render(const RunFacts& f, const std::vector<Remedy>& remedies) {
  std::vector<std::string> out;
  for (const auto& r : remedies) {
    const bool in_effect = std::all_of(r.change.begin(), r.change.end(),
                                       [&](const auto& c) { return setting(f, c.first) == c.second; });
    const bool inapplicable = recurrent_model(f) && std::any_of(r.change.begin(), r.change.end(),
                                                                [](const auto& c) { return c.first == "norm"; });
    if (in_effect || inapplicable || r.change.empty()) continue;
    if (f.settings.empty()) {
      std::vector<std::string> options;
      for (const auto& [k, v] : r.change) options.push_back(option(k, v));
      out.push_back(fmt::format("{} ({})", r.what, fmt::join(options, " ")));
    } else {
      out.push_back(fmt::format("{}: {}", r.what, command_line(f, r)));
    }
  }
  return out;
}

// The run's activation spec: from the settings, else from the first activation layer.
std::string activation_of(const std::vector<LayerInfo>& layers, const RunFacts& f) {
  if (auto a = setting(f, "activations")) return *a;
  for (const auto& l : layers)
    if (l.activation) return l.type.substr(l.type.find('(') + 1, l.type.size() - l.type.find('(') - 2);
  return "";
}

bool relu_family(const std::string& activation) {
  const std::string name = activation.substr(0, activation.find(':'));
  for (const char* n : {"relu", "leaky_relu", "prelu", "rrelu", "relu6", "elu", "celu", "gelu", "silu", "swish", "mish"})
    if (name == n) return true;
  return false;
}

// The init published for the activation: He for the ReLU family, LeCun for SELU, Glorot's
// normalized init otherwise.
std::string matched_init(const std::string& activation) {
  if (relu_family(activation)) return "he";
  if (activation.starts_with("selu")) return "lecun";
  return "xavier";
}

// The learning rate times `factor`, or that product in words when the settings are unknown.
std::string scaled_lr(const RunFacts& f, double factor) {
  const auto lr = setting(f, "lr");
  return lr ? fmt::format("{:.3g}", std::stod(*lr) * factor) : fmt::format("{:g}x the current", factor);
}

struct Context {
  const RunFacts& facts;
  std::string activation;
};

std::vector<Remedy> vanishing_remedies(const Context& c) {
  std::vector<Remedy> out;
  if (!relu_family(c.activation)) out.push_back({"a ReLU-family activation with He init", {{"activations", "relu"}, {"init", "he"}}});
  out.push_back({"the init published for this activation", {{"init", matched_init(c.activation)}}});
  out.push_back({"normalization between layers", {{"norm", "batch"}}});
  return out;
}
std::vector<Remedy> exploding_remedies(const Context& c) {
  std::vector<Remedy> out;
  if (setting(c.facts, "clip_norm").value_or("0") == "0") out.push_back({"clip the gradient norm", {{"clip_norm", "1"}}});
  out.push_back({"a 10 times lower learning rate", {{"lr", scaled_lr(c.facts, 0.1)}}});
  out.push_back({"the init published for this activation", {{"init", matched_init(c.activation)}}});
  out.push_back({"normalization between layers", {{"norm", "batch"}}});
  return out;
}
std::vector<Remedy> dead_remedies(const Context& c) {
  std::vector<Remedy> out;
  if (c.activation.substr(0, c.activation.find(':')) == "relu")
    out.push_back({"Leaky ReLU, which keeps a slope below 0", {{"activations", "leaky_relu:0.1"}}});
  out.push_back({"a 10 times lower learning rate", {{"lr", scaled_lr(c.facts, 0.1)}}});
  out.push_back({"the init published for this activation", {{"init", matched_init(c.activation)}}});
  return out;
}
std::vector<Remedy> saturated_remedies(const Context& c) {
  std::vector<Remedy> out;
  if (c.activation.starts_with("sigmoid")) out.push_back({"a zero-centred activation", {{"activations", "tanh"}}});
  out.push_back({"the init published for this activation", {{"init", matched_init(c.activation)}}});
  out.push_back({"normalization between layers", {{"norm", "batch"}}});
  return out;
}

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

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The update-to-weight ratios of the weighted layers at a snapshot (empty at initialization).
std::vector<double> update_ratios(const std::vector<std::size_t>& w, const Snapshot& s) {
  std::vector<double> out;
  for (std::size_t i : w)
    if (const auto& r = s.layers[i].update_ratio) out.push_back(*r);
  return out;
}

// The loss history: what the run started from, the chance level, and where it stood at a step.
class LossHistory {
 public:
  LossHistory(const std::vector<Snapshot>& snapshots, const RunFacts& f, double margin) : facts_(f), margin_(margin) {
    if (!snapshots.empty() && snapshots.front().step == 0) initial_ = snapshots.front().loss;
    else if (!f.step_losses.empty()) initial_ = f.step_losses.front().second;
    if (f.classes > 1) chance_ = std::log(static_cast<double>(f.classes));
    for (double v : {f.epoch_train_losses.empty() ? NAN : f.epoch_train_losses.back(),
                     f.step_losses.empty() ? NAN : f.step_losses.back().second,
                     snapshots.empty() || snapshots.back().step == 0 ? NAN : snapshots.back().loss})
      if (std::isfinite(v)) final_ = std::min(final_.value_or(v), v);
    const std::int64_t budget = f.planned_steps > 0 ? f.planned_steps : f.steps_done;
    quarter_ = budget / 4;
  }

  bool known() const { return (!facts_.step_losses.empty() || !facts_.epoch_train_losses.empty()) && reference(); }
  std::int64_t quarter() const { return quarter_; }
  std::optional<double> final() const { return final_; }
  // The smaller of chance and the initial loss: "not learned" is within the margin of it or above.
  std::optional<double> reference() const {
    if (chance_ && initial_) return std::min(*chance_, *initial_);
    return chance_ ? chance_ : initial_;
  }
  bool not_learned(double loss) const { return reference() && loss >= (1 - margin_) * *reference(); }
  // The last logged loss at or before `step` (the first one when none is that early).
  std::optional<double> at(std::int64_t step) const {
    if (facts_.step_losses.empty()) return final_;
    double loss = facts_.step_losses.front().second;
    for (const auto& [s, v] : facts_.step_losses)
      if (s <= step) loss = v;
    return loss;
  }
  bool not_learned_at(std::int64_t step) const {
    const auto loss = at(step);
    return loss && not_learned(*loss);
  }
  // Whether the logged loss ended well above its best (a rise, not a plateau).
  bool rose() const {
    if (facts_.step_losses.size() < 2) return false;
    double best = INFINITY;
    for (const auto& [s, v] : facts_.step_losses) best = std::min(best, v);
    return facts_.step_losses.back().second > 1.25 * best;
  }
  std::string describe_reference() const {
    if (chance_ && (!initial_ || *chance_ <= *initial_))
      return fmt::format("chance (ln {} = {:.3f})", facts_.classes, *chance_);
    return fmt::format("its initial value {:.3f}", *initial_);
  }

 private:
  const RunFacts& facts_;
  double margin_;
  std::optional<double> initial_, chance_, final_;
  std::int64_t quarter_ = 0;
};

// A check gives the evidence at a snapshot where it fires, or nothing.
using Check = std::function<std::optional<std::string>(const Snapshot&)>;

std::optional<Verdict> first_firing(const std::string& kind, const std::vector<Snapshot>& snapshots, const Check& check,
                                    std::vector<std::string> remedies) {
  for (const auto& s : snapshots) {
    const auto evidence = check(s);
    if (!evidence) continue;
    Verdict v{kind, s.step, fmt::format("at step {}: {}", s.step, *evidence), std::move(remedies)};
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

std::optional<std::string> vanishing_evidence(const std::vector<LayerInfo>& layers, const std::vector<std::size_t>& w,
                                              const Snapshot& s, double limit) {
  const auto ratio = depth_ratio(w, s);
  if (!ratio || *ratio >= limit) return std::nullopt;
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
                     s.layers[w.back()].grad_norm, limit, layers[w[worst + 1]].name, layers[w[worst]].name,
                     worst_factor);
}

std::optional<std::string> exploding_evidence(const std::vector<LayerInfo>& layers, const std::vector<std::size_t>& w,
                                              const std::vector<Snapshot>& snapshots, std::size_t index,
                                              const Thresholds& t) {
  const Snapshot& s = snapshots[index];
  if (!std::isfinite(s.loss)) return fmt::format("the probe loss is {}", s.loss);
  for (std::size_t i : w)
    if (!std::isfinite(s.layers[i].grad_norm)) return fmt::format("the gradient at layer '{}' is not finite", layers[i].name);
  if (const auto ratio = depth_ratio(w, s); ratio && *ratio > t.exploding_ratio)
    return fmt::format("the gradient norm grows {:.3g} times from the last layer '{}' back to the first '{}' (above {:.3g})",
                       *ratio, layers[w.back()].name, layers[w.front()].name, t.exploding_ratio);
  if (index == 0 || w.empty()) return std::nullopt;
  auto largest = [&](const Snapshot& x) {
    double g = 0;
    for (std::size_t i : w) g = std::max(g, x.layers[i].grad_norm);
    return g;
  };
  std::vector<double> before;
  double best_loss = INFINITY;
  for (std::size_t k = 0; k < index; ++k) {
    before.push_back(largest(snapshots[k]));
    best_loss = std::min(best_loss, snapshots[k].loss);
  }
  const double running = median(before), now = largest(s);
  if (running > 0 && now > t.spike_ratio * running && s.loss > 1.5 * best_loss)
    return fmt::format("the largest layer gradient norm spiked to {:.3g}, {:.3g} times its running median {:.3g}, while "
                       "the probe loss jumped to {:.3g} from a best of {:.3g}",
                       now, now / running, running, s.loss, best_loss);
  const auto ratios = update_ratios(w, s);
  const double initial_loss = snapshots.front().loss;
  if (!ratios.empty() && *std::max_element(ratios.begin(), ratios.end()) > t.exploding_update_ratio &&
      s.loss > initial_loss)
    return fmt::format("an update changed a layer's weights by {:.3g} times their norm (above {:.3g}) and the probe "
                       "loss {:.3g} is above its initial {:.3g}",
                       *std::max_element(ratios.begin(), ratios.end()), t.exploding_update_ratio, s.loss, initial_loss);
  return std::nullopt;
}

std::optional<Verdict> dead_from_counts(const Context& c, const Thresholds& t) {
  const RunFacts& f = c.facts;
  auto over = [&](const std::vector<DeadUnits>& counts) {
    std::vector<std::string> out;
    for (const auto& d : counts)
      if (d.units > 0 && static_cast<double>(d.dead) > t.dead_fraction * static_cast<double>(d.units))
        out.push_back(fmt::format("layer '{}' {:.0f}% ({} of {})", d.layer, 100.0 * static_cast<double>(d.dead) /
                                  static_cast<double>(d.units), d.dead, d.units));
    return out;
  };
  const auto at_init = over(f.dead_at_init), at_end = over(f.dead_at_end);
  if (at_init.empty() && at_end.empty()) return std::nullopt;
  const std::int64_t samples = (f.dead_at_end.empty() ? f.dead_at_init : f.dead_at_end).front().samples;
  std::string evidence;
  if (!at_init.empty())
    evidence = fmt::format("at initialization, zero on all {} samples: {}", samples, fmt::join(at_init, ", "));
  if (!f.dead_at_end.empty())
    evidence += (evidence.empty() ? "" : "; ") +
                (at_end.empty() ? std::string("none left at the end")
                                : fmt::format("at the end (step {}), zero on all {} samples: {}", f.steps_done, samples,
                                              fmt::join(at_end, ", ")));
  return Verdict{"dead", at_init.empty() ? f.steps_done : 0, evidence, render(f, dead_remedies(c))};
}

// Evidence that the units of a hidden layer all compute the same: a layer whose output does
// not vary at all, or a weight that receives no gradient.
std::optional<std::string> symmetry_evidence(const std::vector<LayerInfo>& layers, const std::vector<std::size_t>& w,
                                             const Snapshot& s) {
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i].activation && s.layers[i].std <= 1e-7 * std::max(1.0, std::abs(s.layers[i].mean)))
      return fmt::format("the output of activation layer '{}' is the same for every unit and sample ({:.3g})",
                         layers[i].name, s.layers[i].mean);
  for (std::size_t k = 0; k + 1 < w.size(); ++k)
    if (const auto& g = s.layers[w[k]].weight_grad_norm; g && *g == 0)
      return fmt::format("layer '{}' receives a zero weight gradient", layers[w[k]].name);
  return std::nullopt;
}

// The activations' spread falling through the layers at initialization: the forward signal shrinks.
std::optional<std::string> shrinking_signal(const std::vector<LayerInfo>& layers, const Snapshot& s) {
  std::vector<std::size_t> a;
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i].activation) a.push_back(i);
  if (a.size() < 2) return std::nullopt;
  const double first = s.layers[a.front()].std, last = s.layers[a.back()].std;
  if (!(first > 0) || last >= 0.25 * first) return std::nullopt;
  return fmt::format("the activations shrink in the forward pass at initialization: their std falls from {:.3g} at "
                     "layer '{}' to {:.3g} at layer '{}'",
                     first, layers[a.front()].name, last, layers[a.back()].name);
}

std::string percent_cell(const nlohmann::json& v) {
  return v.is_number() ? fmt::format("{:.1f}%", v.get<double>() * 100) : "-";
}
std::string number_cell(const nlohmann::json& v) { return v.is_number() ? fmt::format("{:.3g}", v.get<double>()) : "-"; }

nlohmann::json dead_json(const std::vector<DeadUnits>& counts) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : counts)
    out.push_back({{"layer", d.layer}, {"units", d.units}, {"dead", d.dead}, {"samples", d.samples}});
  return out;
}
}  // namespace



std::vector<std::string> remedy_lines(const RunFacts& facts, const std::vector<Remedy>& remedies) {
  return render(facts, remedies);
}

std::vector<Verdict> judge(const std::vector<LayerInfo>& layers, const std::vector<Snapshot>& snapshots,
                           const Thresholds& t, const std::optional<Anomaly>& anomaly, const RunFacts& f) {
  std::vector<Verdict> verdicts;
  if (snapshots.empty() && !anomaly) return verdicts;
  const Context c{f, activation_of(layers, f)};
  const auto w = weighted(layers);
  const LossHistory history(snapshots, f, t.stall_margin);
  auto add = [&](std::optional<Verdict> v) {
    if (v) verdicts.push_back(std::move(*v));
  };
  auto has = [&](const std::string& kind) {
    return std::any_of(verdicts.begin(), verdicts.end(), [&](const Verdict& v) { return v.kind == kind; });
  };

  if (anomaly) {
    add(Verdict{"exploding", anomaly->step, anomaly->describe(), render(f, exploding_remedies(c))});
  } else if (f.diverged_at_step) {
    add(Verdict{"exploding", *f.diverged_at_step,
                fmt::format("the training loss became non-finite at step {}", *f.diverged_at_step),
                render(f, exploding_remedies(c))});
  } else {
    for (std::size_t i = 0; i < snapshots.size(); ++i)
      if (auto evidence = exploding_evidence(layers, w, snapshots, i, t)) {
        add(Verdict{"exploding", snapshots[i].step, fmt::format("at step {}: {}", snapshots[i].step, *evidence),
                    render(f, exploding_remedies(c))});
        break;
      }
  }
  if (snapshots.empty()) return verdicts;

  // Vanishing gradients matter while the run has not learned; a small gradient at initialization
  // that the first quarter of training leaves behind is not a verdict.
  const bool slow_start = !history.known() || history.not_learned_at(history.quarter());
  add(first_firing("vanishing", snapshots, [&](const Snapshot& s) -> std::optional<std::string> {
    if (!slow_start && s.step < history.quarter()) return std::nullopt;
    return vanishing_evidence(layers, w, s, t.vanishing_ratio);
  }, render(f, vanishing_remedies(c))));
  if (f.dead_at_init.empty() && f.dead_at_end.empty())
    add(first_firing("dead", snapshots, fraction_check(layers, t.dead_fraction, &LayerStats::dead_fraction, "dead units"),
                     render(f, dead_remedies(c))));
  else
    add(dead_from_counts(c, t));
  add(first_firing("saturated", snapshots,
                   fraction_check(layers, t.saturated_fraction, &LayerStats::saturated_fraction, "saturated values"),
                   render(f, saturated_remedies(c))));

  // Learning rate, from the update-to-weight ratios after initialization.
  std::vector<double> fastest;
  std::int64_t first_measured = -1;
  for (const auto& s : snapshots) {
    auto ratios = update_ratios(w, s);
    std::erase(ratios, 0.0);  // weights that did not move at all (zero, or no gradient): not the learning rate
    if (ratios.empty()) continue;
    if (first_measured < 0) first_measured = s.step;
    fastest.push_back(*std::max_element(ratios.begin(), ratios.end()));
  }
  const bool stalled = history.known() && !anomaly && !f.diverged_at_step && f.steps_done >= history.quarter() &&
                       history.final() &&
                       history.not_learned(*history.final());
  // Updates that are small because the gradient vanishes are the vanishing verdict's.
  if (!fastest.empty() && median(fastest) < t.lr_small_ratio && !has("vanishing")) {
    const double ratio = median(fastest);
    add(Verdict{"lr_too_small", first_measured,
                fmt::format("even the fastest-moving layer changes its weights by only {:.2g} of their norm per step "
                            "(median over {} snapshots; below {:.2g}, ~1e-3 is typical)",
                            ratio, fastest.size(), t.lr_small_ratio),
                render(f, {{"a learning rate that moves the weights about 1e-3 per step",
                            {{"lr", scaled_lr(f, std::pow(10.0, std::ceil(std::log10(1e-3 / ratio))))}}}})});
  }
  // Too large shows in the first steps: later the units it saturated or killed stop moving.
  if (!fastest.empty() && *std::max_element(fastest.begin(), fastest.end()) > t.lr_large_ratio &&
      (stalled || history.rose())) {
    const double ratio = *std::max_element(fastest.begin(), fastest.end());
    add(Verdict{"lr_too_large", first_measured,
                fmt::format("a layer changed its weights by {:.2g} of their norm in one step (the largest over layers "
                            "and {} snapshots; above {:.2g}, ~1e-3 is typical) and the loss {}",
                            ratio, fastest.size(), t.lr_large_ratio, stalled ? "does not fall" : "rose again"),
                render(f, {{"a learning rate that moves the weights about 1e-2 per step",
                            {{"lr", scaled_lr(f, std::pow(10.0, -std::ceil(std::log10(ratio / 1e-2))))}}}})});
  }

  if (stalled) {
    // The most likely cause, from the other verdicts, then what the snapshots show.
    std::string cause;
    std::vector<Remedy> remedies;
    if (auto evidence = symmetry_evidence(layers, w, snapshots.back())) {
      cause = "most likely cause: symmetry, " + *evidence;
      remedies = {{"a random init published for this activation", {{"init", matched_init(c.activation)}}}};
    }
    // Vanishing from initialization comes first; a too-large learning rate explains the
    // vanishing, saturation or dead units that appear after it.
    const auto vanishing = std::find_if(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return v.kind == "vanishing"; });
    const std::pair<const char*, std::vector<Remedy> (*)(const Context&)> by_verdict[] = {
        {"vanishing", vanishing_remedies}, {"saturated", saturated_remedies}, {"dead", dead_remedies}};
    if (cause.empty() && vanishing != verdicts.end() && vanishing->step == 0) {
      cause = "most likely cause: vanishing from initialization (see that verdict)";
      remedies = vanishing_remedies(c);
    }
    std::vector<std::string> lr_remedies;  // a learning-rate cause brings its verdict's remedy
    auto lr_cause = [&](const std::string& kind) {
      if (!cause.empty() || !has(kind)) return;
      cause = fmt::format("most likely cause: {} (see that verdict)", kind);
      lr_remedies = std::find_if(verdicts.begin(), verdicts.end(), [&](const Verdict& v) { return v.kind == kind; })->remedies;
    };
    lr_cause("lr_too_large");
    for (const auto& [kind, remedies_of] : by_verdict)
      if (cause.empty() && has(kind)) {
        cause = fmt::format("most likely cause: {} (see that verdict)", kind);
        remedies = remedies_of(c);
      }
    lr_cause("lr_too_small");
    if (cause.empty())
      if (auto evidence = shrinking_signal(layers, snapshots.front())) {
        cause = "most likely cause: " + *evidence;
        remedies = {{"the init published for this activation", {{"init", matched_init(c.activation)}}},
                    {"normalization between layers", {{"norm", "batch"}}}};
      }
    if (cause.empty()) {
      cause = "no cause found in the recorded evidence (gradients, dead units, saturation and update sizes look normal)";
      remedies = {{"a 10 times larger learning rate", {{"lr", scaled_lr(f, 10)}}},
                  {"normalization between layers", {{"norm", "batch"}}}};
    }
    add(Verdict{"stalled", history.quarter(),
                fmt::format("after {} of {} steps the training loss is {:.3f}, within {:.0f}% of {} or above; {}",
                            f.steps_done, f.planned_steps > 0 ? f.planned_steps : f.steps_done, *history.final(),
                            t.stall_margin * 100, history.describe_reference(), cause),
                lr_remedies.empty() ? render(f, remedies) : lr_remedies});
  }
  return verdicts;
}

nlohmann::json to_json(const Recorder& recorder, const Thresholds& t, const std::optional<Anomaly>& anomaly,
                       const RunFacts& facts) {
  nlohmann::json j;
  j["probe_samples"] = recorder.probe_samples();
  j["thresholds"] = {{"vanishing_ratio", t.vanishing_ratio}, {"exploding_ratio", t.exploding_ratio},
                     {"dead_fraction", t.dead_fraction}, {"saturated_fraction", t.saturated_fraction},
                     {"stall_margin", t.stall_margin}, {"spike_ratio", t.spike_ratio},
                     {"exploding_update_ratio", t.exploding_update_ratio}, {"lr_small_ratio", t.lr_small_ratio},
                     {"lr_large_ratio", t.lr_large_ratio}};
  j["histogram"] = {{"bins", kHistogramBins}, {"range", kHistogramRange}};
  j["layers"] = nlohmann::json::array();
  for (const auto& l : recorder.layers())
    j["layers"].push_back({{"name", l.name}, {"type", l.type}, {"weighted", l.weighted}, {"activation", l.activation}});
  j["snapshots"] = nlohmann::json::array();
  for (const auto& s : recorder.snapshots()) j["snapshots"].push_back(to_json(s));
  j["verdicts"] = nlohmann::json::array();
  for (const auto& v : judge(recorder.layers(), recorder.snapshots(), t, anomaly, facts))
    j["verdicts"].push_back({{"kind", v.kind}, {"step", v.step}, {"evidence", v.evidence}, {"remedies", v.remedies}});
  if (anomaly) j["anomaly"] = to_json(*anomaly);
  if (!facts.dead_at_init.empty() || !facts.dead_at_end.empty())
    j["dead_units"] = {{"at_init", dead_json(facts.dead_at_init)}, {"at_end", dead_json(facts.dead_at_end)}};
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
  if (verdicts.empty())
    return "  healthy: no exploding or vanishing gradients, dead units, saturation, stall or learning-rate problem\n";
  std::string out;
  for (const auto& v : verdicts) {
    out += fmt::format("  {}: {}\n", v.at("kind").get<std::string>(), v.at("evidence").get<std::string>());
    for (const auto& remedy : v.at("remedies").get<std::vector<std::string>>()) out += fmt::format("    try {}\n", remedy);
  }
  return out;
}

}  // namespace actlab::diagnostics
