// The classic activations: identity, sigmoid, tanh, relu, leaky_relu, elu.
// Each is one kernel struct (see pointwise.h): metadata, forward, derivative, gain.
#include <cmath>

#include "actlab/activations/builtin.h"
#include "actlab/activations/functional.h"
#include "actlab/activations/pointwise.h"

namespace actlab {
namespace activations::kernels {

using namespace simd;

struct Sigmoid {
  static constexpr std::string_view kName = "sigmoid";
  static ActivationInfo info() {
    return {.name = "sigmoid", .aliases = {"logistic"}, .formula = "1 / (1 + exp(-x))",
            .latex = "\\frac{1}{1 + e^{-x}}", .derivative = "sigmoid(x) (1 - sigmoid(x))", .output_range = "(0, 1)",
            .zero_centred = false, .monotonic = true, .smooth = true, .saturates = "both tails",
            .note = "gates and probabilities; in deep hidden stacks its saturation stalls gradients"};
  }
  template <class V> V forward(V x) const { return sigmoid(x); }
  template <class V> V derivative(V x) const { return sigmoid_derivative(x); }
  double gain() const { return 1.0; }
};

struct Tanh {
  static constexpr std::string_view kName = "tanh";
  static ActivationInfo info() {
    return {.name = "tanh", .formula = "(e^x - e^-x) / (e^x + e^-x)", .latex = "\\tanh(x)",
            .derivative = "1 - tanh(x)^2", .output_range = "(-1, 1)", .zero_centred = true, .monotonic = true,
            .smooth = true, .saturates = "both tails",
            .note = "zero-centred sigmoid; fine for shallow nets and RNNs, saturates when deep"};
  }
  template <class V> V forward(V x) const { return tanh(x); }
  // 1 - tanh^2 = 4 e^-2|x| / (1 + e^-2|x|)^2, accurate in the tails where 1 - tanh^2 cancels.
  template <class V> V derivative(V x) const {
    const V e = exp(V(-2) * abs(x));
    const V r = V(1) / (V(1) + e);
    return V(4) * e * r * r;
  }
  double gain() const { return 5.0 / 3.0; }
};

struct Relu {
  static constexpr std::string_view kName = "relu";
  static ActivationInfo info() {
    return {.name = "relu", .formula = "max(0, x)", .latex = "\\max(0, x)", .derivative = "1 if x > 0 else 0",
            .output_range = "[0, inf)", .zero_centred = false, .monotonic = true, .smooth = false,
            .saturates = "x < 0 (units can die)",
            .note = "the default for deep nets: cheap, no saturation for x > 0; pair with He init"};
  }
  template <class V> V forward(V x) const { return max(V(0), x); }
  template <class V> V derivative(V x) const { return select(x > V(0), V(1), V(0)); }
  double gain() const { return std::sqrt(2.0); }
};

struct LeakyRelu {
  static constexpr std::string_view kName = "leaky_relu";
  double negative_slope = 0.01;
  static ActivationInfo info() {
    return {.name = "leaky_relu", .aliases = {"lrelu"},
            .params = {{"negative_slope", 0.01, "slope for x < 0"}},
            .formula = "x if x > 0 else negative_slope * x", .latex = "\\max(x, a x)",
            .derivative = "1 if x > 0 else negative_slope", .output_range = "(-inf, inf)", .zero_centred = false,
            .monotonic = true, .smooth = false, .saturates = "no",
            .note = "ReLU that keeps a small gradient for x < 0, so units cannot die"};
  }
  static LeakyRelu from(const std::vector<double>& p) { return {p[0]}; }
  template <class V> V forward(V x) const { return select(x < V(0), V(negative_slope) * x, x); }
  template <class V> V derivative(V x) const { return select(x > V(0), V(1), V(negative_slope)); }
  double gain() const { return std::sqrt(2.0 / (1.0 + negative_slope * negative_slope)); }
};

struct Elu {
  static constexpr std::string_view kName = "elu";
  double alpha = 1.0;
  static ActivationInfo info() {
    return {.name = "elu", .params = {{"alpha", 1.0, "value approached as x -> -inf is -alpha"}},
            .formula = "x if x > 0 else alpha * (exp(x) - 1)", .latex = "x > 0 ? x : \\alpha (e^x - 1)",
            .derivative = "1 if x > 0 else alpha * exp(x)", .output_range = "(-alpha, inf)", .zero_centred = false,
            .monotonic = true, .smooth = false, .saturates = "x -> -inf",
            .note = "negative outputs push mean activations toward zero; smooth at 0 when alpha = 1"};
  }
  static Elu from(const std::vector<double>& p) { return {p[0]}; }
  template <class V> V forward(V x) const { return select(x > V(0), x, V(alpha) * expm1(x)); }
  template <class V> V derivative(V x) const { return select(x > V(0), V(1), V(alpha) * exp(x)); }
};

}  // namespace activations::kernels

ACTLAB_POINTWISE_KERNEL(activations::kernels::Sigmoid);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Tanh);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Relu);
ACTLAB_POINTWISE_KERNEL(activations::kernels::LeakyRelu);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Elu);

#if !ACTLAB_KERNELS_ONLY
namespace {

using namespace activations::kernels;

// identity returns its input itself: no copy, no graph node.
class IdentityActivation final : public ActivationBase {
 public:
  using ActivationBase::ActivationBase;
  Tensor forward(const Tensor& x) override { return x; }
  double gain() const override { return 1.0; }
};

ActivationDefinition identity_definition() {
  return {{.name = "identity", .aliases = {"linear", "none"}, .formula = "x", .latex = "x", .derivative = "1",
           .output_range = "(-inf, inf)", .zero_centred = true, .monotonic = true, .smooth = true, .saturates = "no",
           .note = "no activation: stacked layers collapse to one linear map (the baseline to beat)"},
          [](const ActivationInfo& info, std::vector<double> values) -> std::unique_ptr<ActivationFunction> {
            return std::make_unique<IdentityActivation>(info, std::move(values));
          }};
}

}  // namespace

Tensor identity(const Tensor& x) { return x; }
Tensor sigmoid(const Tensor& x) { return apply_pointwise(Sigmoid{}, x); }
Tensor tanh(const Tensor& x) { return apply_pointwise(Tanh{}, x); }
Tensor relu(const Tensor& x) { return apply_pointwise(Relu{}, x); }
Tensor leaky_relu(const Tensor& x, double negative_slope) { return apply_pointwise(LeakyRelu{negative_slope}, x); }
Tensor elu(const Tensor& x, double alpha) { return apply_pointwise(Elu{alpha}, x); }

std::vector<ActivationDefinition> activations::classic_activations() {
  return {identity_definition(),            pointwise_definition<Sigmoid>(),   pointwise_definition<Tanh>(),
          pointwise_definition<Relu>(),     pointwise_definition<LeakyRelu>(), pointwise_definition<Elu>()};
}
#endif

}  // namespace actlab
