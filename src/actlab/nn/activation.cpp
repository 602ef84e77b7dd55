#include "actlab/nn/activation.h"

namespace actlab::nn {

Activation::Activation(std::string_view spec) : Module("Activation"), function_(make_activation(spec)) {
  for (auto& [name, tensor] : function_->named_parameters()) register_parameter(name, tensor);
  for (auto& [name, generator] : function_->named_generators()) register_generator(name, *generator);
}

}  // namespace actlab::nn
