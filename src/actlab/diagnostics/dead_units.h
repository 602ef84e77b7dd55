// Dead units counted on many samples: a unit (feature, or channel x position) of an activation
// layer is dead when its output is exactly zero on every one of them.
//
// The 256-sample probe of the recorder sees too few samples to tell a dead unit from a sparse
// one; count_dead_units runs a separate forward pass (no gradients) over `images` in chunks.
// Modes, buffers and gradients are left as they were found (see probe_mode.h).
//
// Requires: images [N, ...] with N >= 1 that the model accepts.
#pragma once

#include <cstdint>
#include <vector>

#include "actlab/data/dataset.h"
#include "actlab/data/loader.h"
#include "actlab/diagnostics/verdicts.h"
#include "actlab/nn/module.h"

namespace actlab::diagnostics {

inline constexpr std::int64_t kDeadUnitSamples = 2048;

// Per activation layer of `model` (leaf nn::Activation modules, in forward order).
std::vector<DeadUnits> count_dead_units(nn::Module& model, const Tensor& images, std::int64_t chunk = 256);

// The first min(kDeadUnitSamples, size) training samples, normalized as the loader does.
Tensor dead_unit_samples(const data::Dataset& dataset, const data::Normalization& normalization);

}  // namespace actlab::diagnostics
