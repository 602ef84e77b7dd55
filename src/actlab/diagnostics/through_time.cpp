#include "actlab/diagnostics/through_time.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "actlab/autograd/grad_mode.h"
#include "actlab/core/generator.h"

namespace actlab::diagnostics {
namespace {

using Cell = nn::RecurrentBase::Cell;

// The gates a cell has, by their slot in PyTorch's layout (the candidate's slot is not a gate).
std::vector<std::pair<std::string, std::int64_t>> gates_of(Cell cell) {
  if (cell == Cell::lstm) return {{"input", 0}, {"forget", 1}, {"output", 3}};
  if (cell == Cell::gru) return {{"reset", 0}, {"update", 1}};
  return {};
}

std::int64_t candidate_slot(Cell cell) { return cell == Cell::rnn ? 0 : 2; }

// Counts a step's saturated gate values of one layer: the gates' pre-activations from the layer's
// input x [B, in] and previous state h [B, H], as the cell computes them.
void count_saturated(const nn::RecurrentBase::LayerWeights& w, Cell cell, const Tensor& x, const Tensor& h,
                     std::vector<double>& saturated, double& values) {
  const Tensor pre = x.matmul(w.weight_ih.transpose(0, 1)) + w.bias_ih + h.matmul(w.weight_hh.transpose(0, 1)) +
                     w.bias_hh;
  const std::vector<double> p = pre.to(kFloat64).to_vector<double>();
  const std::int64_t hidden = w.weight_hh.size(1), width = pre.size(1);
  const auto gates = gates_of(cell);
  for (std::size_t g = 0; g < gates.size(); ++g)
    for (std::int64_t b = 0; b < pre.size(0); ++b)
      for (std::int64_t j = 0; j < hidden; ++j) {
        const double gate = 1.0 / (1.0 + std::exp(-p[b * width + gates[g].second * hidden + j]));
        saturated[g] += gate < kGateLow || gate > kGateHigh ? 1.0 : 0.0;
      }
  values += static_cast<double>(pre.size(0) * hidden);
}

// Puts the parameters' gradients back as they were before the probe pass.
class SavedGrads {
 public:
  explicit SavedGrads(std::vector<Tensor> parameters) : parameters_(std::move(parameters)) {
    for (const Tensor& p : parameters_) {
      grads_.push_back(p.grad());
      p.set_grad(Tensor());
    }
  }
  ~SavedGrads() {
    for (std::size_t i = 0; i < parameters_.size(); ++i) parameters_[i].set_grad(grads_[i]);
  }
  SavedGrads(const SavedGrads&) = delete;
  SavedGrads& operator=(const SavedGrads&) = delete;

