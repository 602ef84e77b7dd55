// Activation functions: the common interface and the registry.
//
// Each activation is one definition (see activations/*.cpp): its name and aliases, parameters
// with defaults, forward and derivative, and metadata a learner reads (formula, range,
// properties, recommended init gain, when to use it).
//
// make_activation("leaky_relu:0.1") / ("elu:alpha=0.5") / ("prelu:channels=64") builds one from
// a spec string: a name or alias, then ':' and comma-separated values, positional (in the order of
// info().params) or name=value. An unknown name, an unknown or repeated parameter, a value that is
// not a finite number (or not an integer where one is needed) or lies outside the parameter's
// [min, max] throws Error naming the parameter and listing what exists.
// Adding an activation: see activations/pointwise.h and docs/ACTIVATIONS.md.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actlab/core/tensor.h"

namespace actlab {

struct ActivationParam {
  std::string name = {};
  double default_value = 0;
  std::string doc = {};
  bool integer = false;  // e.g. channels, dim
  // The values a spec may give; beyond a magnitude of 1e6 no activation parameter makes sense.
  double min = -1e6, max = 1e6;
};

struct ActivationInfo {
  std::string name = {};                     // canonical registry name, e.g. "leaky_relu"
  std::vector<std::string> aliases = {};     // e.g. {"swish"} for "silu"
  std::vector<ActivationParam> params = {};  // in positional order of the spec string
  std::string formula = {};                  // plain text, e.g. "max(0, x)"
  std::string latex = {};                    // e.g. "\\max(0, x)"
  std::string derivative = {};               // plain text of f'(x)
  std::string output_range = {};             // e.g. "[0, inf)"
  bool zero_centred = false;
  bool monotonic = false;
  bool smooth = false;
  std::string saturates = {};                // where f' -> 0, e.g. "both tails", "x -> -inf", "no"
  bool learnable = false;
  std::string note = {};                     // one line: when to use it
};

class ActivationFunction {
 public:
  virtual ~ActivationFunction() = default;
  // Applies the activation elementwise (softmax-like ones along their dim); autograd-aware.
  virtual Tensor forward(const Tensor& x) = 0;
  // Learnable parameters (PReLU slopes, Swish beta, rational coefficients), by name.
  virtual std::vector<std::pair<std::string, Tensor>> named_parameters() { return {}; }
  // Train/eval behaviour (RReLU samples slopes only in training).
  virtual void set_training(bool /*training*/) {}
  // Random generators it draws from (RReLU's slopes), by name, so checkpoints can save them.
  virtual std::vector<std::pair<std::string, Generator*>> named_generators() { return {}; }
  // Recommended init gain (as PyTorch's calculate_gain, extended to every activation).
  virtual double gain() const = 0;
  virtual const ActivationInfo& info() const = 0;
  // The canonical spec string that rebuilds this activation, e.g. "leaky_relu:negative_slope=0.1".
  virtual std::string spec() const = 0;
};

// Builds an activation from a spec string (see above). Throws Error on a bad spec.
std::unique_ptr<ActivationFunction> make_activation(std::string_view spec);

// Every registered activation, in registry order.
std::vector<const ActivationInfo*> registered_activations();

// What the registry stores: the metadata, and a factory given the parameter values in the order
// of info.params (defaults filled in, already checked to be numbers).
struct ActivationDefinition {
  ActivationInfo info;
  std::function<std::unique_ptr<ActivationFunction>(const ActivationInfo& info, std::vector<double> values)> make;
};

// Adds an activation to the registry. Throws Error when its name or an alias is taken.
void register_activation(ActivationDefinition definition);

// `static const ActivationRegistration reg(pointwise_definition<MyActivation>());` registers at
// start-up from any object file linked into the program.
struct ActivationRegistration {
  explicit ActivationRegistration(ActivationDefinition definition) { register_activation(std::move(definition)); }
};

}  // namespace actlab
