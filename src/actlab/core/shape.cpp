#include "actlab/core/shape.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "actlab/core/error.h"

namespace actlab {

std::int64_t numel_of(const Shape& shape) {
  std::int64_t n = 1;
  for (auto s : shape)
    ACTLAB_CHECK(!__builtin_mul_overflow(n, s, &n), "shape {} has more elements than int64 can count", shape_str(shape));
  return n;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides(shape.size());
  std::int64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    ACTLAB_CHECK(!__builtin_mul_overflow(stride, shape[i], &stride),
                 "shape {} is too large: its strides overflow int64", shape_str(shape));
  }
  return strides;
}

std::string shape_str(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ",")); }

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    ACTLAB_CHECK(da == db || da == 1 || db == 1,
                 "{}: shapes {} and {} cannot be broadcast (dim {}: {} vs {})", op, shape_str(a),
                 shape_str(b), i, da, db);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int normalize_dim(std::int64_t dim, std::size_t rank, std::string_view op) {
  const auto r = static_cast<std::int64_t>(rank);
  ACTLAB_CHECK(dim >= -r && dim < std::max<std::int64_t>(r, 1),
               "{}: dim {} is out of range for a tensor of rank {} (valid: {}..{})", op, dim, rank,
               -r, std::max<std::int64_t>(r, 1) - 1);
  return static_cast<int>(dim < 0 ? dim + r : dim);
}

}  // namespace actlab
