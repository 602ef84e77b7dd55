// The modern activations: selu, celu, gelu (erf and tanh), silu/swish, mish, softplus, softsign,
// hardtanh, relu6, hardsigmoid, hardswish, logsigmoid. One kernel struct each (see pointwise.h).
#include <cmath>
#include <numbers>

#include "actlab/activations/builtin.h"
#include "actlab/activations/functional.h"
#include "actlab/activations/pointwise.h"

namespace actlab {
namespace activations::kernels {

using namespace simd;

struct Selu {
  static constexpr std::string_view kName = "selu";
  static constexpr double kAlpha = 1.6732632423543772848170429916717;
  static constexpr double kScale = 1.0507009873554804934193349852946;
  static ActivationInfo info() {
    return {.name = "selu", .formula = "scale * (x if x > 0 else alpha * (exp(x) - 1)), alpha=1.6733, scale=1.0507",
            .latex = "\\lambda (x > 0 ? x : \\alpha (e^x - 1))", .derivative = "scale if x > 0 else scale * alpha * exp(x)",
            .output_range = "(-1.7581, inf)", .zero_centred = false, .monotonic = true, .smooth = false,
            .saturates = "x -> -inf",
            .note = "self-normalizing MLPs: keeps mean 0 / variance 1 with LeCun-normal init, no batch norm"};
  }
  template <class V> V forward(V x) const { return V(kScale) * select(x > V(0), x, V(kAlpha) * expm1(x)); }
  template <class V> V derivative(V x) const { return select(x > V(0), V(kScale), V(kScale * kAlpha) * exp(x)); }
  double gain() const { return 0.75; }  // PyTorch's calculate_gain("selu")
};

struct Celu {
  static constexpr std::string_view kName = "celu";
  double alpha = 1.0;
  static ActivationInfo info() {
    return {.name = "celu", .params = {{"alpha", 1.0, "scale of the negative part; not 0"}},
            .formula = "x if x > 0 else alpha * (exp(x / alpha) - 1)", .latex = "\\max(0,x) + \\min(0, \\alpha (e^{x/\\alpha} - 1))",
            .derivative = "1 if x > 0 else exp(x / alpha)", .output_range = "(-alpha, inf)", .zero_centred = false,
            .monotonic = true, .smooth = true, .saturates = "x -> -inf",
            .note = "ELU made continuously differentiable for every alpha"};
  }
  static Celu from(const std::vector<double>& p) { return {p[0]}; }
  void check() const { ACTLAB_CHECK(alpha != 0, "celu: alpha must not be 0 (it divides x)"); }
  template <class V> V forward(V x) const { return select(x > V(0), x, V(alpha) * expm1(x / V(alpha))); }
  template <class V> V derivative(V x) const { return select(x > V(0), V(1), exp(x / V(alpha))); }
};

// Phi(x) from erfc (simd::gelu_parts) keeps full relative precision in the left tail, where
// (1 + erf) would cancel to 0.
struct Gelu {
  static constexpr std::string_view kName = "gelu";
  static ActivationInfo info() {
    return {.name = "gelu", .formula = "x * Phi(x), Phi the standard normal CDF",
            .latex = "x \\Phi(x) = \\frac{x}{2} \\left(1 + \\mathrm{erf}(x / \\sqrt{2})\\right)",
            .derivative = "Phi(x) + x * phi(x)", .output_range = "[-0.17, inf)", .zero_centred = false,
            .monotonic = false, .smooth = true, .saturates = "x -> -inf",
            .note = "transformers' default; a smooth ReLU that weighs inputs by their probability"};
  }
  template <class V> V forward(V x) const { return gelu_parts(x).value; }
  template <class V> V derivative(V x) const { return gelu_parts(x).derivative; }
};

// x (1 + tanh(u)) / 2 = x sigmoid(2u): the sigmoid form does not cancel for x < 0.
struct GeluTanh {
  static constexpr std::string_view kName = "gelu_tanh";
  static constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876;
  static constexpr double kCubic = 0.044715;
  static ActivationInfo info() {
    return {.name = "gelu_tanh", .aliases = {"gelu_approx"},
            .formula = "x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))",
            .latex = "\\frac{x}{2} \\left(1 + \\tanh\\left(\\sqrt{2/\\pi} (x + 0.044715 x^3)\\right)\\right)",
            .derivative = "s + x s (1 - s) 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2), s = sigmoid(2u)",
            .output_range = "[-0.17, inf)", .zero_centred = false, .monotonic = false, .smooth = true,
            .saturates = "x -> -inf", .note = "the tanh approximation of GELU used by GPT-2 and BERT"};
  }
  template <class V> V forward(V x) const {
    const V u2 = V(2 * kSqrt2OverPi) * (x + V(kCubic) * x * x * x);
    return mul_or_zero(x, sigmoid(u2));
  }
  template <class V> V derivative(V x) const {
    const V x2 = x * x;
    const auto s = sigmoid_parts(V(2 * kSqrt2OverPi) * (x + V(kCubic) * x2 * x));
    return s.value + mul_or_zero(V(2 * kSqrt2OverPi) * x * (V(1) + V(3 * kCubic) * x2), s.derivative);
  }
};

struct Silu {
  static constexpr std::string_view kName = "silu";
  double beta = 1.0;
  static ActivationInfo info() {
    return {.name = "silu", .aliases = {"swish"}, .params = {{"beta", 1.0, "sharpness; 1 is SiLU"}},
            .formula = "x * sigmoid(beta x)", .latex = "x \\, \\sigma(\\beta x)",
            .derivative = "s + beta x s (1 - s), s = sigmoid(beta x)", .output_range = "[-0.28, inf)",
            .zero_centred = false, .monotonic = false, .smooth = true, .saturates = "x -> -inf",
            .note = "smooth, non-monotonic ReLU alternative (EfficientNet, many CNNs)"};
  }
  static Silu from(const std::vector<double>& p) { return {p[0]}; }
  // x / (1 + e^-bx): one exp and one division; e^-bx = inf gives -0, and x = +-inf its limit.
  template <class V> V forward(V x) const {
    return select(abs(x) == V(INFINITY), select(V(beta) * x > V(0), x, V(0)), x / (V(1) + exp(V(-beta) * x)));
  }
  template <class V> V derivative(V x) const {
    const V bx = V(beta) * x;
    const auto s = sigmoid_parts(bx);
    return s.value + mul_or_zero(bx, s.derivative);
  }
};

// tanh(softplus(x)) and its derivative as rational functions of e = exp(-|x|), in the form that
// never overflows on either side: with n = e^x, tanh(log(1 + n)) = (n^2 + 2n) / (n^2 + 2n + 2).
struct Mish {
  static constexpr std::string_view kName = "mish";
  static ActivationInfo info() {
    return {.name = "mish", .formula = "x * tanh(softplus(x))", .latex = "x \\tanh(\\ln(1 + e^x))",
            .derivative = "tanh(sp) + x * sech(sp)^2 * sigmoid(x), sp = softplus(x)",
            .output_range = "[-0.31, inf)", .zero_centred = false, .monotonic = false, .smooth = true,
            .saturates = "x -> -inf", .note = "smooth, self-regularizing; strong in YOLOv4-style CNNs"};
  }
  // t = tanh(softplus(x)); d = sech^2(softplus(x)) * sigmoid(x).
  template <class V> static void parts(V x, V& t, V& d) {
    const V e = exp(-abs(x));
    const V e2 = e * e;
    const auto positive = x >= V(0);
    const V numerator = select(positive, V(1) + V(2) * e, e2 + V(2) * e);
    const V denominator = select(positive, V(1) + V(2) * e + V(2) * e2, e2 + V(2) * e + V(2));
    const V inverse = reciprocal(denominator);
    t = numerator * inverse;
    d = V(4) * (V(1) + e) * select(positive, e2, e) * inverse * inverse;
  }
  template <class V> V forward(V x) const {
    V t, d;
    parts(x, t, d);
    return mul_or_zero(x, t);
  }
  template <class V> V derivative(V x) const {
    V t, d;
    parts(x, t, d);
    return t + mul_or_zero(x, d);
  }
};

struct Softplus {
  static constexpr std::string_view kName = "softplus";
  double beta = 1.0;
  double threshold = 20.0;
  double inverse_beta = 1.0 / beta;  // once here: GCC does not hoist a division out of the vector loop
  static ActivationInfo info() {
    return {.name = "softplus",
            .params = {{"beta", 1.0, "sharpness, > 0"}, {"threshold", 20.0, "linear above beta x > threshold"}},
            .formula = "log(1 + exp(beta x)) / beta", .latex = "\\frac{1}{\\beta} \\ln(1 + e^{\\beta x})",
            .derivative = "sigmoid(beta x)", .output_range = "(0, inf)", .zero_centred = false, .monotonic = true,
            .smooth = true, .saturates = "x -> -inf",
            .note = "smooth ReLU; outputs a positive scale (variances, rates)"};
  }
  static Softplus from(const std::vector<double>& p) { return {p[0], p[1]}; }
  void check() const { ACTLAB_CHECK(beta > 0, "softplus: beta must be > 0, got {}", beta); }
  // log(1 + e^bx) / beta = max(x, 0) + log1p(e^-|bx|) / beta: exact in both tails, NaN-propagating,
  // and the last step one multiply-add.
  template <class V> V forward(V x) const {
    const V bx = V(beta) * x;
    return select(bx > V(threshold), x, log1p_of_exp_minus(abs(bx)) * V(inverse_beta) + max(V(0), x));
  }
  template <class V> V derivative(V x) const {
    const V bx = V(beta) * x;
    return select(bx > V(threshold), V(1), sigmoid(bx));
  }
};

struct Softsign {
  static constexpr std::string_view kName = "softsign";
  static ActivationInfo info() {
    return {.name = "softsign", .formula = "x / (1 + |x|)", .latex = "\\frac{x}{1 + |x|}",
            .derivative = "1 / (1 + |x|)^2", .output_range = "(-1, 1)", .zero_centred = true, .monotonic = true,
            .smooth = true, .saturates = "both tails (polynomially)",
            .note = "a tanh-like squashing with polynomial tails that saturate more gently"};
  }
  // x is clamped to +-1e30 first so that +-inf gives +-1 rather than inf / inf.
  template <class V> V forward(V x) const {
    const V clamped = max(V(-1e30), min(V(1e30), x));
    return clamped / (V(1) + abs(clamped));
  }
  template <class V> V derivative(V x) const {
    const V r = V(1) / (V(1) + abs(x));
    return r * r;
  }
};

struct Hardtanh {
  static constexpr std::string_view kName = "hardtanh";
  double min_val = -1.0;
  double max_val = 1.0;
  static ActivationInfo info() {
    return {.name = "hardtanh", .params = {{"min_val", -1.0, "lower bound"}, {"max_val", 1.0, "upper bound"}},
            .formula = "clamp(x, min_val, max_val)", .latex = "\\min(\\max(x, a), b)",
            .derivative = "1 if min_val < x < max_val else 0", .output_range = "[min_val, max_val]",
            .zero_centred = true, .monotonic = true, .smooth = false, .saturates = "outside [min_val, max_val]",
            .note = "a cheap piecewise-linear tanh (quantized and embedded nets)"};
  }
  static Hardtanh from(const std::vector<double>& p) { return {p[0], p[1]}; }
  void check() const {
    ACTLAB_CHECK(min_val < max_val, "hardtanh: min_val ({}) must be below max_val ({})", min_val, max_val);
  }
  template <class V> V forward(V x) const { return max(V(min_val), min(V(max_val), x)); }
  template <class V> V derivative(V x) const {
    return select((x > V(min_val)) & (x < V(max_val)), V(1), V(0));
  }
};

struct Relu6 {
  static constexpr std::string_view kName = "relu6";
  static ActivationInfo info() {
    return {.name = "relu6", .formula = "min(max(0, x), 6)", .latex = "\\min(\\max(0, x), 6)",
            .derivative = "1 if 0 < x < 6 else 0", .output_range = "[0, 6]", .zero_centred = false,
            .monotonic = true, .smooth = false, .saturates = "x < 0 and x > 6",
            .note = "ReLU capped at 6 for low-precision inference (MobileNet)"};
  }
  template <class V> V forward(V x) const { return Hardtanh{0, 6}.forward(x); }
  template <class V> V derivative(V x) const { return Hardtanh{0, 6}.derivative(x); }
};

struct Hardsigmoid {
  static constexpr std::string_view kName = "hardsigmoid";
  static ActivationInfo info() {
    return {.name = "hardsigmoid", .formula = "clamp(x / 6 + 1/2, 0, 1)", .latex = "\\min(\\max(0, x/6 + 1/2), 1)",
            .derivative = "1/6 if -3 < x < 3 else 0", .output_range = "[0, 1]", .zero_centred = false,
            .monotonic = true, .smooth = false, .saturates = "|x| >= 3",
            .note = "piecewise-linear sigmoid for gates in mobile nets (MobileNetV3)"};
  }
  // (x + 3) / 6 rounds once, and x + 3 is exact near -3, where x / 6 + 1/2 would cancel.
  template <class V> V forward(V x) const { return max(V(0), min(V(1), (x + V(3)) / V(6))); }
  template <class V> V derivative(V x) const { return select((x > V(-3)) & (x < V(3)), V(1.0 / 6), V(0)); }
};

struct Hardswish {
  static constexpr std::string_view kName = "hardswish";
  static ActivationInfo info() {
    return {.name = "hardswish", .formula = "x * clamp(x + 3, 0, 6) / 6", .latex = "x \\frac{\\min(\\max(0, x + 3), 6)}{6}",
            .derivative = "0 if x < -3, 1 if x > 3, else x/3 + 1/2", .output_range = "[-0.375, inf)",
            .zero_centred = false, .monotonic = false, .smooth = false, .saturates = "x < -3",
            .note = "piecewise-quadratic swish for mobile nets (MobileNetV3)"};
  }
  template <class V> V forward(V x) const {
    return select(x <= V(-3), V(0), select(x >= V(3), x, x * (x + V(3)) / V(6)));
  }
  template <class V> V derivative(V x) const {
    return select(x < V(-3), V(0), select(x > V(3), V(1), (V(2) * x + V(3)) / V(6)));
  }
};

struct Logsigmoid {
  static constexpr std::string_view kName = "logsigmoid";
  static ActivationInfo info() {
    return {.name = "logsigmoid", .formula = "log(sigmoid(x)) = -softplus(-x)", .latex = "\\ln \\sigma(x)",
            .derivative = "sigmoid(-x)", .output_range = "(-inf, 0)", .zero_centred = false, .monotonic = true,
            .smooth = true, .saturates = "x -> +inf",
            .note = "log-probabilities of a sigmoid (losses, log-space gates) without overflow"};
  }
  template <class V> V forward(V x) const { return min(V(0), x) - log1p_of_exp_minus(abs(x)); }
  template <class V> V derivative(V x) const { return sigmoid(-x); }
};

}  // namespace activations::kernels

ACTLAB_POINTWISE_KERNEL(activations::kernels::Selu);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Celu);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Gelu);
ACTLAB_POINTWISE_KERNEL(activations::kernels::GeluTanh);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Silu);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Mish);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Softplus);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Softsign);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Hardtanh);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Relu6);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Hardsigmoid);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Hardswish);
ACTLAB_POINTWISE_KERNEL(activations::kernels::Logsigmoid);

