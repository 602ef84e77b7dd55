#include "actlab/nn/init.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "actlab/autograd/grad_mode.h"
#include "actlab/core/parse.h"

namespace actlab::nn::init {

Fans compute_fans(const Tensor& t) {
  ACTLAB_CHECK(t.dim() >= 1, "init: cannot compute fans of a scalar tensor");
  if (t.dim() == 1) return {t.size(0), t.size(0)};
  const std::int64_t receptive = t.numel() / (t.size(0) * t.size(1));
  return {t.size(1) * receptive, t.size(0) * receptive};
}

namespace {

// Writes `values` (same shape) into t without recording.
void assign(const Tensor& t, const Tensor& values) {
  NoGradGuard no_grad;
  Tensor(t).copy_(values);
}

void check_matrix_like(const Tensor& t, std::string_view name) {
  ACTLAB_CHECK(t.dim() >= 2, "init::{}: needs a weight with at least 2 dims ([out, in, ...]), got shape {}", name,
               shape_str(t.shape()));
}

}  // namespace

void constant_(const Tensor& t, double value) {
  NoGradGuard no_grad;
  Tensor(t).fill_(value);
}
void zeros_(const Tensor& t) { constant_(t, 0.0); }
void ones_(const Tensor& t) { constant_(t, 1.0); }

void uniform_(const Tensor& t, double low, double high, Generator& gen) {
  assign(t, rand(t.shape(), gen, t.dtype()) * (high - low) + low);
}

void normal_(const Tensor& t, double mean, double std, Generator& gen) {
  assign(t, randn(t.shape(), gen, t.dtype()) * std + mean);
}

void xavier_uniform_(const Tensor& t, double gain, Generator& gen) {
  check_matrix_like(t, "xavier_uniform_");
  const auto [fan_in, fan_out] = compute_fans(t);
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  uniform_(t, -bound, bound, gen);
}

void xavier_normal_(const Tensor& t, double gain, Generator& gen) {
  check_matrix_like(t, "xavier_normal_");
  const auto [fan_in, fan_out] = compute_fans(t);
  normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), gen);
}

namespace {
double chosen_fan(const Tensor& t, FanMode mode, std::string_view name) {
  check_matrix_like(t, name);
  const auto fans = compute_fans(t);
  return static_cast<double>(mode == FanMode::FanIn ? fans.fan_in : fans.fan_out);
}
}  // namespace

