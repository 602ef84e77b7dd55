// Weight initializers. Each fills a tensor in place (without recording) from a Generator.
//
// Fans follow PyTorch: for a weight [out, in, k...], fan_in = in * prod(k) and
// fan_out = out * prod(k); a 1-D tensor has fan_in = fan_out = its size.
// `gain` scales the standard deviation (take it from the activation: Activation::gain()).
//
//   xavier_uniform   U(-a, a), a = gain sqrt(6 / (fan_in + fan_out))        Glorot & Bengio 2010
//   xavier_normal    N(0, gain^2 2 / (fan_in + fan_out))
//   kaiming_uniform  U(-a, a), a = gain sqrt(3 / fan)                        He et al. 2015
//   kaiming_normal   N(0, gain^2 / fan), fan = fan_in or fan_out (mode)
//   lecun_normal     N(0, 1 / fan_in) (for SELU)                             LeCun et al. 1998
//   orthogonal       gain * Q of a QR decomposition of a normal matrix       Saxe et al. 2014
//   standard         U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's Linear/Conv default)
//
// Errors: a tensor with fewer dims than an initializer needs (fans need >= 2 dims, orthogonal
// >= 2), or an unknown name, throws Error saying what is accepted.
#pragma once

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
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)); for a bias, pass the fan_in of its layer's weight.
void standard_(const Tensor& t, std::int64_t fan_in, Generator& gen = default_generator());

// Initializes a weight by name: "xavier_uniform" (alias "glorot_uniform"), "xavier_normal"
// ("glorot_normal"), "kaiming_uniform" ("he_uniform"), "kaiming_normal" ("he_normal"),
// "lecun_normal", "orthogonal", "standard", "zeros", "ones", "normal" (std 0.01), "uniform"
// (U(-0.05, 0.05)). `gain` applies where the scheme has one.
void by_name(std::string_view name, const Tensor& weight, double gain = 1.0, Generator& gen = default_generator());
// The names by_name accepts (without aliases).
std::vector<std::string> names();

}  // namespace actlab::nn::init