#if !ACTLAB_KERNELS_ONLY
using namespace activations::kernels;

Tensor selu(const Tensor& x) { return apply_pointwise(Selu{}, x); }
Tensor celu(const Tensor& x, double alpha) { return apply_pointwise(Celu{alpha}, x); }
Tensor gelu(const Tensor& x) { return apply_pointwise(Gelu{}, x); }
Tensor gelu_tanh(const Tensor& x) { return apply_pointwise(GeluTanh{}, x); }
Tensor silu(const Tensor& x, double beta) { return apply_pointwise(Silu{beta}, x); }
Tensor mish(const Tensor& x) { return apply_pointwise(Mish{}, x); }
Tensor softplus(const Tensor& x, double beta, double threshold) { return apply_pointwise(Softplus{beta, threshold}, x); }
Tensor softsign(const Tensor& x) { return apply_pointwise(Softsign{}, x); }
Tensor hardtanh(const Tensor& x, double min_val, double max_val) { return apply_pointwise(Hardtanh{min_val, max_val}, x); }
Tensor relu6(const Tensor& x) { return apply_pointwise(Relu6{}, x); }
Tensor hardsigmoid(const Tensor& x) { return apply_pointwise(Hardsigmoid{}, x); }
Tensor hardswish(const Tensor& x) { return apply_pointwise(Hardswish{}, x); }
Tensor logsigmoid(const Tensor& x) { return apply_pointwise(Logsigmoid{}, x); }

std::vector<ActivationDefinition> activations::modern_activations() {
  return {pointwise_definition<Selu>(),        pointwise_definition<Celu>(),      pointwise_definition<Gelu>(),
          pointwise_definition<GeluTanh>(),    pointwise_definition<Silu>(),      pointwise_definition<Mish>(),
          pointwise_definition<Softplus>(),    pointwise_definition<Softsign>(),  pointwise_definition<Hardtanh>(),
          pointwise_definition<Relu6>(),       pointwise_definition<Hardsigmoid>(), pointwise_definition<Hardswish>(),
          pointwise_definition<Logsigmoid>()};
}

#endif

}  // namespace actlab
