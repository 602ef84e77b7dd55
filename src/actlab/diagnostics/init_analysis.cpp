#include "actlab/diagnostics/init_analysis.h"

#include <fmt/format.h>

#include <cmath>

#include "actlab/autograd/grad_mode.h"
#include "actlab/diagnostics/probe_mode.h"
#include "actlab/nn/activation.h"
#include "actlab/nn/layers.h"
#include "actlab/nn/loss.h"

namespace actlab::diagnostics {
namespace {

double std_of(const Tensor& t) {
  const std::vector<float> v = t.contiguous().to_vector<float>();
  double sum = 0, squares = 0;
  for (float x : v) {
    sum += x;
    squares += static_cast<double>(x) * x;
  }
  const double n = static_cast<double>(std::max<std::size_t>(v.size(), 1)), mean = sum / n;
  return std::sqrt(std::max(0.0, squares / n - mean * mean));
}

struct Block {
  std::string name;
  std::shared_ptr<nn::Linear> linear;
  std::shared_ptr<nn::Activation> activation;  // the leaf right after it, when an activation
  Tensor pre, post, grad_pre;                  // captured during the probe
};

}  // namespace

std::vector<double> singular_values(const std::vector<double>& m, std::int64_t rows, std::int64_t cols) {
  // Gram matrix of the smaller side: its eigenvalues are the squared singular values.
  const bool by_rows = rows <= cols;
  const std::int64_t n = by_rows ? rows : cols, inner = by_rows ? cols : rows;
  auto at = [&](std::int64_t i, std::int64_t k) {
    return by_rows ? m[static_cast<std::size_t>(i * cols + k)] : m[static_cast<std::size_t>(k * cols + i)];
  };
  std::vector<double> g(static_cast<std::size_t>(n * n));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i; j < n; ++j) {
      double dot = 0;
      for (std::int64_t k = 0; k < inner; ++k) dot += at(i, k) * at(j, k);
      g[static_cast<std::size_t>(i * n + j)] = g[static_cast<std::size_t>(j * n + i)] = dot;
    }
  auto a = [&](std::int64_t i, std::int64_t j) -> double& { return g[static_cast<std::size_t>(i * n + j)]; };
  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0, diag = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      diag += a(i, i) * a(i, i);
      for (std::int64_t j = i + 1; j < n; ++j) off += a(i, j) * a(i, j);
    }
    if (off <= 1e-22 * diag) break;
    for (std::int64_t p = 0; p < n; ++p)
      for (std::int64_t q = p + 1; q < n; ++q) {
        if (a(p, q) == 0) continue;
        const double theta = (a(q, q) - a(p, p)) / (2 * a(p, q));
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::int64_t k = 0; k < n; ++k) {  // columns p, q
          const double kp = a(k, p), kq = a(k, q);
          a(k, p) = c * kp - s * kq;
          a(k, q) = s * kp + c * kq;
        }
        for (std::int64_t k = 0; k < n; ++k) {  // rows p, q
          const double pk = a(p, k), qk = a(q, k);
          a(p, k) = c * pk - s * qk;
          a(q, k) = s * pk + c * qk;
        }
      }
  }
  std::vector<double> out;
  for (std::int64_t i = 0; i < n; ++i) out.push_back(std::sqrt(std::max(0.0, a(i, i))));
  return out;
}