void kaiming_uniform_(const Tensor& t, double gain, FanMode mode, Generator& gen) {
  const double bound = gain * std::sqrt(3.0 / chosen_fan(t, mode, "kaiming_uniform_"));
  uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(const Tensor& t, double gain, FanMode mode, Generator& gen) {
  normal_(t, 0.0, gain / std::sqrt(chosen_fan(t, mode, "kaiming_normal_")), gen);
}

void lecun_normal_(const Tensor& t, Generator& gen) { kaiming_normal_(t, 1.0, FanMode::FanIn, gen); }

void standard_(const Tensor& t, std::int64_t fan_in, Generator& gen) {
  ACTLAB_CHECK(fan_in > 0, "init::standard_: fan_in must be positive, got {}", fan_in);
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  uniform_(t, -bound, bound, gen);
}

void orthogonal_(const Tensor& t, double gain, Generator& gen) {
  check_matrix_like(t, "orthogonal_");
  const std::int64_t rows = t.size(0), cols = t.numel() / rows;
  // Gram-Schmidt on the columns of a tall [tall, wide] normal matrix; R's diagonal comes out
  // positive, which is the sign correction that makes Q uniformly distributed.
  const std::int64_t tall = std::max(rows, cols), wide = std::min(rows, cols);
  std::vector<double> a = randn({tall, wide}, gen, kFloat64).to_vector<double>();
  auto at = [&](std::int64_t i, std::int64_t j) -> double& { return a[static_cast<std::size_t>(i * wide + j)]; };
  for (std::int64_t j = 0; j < wide; ++j) {
    for (std::int64_t k = 0; k < j; ++k) {
      double dot = 0;
      for (std::int64_t i = 0; i < tall; ++i) dot += at(i, k) * at(i, j);
      for (std::int64_t i = 0; i < tall; ++i) at(i, j) -= dot * at(i, k);
    }
    double norm = 0;
    for (std::int64_t i = 0; i < tall; ++i) norm += at(i, j) * at(i, j);
    norm = std::sqrt(norm);
    for (std::int64_t i = 0; i < tall; ++i) at(i, j) /= norm;
  }
  Tensor q = from_vector(a, {tall, wide}) * gain;
  if (rows < cols) q = q.t();
  assign(t, q.reshape(t.shape()));
}

void eye_(const Tensor& t, double gain) {
  ACTLAB_CHECK(t.dim() == 2, "init::eye_: needs a 2-D weight, got shape {}", shape_str(t.shape()));
  std::vector<double> values(static_cast<std::size_t>(t.numel()), 0.0);
  for (std::int64_t i = 0; i < std::min(t.size(0), t.size(1)); ++i) values[i * t.size(1) + i] = gain;
  assign(t, from_vector(values, t.shape()).to(t.dtype()));
}

namespace {

// Scales of the registry's schemes, on a weight and a zeroed bias.
void zero_bias(const Tensor& bias) {
  if (bias.defined()) zeros_(bias);
}

template <typename Fill>
std::function<void(const Tensor&, const Tensor&, double, Generator&)> with_zero_bias(Fill fill) {
  return [fill](const Tensor& weight, const Tensor& bias, double parameter, Generator& gen) {
    fill(weight, parameter, gen);
    zero_bias(bias);
  };
}

std::vector<Scheme> make_registry() {
  const double sqrt2 = std::sqrt(2.0);
  return {
      {.name = "default",
       .aliases = {"pytorch"},
       .weight = "U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5))",
       .bias = "U(-1/sqrt(fan_in), 1/sqrt(fan_in))",
       .source = "PyTorch nn.Linear / nn.Conv2d reset_parameters",
       .fill =
           [](const Tensor& weight, const Tensor& bias, double, Generator& gen) {
             const std::int64_t fan_in = compute_fans(weight).fan_in;
             standard_(weight, fan_in, gen);
             if (bias.defined()) standard_(bias, fan_in, gen);
           }},
      {.name = "standard",
       .weight = "U(-gain/sqrt(fan_in), gain/sqrt(fan_in)), gain 1",
       .bias = "0",
       .source = "Glorot & Bengio 2010, eq. 1 (the 'standard initialization')",
       .parameter = "gain",
       .parameter_auto = true,
       .fill = with_zero_bias([](const Tensor& w, double gain, Generator& gen) {
         const double bound = gain / std::sqrt(chosen_fan(w, FanMode::FanIn, "standard"));
         uniform_(w, -bound, bound, gen);
       })},
      {.name = "xavier",
       .aliases = {"glorot", "xavier_uniform", "glorot_uniform"},
       .weight = "U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)), gain 1",
       .bias = "0",
       .source = "Glorot & Bengio 2010, eq. 16 (the 'normalized initialization')",
       .parameter = "gain",
       .parameter_auto = true,
       .fill = with_zero_bias([](const Tensor& w, double gain, Generator& gen) { xavier_uniform_(w, gain, gen); })},
      {.name = "xavier_normal",
       .aliases = {"glorot_normal"},
       .weight = "N(0, gain^2 2 / (fan_in + fan_out)), gain 1",
       .bias = "0",
       .source = "Glorot & Bengio 2010, the variance of eq. 12 (PyTorch xavier_normal_)",
       .parameter = "gain",
       .parameter_auto = true,
       .fill = with_zero_bias([](const Tensor& w, double gain, Generator& gen) { xavier_normal_(w, gain, gen); })},
      {.name = "he",
       .aliases = {"kaiming", "he_normal", "kaiming_normal"},
       .weight = "N(0, gain^2 / fan_in), gain sqrt(2)",
       .bias = "0",
       .source = "He et al. 2015, eq. 10",
       .parameter = "gain",
       .parameter_default = sqrt2,
       .parameter_auto = true,
       .fill = with_zero_bias(
           [](const Tensor& w, double gain, Generator& gen) { kaiming_normal_(w, gain, FanMode::FanIn, gen); })},
      {.name = "he_uniform",
       .aliases = {"kaiming_uniform"},
       .weight = "U(-a, a), a = gain sqrt(3 / fan_in), gain sqrt(2)",
       .bias = "0",
       .source = "He et al. 2015, eq. 10's variance in uniform form (PyTorch kaiming_uniform_)",
       .parameter = "gain",
       .parameter_default = sqrt2,
       .parameter_auto = true,
       .fill = with_zero_bias(
           [](const Tensor& w, double gain, Generator& gen) { kaiming_uniform_(w, gain, FanMode::FanIn, gen); })},
      {.name = "lecun",
       .aliases = {"lecun_normal"},
       .weight = "N(0, gain^2 / fan_in), gain 1",
       .bias = "0",
       .source = "LeCun et al. 1998, Efficient BackProp, sec. 4.6",
       .parameter = "gain",
       .parameter_auto = true,
       .fill = with_zero_bias(
           [](const Tensor& w, double gain, Generator& gen) { kaiming_normal_(w, gain, FanMode::FanIn, gen); })},
      {.name = "orthogonal",
       .weight = "gain Q, Q with orthonormal rows or columns (QR of a normal matrix), gain 1",
       .bias = "0",
       .source = "Saxe et al. 2014",
       .parameter = "gain",
       .parameter_auto = true,
       .fill = with_zero_bias([](const Tensor& w, double gain, Generator& gen) { orthogonal_(w, gain, gen); })},
      {.name = "identity",
       .aliases = {"eye"},
       .weight = "gain I on the leading diagonal, 0 elsewhere, gain 1 (a recurrent W_hh: each gate's block)",
       .bias = "0",
       .source = "Le et al. 2015 (IRNN: a ReLU RNN with W_hh = I)",
       .parameter = "gain",
       .fill = with_zero_bias([](const Tensor& w, double gain, Generator&) { eye_(w, gain); })},
      {.name = "normal",
       .weight = "N(0, std^2), std 0.01",
       .bias = "0",
       .source = "a fixed small spread, as Krizhevsky et al. 2012",
       .parameter = "std",
       .parameter_default = 0.01,
       .fill = with_zero_bias([](const Tensor& w, double std, Generator& gen) { normal_(w, 0.0, std, gen); })},
      {.name = "uniform",
       .weight = "U(-bound, bound), bound 0.05",
       .bias = "0",
       .source = "a fixed spread, as Keras' RandomUniform default",
       .parameter = "bound",
       .parameter_default = 0.05,
       .fill = with_zero_bias([](const Tensor& w, double bound, Generator& gen) { uniform_(w, -bound, bound, gen); })},
      {.name = "zeros",
       .weight = "0",
       .bias = "0",
       .source = "none: every unit of a layer computes the same, the symmetry that random inits break",
       .fill = [](const Tensor& weight, const Tensor& bias, double, Generator&) {
         zeros_(weight);
         zero_bias(bias);
       }},
  };
}

std::string choices() {
  std::vector<std::string> out;
  for (const auto& s : registry())
    out.push_back(s.parameter.empty() ? s.name
                                      : fmt::format("{}[:{}={}]", s.name, s.parameter, s.parameter_auto ? "auto|G" : "X"));
  return fmt::format("{}", fmt::join(out, ", "));
}

}  // namespace

const std::vector<Scheme>& registry() {
  static const std::vector<Scheme> schemes = make_registry();
  return schemes;
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& s : registry()) out.push_back(s.name);
  return out;
}

