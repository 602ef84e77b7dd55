// The built-in activation families, in registry order (each defined in the .cpp of that name).
// Listed explicitly so that the linker keeps every family's object file in libactlab.a.
#pragma once

#include <vector>

#include "actlab/activations/activation.h"

namespace actlab::activations {

std::vector<ActivationDefinition> classic_activations();    // classic.cpp
std::vector<ActivationDefinition> modern_activations();     // modern.cpp
std::vector<ActivationDefinition> softmax_activations();    // softmax.cpp
std::vector<ActivationDefinition> learnable_activations();  // learnable.cpp

}  // namespace actlab::activations
