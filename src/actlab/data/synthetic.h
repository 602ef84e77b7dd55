// Small 2-D classification sets generated from a seed, for seeing what non-linearity buys.
//
// Every generator returns float32 features [samples, 2] and int64 labels, deterministic for a
// given (options, seed): the same on every machine and thread count. Classes are interleaved
// (sample i has class i % classes) so any prefix is balanced. `noise` is the standard deviation
// of Gaussian noise added to each coordinate.
//
//   xor      four quadrant clusters; label = sign(x) != sign(y)      (2 classes)
//   circles  two concentric circles, inner radius 0.5, outer 1.0      (2 classes)
//   moons    two interleaving half circles                           (2 classes)
//   spirals  `classes` interleaved arms spiralling out from the origin (k classes)
//   blobs    `classes` Gaussian blobs with centres on a circle        (k classes)
//   linear   two classes split by the line x + y = 0: the control set a model without any
//            activation can solve                                     (2 classes)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actlab/data/dataset.h"

namespace actlab::data {

struct SyntheticOptions {
  std::int64_t samples = 1000;
  double noise = 0.1;
  std::int64_t classes = 2;  // spirals and blobs only; the others always have 2
  std::uint64_t seed = 0;
};

// Names accepted by make_synthetic, in documentation order.
const std::vector<std::string>& synthetic_names();
bool is_synthetic(std::string_view name);

// Throws Error listing the valid names for an unknown one, or on samples < 1, noise < 0,
// classes < 2.
Dataset make_synthetic(std::string_view name, const SyntheticOptions& options);

}  // namespace actlab::data
