#include "actlab/autograd/gradcheck.h"

#include <cmath>

#include "actlab/autograd/grad_mode.h"

namespace actlab {
namespace {

// <v, f(inputs)> without recording.
double projected(const GradcheckFn& f, const std::vector<Tensor>& inputs, const Tensor& v) {
  NoGradGuard no_grad;
  return (f(inputs).to(kFloat64) * v).sum().item();
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  // Fresh contiguous leaves, so perturbing one element perturbs exactly one input value.
  std::vector<Tensor> leaves;
  for (const auto& input : inputs) {
    ACTLAB_CHECK(!input.requires_grad() || input.dtype() == kFloat64,
                 "gradcheck: input {} is {}; finite differences need float64 (use .to(actlab::kFloat64))",
                 leaves.size(), input.dtype());
    Tensor leaf = input.detach().clone();
    if (input.requires_grad()) leaf.requires_grad_();
    leaves.push_back(leaf);
  }
  Generator gen(options.seed);
  GradcheckResult result;
  double worst_ratio = -1;
  for (int direction = 0; direction < options.directions; ++direction) {
    Tensor output = f(leaves);
    const Tensor v = randn(output.shape(), gen, kFloat64);
    for (auto& leaf : leaves) leaf.set_grad(Tensor());
    ACTLAB_CHECK(output.requires_grad(), "gradcheck: f's output does not depend on any input that requires grad");
    (output.to(kFloat64) * v).sum().backward();
    for (std::size_t i = 0; i < leaves.size(); ++i) {
      if (!leaves[i].requires_grad()) continue;
      const Tensor grad = leaves[i].grad();
      const std::vector<double> analytic =
          grad.defined() ? grad.to_vector<double>() : std::vector<double>(static_cast<std::size_t>(leaves[i].numel()), 0.0);
      double* x = leaves[i].data<double>();
      for (std::int64_t e = 0; e < leaves[i].numel(); ++e) {
        const double saved = x[e];
        x[e] = saved + options.eps;
        const double plus = projected(f, leaves, v);
        x[e] = saved - options.eps;
        const double minus = projected(f, leaves, v);
        x[e] = saved;
        const double numeric = (plus - minus) / (2 * options.eps);
        const double a = analytic[static_cast<std::size_t>(e)];
        const double abs_error = std::abs(a - numeric);
        const double rel_error = abs_error / std::max(std::abs(numeric), 1e-12);
        const double ratio = abs_error / (options.atol + options.rtol * std::abs(numeric));
        result.max_abs_error = std::max(result.max_abs_error, abs_error);
        result.max_rel_error = std::max(result.max_rel_error, std::min(rel_error, abs_error > options.atol ? rel_error : 0.0));
        if (!(ratio <= 1.0)) result.ok = false;
        if (ratio > worst_ratio || std::isnan(ratio)) {
          worst_ratio = std::isnan(ratio) ? std::numeric_limits<double>::infinity() : ratio;
          result.input = i;
          result.element = e;
          result.analytic = a;
          result.numeric = numeric;
        }
      }
    }
  }
  result.message = fmt::format(
      "gradcheck {}: max abs error {:.3g}, max rel error {:.3g}; worst at input {} element {} "
      "(analytic {:.10g}, numeric {:.10g})",
      result.ok ? "passed" : "FAILED", result.max_abs_error, result.max_rel_error, result.input, result.element,
      result.analytic, result.numeric);
  return result;
}

}  // namespace actlab
