// Shapes and strides.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace actlab {

using Shape = std::vector<std::int64_t>;
using Strides = std::vector<std::int64_t>;

// Product of the sizes; 1 for a scalar (empty shape). Throws Error when it overflows int64.
std::int64_t numel_of(const Shape& shape);

// Row-major strides (in elements) for `shape`. Throws Error when one overflows int64.
Strides contiguous_strides(const Shape& shape);

// "[2,3,4]".
std::string shape_str(const Shape& shape);

// NumPy broadcasting of two shapes. Throws Error naming `op` and both shapes if incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

// Wraps a possibly negative dim into [0, rank). Throws Error naming `op` when out of range.
int normalize_dim(std::int64_t dim, std::size_t rank, std::string_view op);

}  // namespace actlab