std::string Spec::canonical() const {
  if (automatic) return fmt::format("{}:{}=auto", scheme->name, scheme->parameter);
  if (value) return fmt::format("{}:{}={}", scheme->name, scheme->parameter, *value);
  return scheme->name;
}

double Spec::parameter(double activation_gain) const {
  return automatic ? activation_gain : value.value_or(scheme->parameter_default);
}

Spec parse(std::string_view text) {
  const auto colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  Spec spec;
  for (const auto& s : registry())
    if (name == s.name || std::find(s.aliases.begin(), s.aliases.end(), name) != s.aliases.end()) spec.scheme = &s;
  ACTLAB_CHECK(spec.scheme, "unknown init '{}'; choose one of {}", name, choices());
  if (colon == std::string_view::npos) return spec;
  const std::string_view argument = text.substr(colon + 1);
  const auto equals = argument.find('=');
  const std::string_view key = argument.substr(0, equals);
  const Scheme& s = *spec.scheme;
  ACTLAB_CHECK(!s.parameter.empty(), "init '{}': '{}' takes no parameter; write just '{}'", text, s.name, s.name);
  ACTLAB_CHECK(equals != std::string_view::npos && key == s.parameter,
               "init '{}': '{}' takes one parameter, {}; write e.g. '{}:{}={}'", text, s.name, s.parameter, s.name,
               s.parameter, s.parameter_auto ? "auto" : "0.1");
  const std::string value(argument.substr(equals + 1));
  if (value == "auto" && s.parameter_auto) {
    spec.automatic = true;
    return spec;
  }
  const std::optional<double> number = parse_number(value);
  ACTLAB_CHECK(number && std::isfinite(*number) && *number >= 0, "init '{}': {} must be a number >= 0{}, got '{}'",
               text, s.parameter, s.parameter_auto ? " or auto (the activation's gain)" : "", value);
  spec.value = *number;
  return spec;
}

void apply(std::string_view text, const Tensor& weight, const Tensor& bias, double activation_gain, Generator& gen) {
  const Spec spec = parse(text);
  spec.scheme->fill(weight, bias, spec.parameter(activation_gain), gen);
}

}  // namespace actlab::nn::init
