// Weight initializers. Each fills a tensor in place (without recording) from a Generator.
//
// Fans follow PyTorch: for a weight [out, in, k...], fan_in = in * prod(k) and
// fan_out = out * prod(k); a 1-D tensor has fan_in = fan_out = its size.
// `gain` scales the standard deviation.
//
// The primitives:
//   xavier_uniform   U(-a, a), a = gain sqrt(6 / (fan_in + fan_out))        Glorot & Bengio 2010
//   xavier_normal    N(0, gain^2 2 / (fan_in + fan_out))
//   kaiming_uniform  U(-a, a), a = gain sqrt(3 / fan)                        He et al. 2015
//   kaiming_normal   N(0, gain^2 / fan), fan = fan_in or fan_out (mode)
//   lecun_normal     N(0, 1 / fan_in) (for SELU)                             LeCun et al. 1998
//   orthogonal       gain * Q of a QR decomposition of a normal matrix       Saxe et al. 2014
//   eye              gain * I (IRNN's W_hh)                                   Le et al. 2015
//   standard         U(-1/sqrt(fan_in), 1/sqrt(fan_in))
//
// The registry: the named schemes of a model (`--init NAME[:PARAM=VALUE]`), each a weight formula,
// a bias rule and its source, as published (see registry()). A scheme with a gain takes it
// explicitly: "xavier:gain=1.5", or "xavier:gain=auto" for the activation's recommended gain
// (Activation::gain(), sqrt(2) for ReLU); without one it uses the published value.
//
// Errors: a tensor with fewer dims than an initializer needs (fans need >= 2 dims, orthogonal
// >= 2), an unknown name, parameter or value throws Error saying what is accepted.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actlab/core/generator.h"
#include "actlab/core/tensor.h"

namespace actlab::nn::init {

enum class FanMode { FanIn, FanOut };

struct Fans {
  std::int64_t fan_in, fan_out;
};
Fans compute_fans(const Tensor& t);

void zeros_(const Tensor& t);
void ones_(const Tensor& t);
void constant_(const Tensor& t, double value);
void uniform_(const Tensor& t, double low, double high, Generator& gen = default_generator());
void normal_(const Tensor& t, double mean, double std, Generator& gen = default_generator());
void xavier_uniform_(const Tensor& t, double gain = 1.0, Generator& gen = default_generator());
void xavier_normal_(const Tensor& t, double gain = 1.0, Generator& gen = default_generator());
void kaiming_uniform_(const Tensor& t, double gain = 1.4142135623730951, FanMode mode = FanMode::FanIn,
                      Generator& gen = default_generator());
void kaiming_normal_(const Tensor& t, double gain = 1.4142135623730951, FanMode mode = FanMode::FanIn,
                     Generator& gen = default_generator());
void lecun_normal_(const Tensor& t, Generator& gen = default_generator());
// Rows (or columns, whichever are fewer) of the [size(0), numel / size(0)] view are orthonormal.
void orthogonal_(const Tensor& t, double gain = 1.0, Generator& gen = default_generator());
// gain on the leading diagonal of a 2-D tensor, 0 elsewhere (torch.nn.init.eye_).
void eye_(const Tensor& t, double gain = 1.0);
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)); for a bias, pass the fan_in of its layer's weight.
void standard_(const Tensor& t, std::int64_t fan_in, Generator& gen = default_generator());

// One named scheme of the registry.
struct Scheme {
  std::string name{};                // "xavier"
  std::vector<std::string> aliases{};  // "glorot", "xavier_uniform", ...
  std::string weight{};              // the weight's distribution, e.g. "U(-a, a), a = gain sqrt(6 / (fan_in + fan_out))"
  std::string bias{};                // the bias rule: "0" or a distribution
  std::string source{};              // where it is published
  // Its one parameter ("gain", "std", "bound"; empty: none) and the published value.
  std::string parameter{};
  double parameter_default = 1.0;
  bool parameter_auto = false;       // the parameter may be "auto" (the activation's gain)
  // Fills weight (and bias when defined) with the parameter's value.
  std::function<void(const Tensor& weight, const Tensor& bias, double parameter, Generator& gen)> fill{};
};

// Every scheme, in the order --help lists them.
const std::vector<Scheme>& registry();
// Their names (without aliases).
std::vector<std::string> names();

// A parsed "NAME[:PARAM=VALUE]" spec.
struct Spec {
  const Scheme* scheme = nullptr;
  std::optional<double> value;  // the parameter; nullopt: the published default, or auto
  bool automatic = false;       // PARAM=auto
  // The canonical spec ("xavier:gain=auto" for "glorot:gain=auto"); parse(canonical()) is the same spec.
  std::string canonical() const;
  // The parameter in effect, given the activation's gain for "auto".
  double parameter(double activation_gain) const;
};
Spec parse(std::string_view spec);

// Initializes a layer's weight and bias (may be undefined) by spec; `activation_gain` is what
// PARAM=auto stands for.
void apply(std::string_view spec, const Tensor& weight, const Tensor& bias, double activation_gain,
           Generator& gen = default_generator());

}  // namespace actlab::nn::init