std::vector<InitLayer> analyse_init(nn::Module& model, const data::Batch& probe, std::int64_t jacobian_samples) {
  ACTLAB_CHECK(probe.images.defined() && probe.images.size(0) > 0 && probe.labels.numel() == probe.images.size(0),
               "analyse_init: the probe batch needs at least one sample and one label per sample");
  std::vector<Block> blocks;
  std::shared_ptr<nn::Module> previous;
  for (auto& [name, module] : model.named_modules()) {
    if (!module->named_children().empty()) continue;
    if (auto activation = std::dynamic_pointer_cast<nn::Activation>(module); activation && !blocks.empty() &&
                                                                            previous == blocks.back().linear)
      blocks.back().activation = activation;
    if (auto linear = std::dynamic_pointer_cast<nn::Linear>(module)) blocks.push_back({name, linear, nullptr, {}, {}, {}});
    previous = module;
  }
  const ProbeMode probe_mode(model);
  std::vector<nn::HookHandle> hooks;
  for (auto& b : blocks) {
    hooks.push_back(b.linear->register_forward_hook([&b](nn::Module&, const nn::Call& call) {
      b.pre = call.outputs.front().detach();
      if (!b.activation) b.post = b.pre;
    }));
    hooks.push_back(b.linear->register_backward_hook(
        [&b](nn::Module&, std::int64_t, std::size_t, const Tensor& grad) { b.grad_pre = grad.detach(); }));
    if (b.activation)
      hooks.push_back(b.activation->register_forward_hook(
          [&b](nn::Module&, const nn::Call& call) { b.post = call.outputs.front().detach(); }));
  }
  nn::cross_entropy(model(probe.images), probe.labels).backward();
  for (auto& hook : hooks) hook.remove();

  std::vector<InitLayer> out;
  for (auto& b : blocks) {
    InitLayer l{b.name, std_of(b.post), b.grad_pre.defined() ? std_of(b.grad_pre) : 0.0,
                b.linear->weight.grad().defined() ? std_of(b.linear->weight.grad()) : 0.0, std::nullopt};
    const std::int64_t rows = b.linear->out_features, cols = b.linear->in_features;
    if (std::min(rows, cols) <= kMaxJacobianDim) {
      // f'(s) per sample by autograd through a fresh copy of the activation (1 without one).
      Tensor slope;
      if (b.activation) {
        auto f = make_activation(b.activation->spec());
        f->set_training(false);
        Tensor s = b.pre.detach().requires_grad_();
        f->forward(s).sum().backward();
        slope = s.grad();
      }
      const std::vector<float> w = b.linear->weight.detach().contiguous().to_vector<float>();
      const std::vector<float> d = slope.defined() ? slope.contiguous().to_vector<float>() : std::vector<float>();
      const std::int64_t samples = std::min(jacobian_samples, b.pre.size(0));
      double sum = 0;
      for (std::int64_t n = 0; n < samples; ++n) {
        std::vector<double> j(static_cast<std::size_t>(rows * cols));
        for (std::int64_t r = 0; r < rows; ++r) {
          const double scale = d.empty() ? 1.0 : d[static_cast<std::size_t>(n * rows + r)];
          for (std::int64_t c = 0; c < cols; ++c)
            j[static_cast<std::size_t>(r * cols + c)] = scale * w[static_cast<std::size_t>(r * cols + c)];
        }
        const auto sv = singular_values(j, rows, cols);
        double total = 0;
        for (double v : sv) total += v;
        sum += total / static_cast<double>(sv.size());
      }
      l.jacobian_mean_sv = sum / static_cast<double>(samples);
    }
    b.pre = b.post = b.grad_pre = Tensor();
    out.push_back(l);
  }
  return out;
}

nlohmann::json to_json(const std::vector<InitLayer>& layers) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& l : layers)
    out.push_back({{"layer", l.layer}, {"activation_std", l.activation_std}, {"backprop_grad_std", l.backprop_grad_std},
                   {"weight_grad_std", l.weight_grad_std},
                   {"jacobian_mean_sv", l.jacobian_mean_sv ? nlohmann::json(*l.jacobian_mean_sv) : nlohmann::json()}});
  return out;
}

std::string format_init_analysis(const nlohmann::json& layers) {
  std::string out = fmt::format("{:<10} {:>14} {:>16} {:>16} {:>14}\n", "layer", "activation std", "backprop grad std",
                                "weight grad std", "Jacobian mean sv");
  for (const auto& l : layers)
    out += fmt::format("{:<10} {:>14.3g} {:>16.3g} {:>16.3g} {:>14}\n", l.at("layer").get<std::string>(),
                       l.at("activation_std").get<double>(), l.at("backprop_grad_std").get<double>(),
                       l.at("weight_grad_std").get<double>(),
                       l.at("jacobian_mean_sv").is_number() ? fmt::format("{:.3g}", l.at("jacobian_mean_sv").get<double>())
                                                            : std::string("-"));
  return out;
}

}  // namespace actlab::diagnostics