 private:
  std::vector<Tensor> parameters_, grads_;
};

std::string horizon_text(const std::vector<double>& norms, double ratio) {
  return fmt::format("the gradient reaching step 0 is {:.2e} of the last step's; it stays above {:g} of it only "
                     "over the last {} of {} steps (the horizon)",
                     norms.front() / norms.back(), ratio, gradient_horizon(norms, ratio), norms.size());
}

std::optional<std::string> setting(const RunFacts& f, const std::string& key) {
  for (const auto& s : f.settings)
    if (s.key == key) return s.value;
  return std::nullopt;
}

// "rnn:128" -> "lstm:128".
std::string with_kind(const std::string& model, const std::string& kind) {
  return kind + model.substr(model.find(':'));
}

std::vector<Remedy> memory_remedies(const RunFacts& f) {
  std::vector<Remedy> out;
  const std::string model = setting(f, "model").value_or("");
  if (model.starts_with("rnn:")) {
    out.push_back({"gated cells that keep a gradient path (LSTM)", {{"model", with_kind(model, "lstm")}}});
    out.push_back({"gated cells (GRU)", {{"model", with_kind(model, "gru")}}});
    out.push_back({"an IRNN (Le et al. 2015): relu with W_hh = I", {{"activations", "relu"}, {"init", "identity"}}});
  }
  out.push_back({"an orthogonal W_hh (all its singular values 1)", {{"init", "orthogonal"}}});
  const std::string data = setting(f, "data").value_or("");
  const auto colon = data.find(':');
  if (colon != std::string::npos) {
    const std::int64_t length = std::stoll(data.substr(colon + 1));
    if (length >= 4)
      out.push_back({"a shorter horizon first", {{"data", fmt::format("{}:{}", data.substr(0, colon), length / 2)}}});
  }
  return out;
}

std::vector<double> doubles(const nlohmann::json& j, const char* key) { return j.at(key).get<std::vector<double>>(); }

}  // namespace

std::int64_t gradient_horizon(const std::vector<double>& norms, double ratio) {
  std::int64_t steps = 0;
  for (auto t = static_cast<std::int64_t>(norms.size()) - 1; t >= 0 && norms[t] >= ratio * norms.back(); --t) ++steps;
  return steps;
}

double spectral_radius(const Tensor& matrix, int iterations) {
  ACTLAB_CHECK(matrix.dim() == 2 && matrix.size(0) == matrix.size(1),
               "spectral_radius: needs a square matrix, got shape {}", shape_str(matrix.shape()));
  const std::int64_t n = matrix.size(0);
  const std::vector<double> a = matrix.detach().to(kFloat64).to_vector<double>();
  Generator gen(1);
  std::vector<double> v(static_cast<std::size_t>(n)), next(v.size());
  for (double& x : v) x = gen.normal();
  double log_growth = 0;
  // The first iterations align v with the dominant directions; the growth is averaged after them.
  const int settle = iterations / 4;
  for (int k = 0; k < iterations; ++k) {
    double norm = 0, before = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      double sum = 0;
      for (std::int64_t j = 0; j < n; ++j) sum += a[i * n + j] * v[j];
      next[i] = sum;
      norm += sum * sum;
      before += v[i] * v[i];
    }
    norm = std::sqrt(norm);
    if (norm == 0) return 0;
    if (k >= settle) log_growth += std::log(norm / std::sqrt(before));
    for (std::int64_t i = 0; i < n; ++i) v[i] = next[i] / norm;
  }
  return std::exp(log_growth / (iterations - settle));
}

ThroughTimeSnapshot measure_through_time(nn::SequenceModel& model, const data::Batch& probe, const ProbeLoss& loss,
                                         std::int64_t step) {
  ACTLAB_CHECK(grad_enabled(), "measure_through_time: needs grad mode on (it runs a backward pass)");
  const SavedGrads saved(model.parameters());
  const bool was_training = model.is_training();
  model.eval();
  nn::RecurrentBase& stack = model.recurrent();
  const nn::SequenceModelShape& shape = model.shape();
  const Tensor x = model.steps_of(probe.images);
  const std::int64_t steps = x.size(1), batch = x.size(0);
  ThroughTimeSnapshot snapshot;
  snapshot.step = step;
  const auto gates = gates_of(shape.cell);
  std::vector<double> saturated(gates.size(), 0.0);
  double gate_values = 0;
  std::vector<Tensor> additions, tops;
  Tensor h, c;
  for (std::int64_t t = 0; t < steps; ++t) {
    const Tensor x_t = x.narrow(1, t, 1);
    auto [out, h_n, c_n] = model.run_stack(x_t, h, c);
    if (!gates.empty()) {
      NoGradGuard no_grad;
      for (std::int64_t l = 0; l < shape.layers; ++l) {
        const Tensor input = l == 0 ? x_t.select(1, 0) : h_n.select(0, l - 1).detach();
        const Tensor previous = h.defined() ? h.select(0, l).detach() : zeros({batch, shape.hidden}, x.dtype());
        count_saturated(stack.layers[l], shape.cell, input, previous, saturated, gate_values);
      }
    }
    Tensor addition = zeros(h_n.shape(), h_n.dtype()).requires_grad_();
    h = h_n + addition;
    c = c_n;
    additions.push_back(addition);
    tops.push_back(h.select(0, shape.layers - 1).unsqueeze(1));
    const Tensor top = tops.back().detach();
    snapshot.hidden_mean.push_back(top.mean().item());
    snapshot.hidden_std.push_back(top.numel() > 1 ? top.std({}, 0).item() : 0.0);
  }
  loss(model.head_of(cat(tops, 1)), probe).backward();
  for (const Tensor& addition : additions)
    snapshot.grad_norms.push_back(addition.grad().defined() ? addition.grad().square().sum().sqrt().item() : 0.0);
  for (std::size_t g = 0; g < gates.size(); ++g)
    snapshot.gate_saturation.emplace_back(gates[g].first, gate_values > 0 ? saturated[g] / gate_values : 0.0);
  const std::int64_t slot = candidate_slot(shape.cell);
  for (const auto& w : stack.layers)
    snapshot.spectral_radius.push_back(spectral_radius(w.weight_hh.narrow(0, slot * shape.hidden, shape.hidden)));
  model.train(was_training);
  return snapshot;
}

