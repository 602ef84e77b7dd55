#include "actlab/nn/init.h"

#include <cmath>

#include "actlab/autograd/grad_mode.h"

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

namespace {

struct Scheme {
  const char* name;
  const char* alias;
};
constexpr Scheme kSchemes[] = {
    {"xavier_uniform", "glorot_uniform"}, {"xavier_normal", "glorot_normal"}, {"kaiming_uniform", "he_uniform"},
    {"kaiming_normal", "he_normal"},      {"lecun_normal", ""},              {"orthogonal", ""},
    {"standard", ""},                     {"zeros", ""},                     {"ones", ""},
    {"normal", ""},                       {"uniform", ""},
};

}  // namespace

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& s : kSchemes) out.emplace_back(s.name);
  return out;
}

void by_name(std::string_view name0, const Tensor& weight, double gain, Generator& gen) {
  std::string_view name;
  for (const auto& s : kSchemes)
    if (name0 == s.name || name0 == s.alias) name = s.name;
  ACTLAB_CHECK(!name.empty(), "init: unknown initializer '{}'; choose one of {}", name0, fmt::join(names(), ", "));
  if (name == "xavier_uniform") return xavier_uniform_(weight, gain, gen);
  if (name == "xavier_normal") return xavier_normal_(weight, gain, gen);
  if (name == "kaiming_uniform") return kaiming_uniform_(weight, gain, FanMode::FanIn, gen);
  if (name == "kaiming_normal") return kaiming_normal_(weight, gain, FanMode::FanIn, gen);
  if (name == "lecun_normal") return lecun_normal_(weight, gen);
  if (name == "orthogonal") return orthogonal_(weight, gain, gen);
  if (name == "standard") return standard_(weight, compute_fans(weight).fan_in, gen);
  if (name == "zeros") return zeros_(weight);
  if (name == "ones") return ones_(weight);
  if (name == "normal") return normal_(weight, 0.0, 0.01, gen);
  uniform_(weight, -0.05, 0.05, gen);
}

}  // namespace actlab::nn::init