std::vector<Verdict> judge_through_time(const std::vector<ThroughTimeSnapshot>& snapshots, const RunFacts& facts,
                                        const ThroughTimeThresholds& thresholds) {
  std::vector<Verdict> verdicts;
  if (snapshots.empty() || snapshots.back().grad_norms.size() < 2) return verdicts;
  const ThroughTimeSnapshot& s = snapshots.back();
  const std::vector<double>& norms = s.grad_norms;
  const double last = norms.back();
  if (!std::isfinite(last) || last <= 0) return verdicts;
  const std::string radius = s.spectral_radius.empty()
                                 ? std::string()
                                 : fmt::format("; spectral radius of W_hh {:.3g}", s.spectral_radius.front());
  if (norms.front() < thresholds.vanishing_ratio * last)
    verdicts.push_back({"vanishing_through_time", s.step,
                        fmt::format("at step {}: {}{}", s.step, horizon_text(norms, thresholds.vanishing_ratio), radius),
                        remedy_lines(facts, memory_remedies(facts))});
  const auto peak = std::max_element(norms.begin(), norms.end());
  if (*peak > thresholds.exploding_ratio * last) {
    std::vector<Remedy> remedies{{"clip the gradient norm", {{"clip_norm", "1"}}},
                                 {"an orthogonal W_hh (all its singular values 1)", {{"init", "orthogonal"}}}};
    if (setting(facts, "model").value_or("").starts_with("rnn:"))
      remedies.push_back({"gated cells (LSTM)", {{"model", with_kind(*setting(facts, "model"), "lstm")}}});
    verdicts.push_back({"exploding_through_time", s.step,
                        fmt::format("at step {}: the gradient reaching step {} is {:.3g} times the last step's{}",
                                    s.step, peak - norms.begin(), *peak / last, radius),
                        remedy_lines(facts, remedies)});
  }
  for (const auto& [gate, fraction] : s.gate_saturation) {
    if (fraction <= thresholds.saturated_fraction) continue;
    std::vector<Remedy> remedies;
    if (gate == "forget") remedies.push_back({"open the forget gate at init", {{"forget_bias", "1"}}});
    remedies.push_back({"clip the gradient norm", {{"clip_norm", "1"}}});
    verdicts.push_back({"saturated_gates", s.step,
                        fmt::format("at step {}: {:.0f}% of the {} gate's values are below {} or above {} (their "
                                    "gradient is under 5% of sigmoid's peak)",
                                    s.step, 100 * fraction, gate, kGateLow, kGateHigh),
                        remedy_lines(facts, remedies)});
  }
  return verdicts;
}

nlohmann::json to_json(const ThroughTimeSnapshot& s) {
  nlohmann::json gates = nlohmann::json::object();
  for (const auto& [gate, fraction] : s.gate_saturation) gates[gate] = fraction;
  return {{"step", s.step},           {"grad_norms", s.grad_norms}, {"spectral_radius", s.spectral_radius},
          {"gate_saturation", gates}, {"hidden_mean", s.hidden_mean}, {"hidden_std", s.hidden_std}};
}

ThroughTimeSnapshot through_time_from_json(const nlohmann::json& j) {
  try {
    ThroughTimeSnapshot s;
    s.step = j.at("step").get<std::int64_t>();
    s.grad_norms = doubles(j, "grad_norms");
    s.spectral_radius = doubles(j, "spectral_radius");
    for (const auto& [gate, fraction] : j.at("gate_saturation").items()) s.gate_saturation.emplace_back(gate, fraction.get<double>());
    s.hidden_mean = doubles(j, "hidden_mean");
    s.hidden_std = doubles(j, "hidden_std");
    return s;
  } catch (const nlohmann::json::exception& e) {
    fail("through-time snapshot: malformed JSON ({}); the summary or checkpoint was not written by this version", e.what());
  }
}

}  // namespace actlab::diagnostics
