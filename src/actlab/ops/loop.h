// The strided loop under every elementwise kernel (internal).
//
// Operands are given in the output's shape with element strides (0 on broadcast dims). Dims are
// coalesced where every operand is contiguous across them, so a contiguous op runs as one flat
// row the compiler vectorizes, and the row range is split across threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "actlab/core/parallel.h"
#include "actlab/core/tensor.h"

namespace actlab::ops {

// Element strides of `t` seen in `shape` (t must broadcast to it).
inline Strides broadcast_strides(const Tensor& t, const Shape& shape) {
  Strides out(shape.size(), 0);
  const std::size_t lead = shape.size() - t.shape().size();
  for (std::size_t i = 0; i < t.shape().size(); ++i)
    out[lead + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return out;
}

// Calls row(ptrs, inner_strides, count) for runs of `count` elements along the innermost
// coalesced dim; ptrs[k] is a byte pointer to operand k's first element of the run and
// inner_strides[k] its element stride along the run.
template <std::size_t N, typename RowFn>
void for_each_row(const Shape& shape, const std::array<const Tensor*, N>& tensors, RowFn&& row,
                  std::int64_t grain = kParallelGrain) {
  // Coalesce dims (skipping size-1 dims) into sizes[] and strides[k][].
  std::vector<std::int64_t> sizes;
  std::array<std::vector<std::int64_t>, N> strides;
  std::array<Strides, N> full;
  for (std::size_t k = 0; k < N; ++k) full[k] = broadcast_strides(*tensors[k], shape);
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !sizes.empty();
    for (std::size_t k = 0; k < N && merge; ++k) merge = strides[k].back() == full[k][d] * shape[d];
    if (merge) {
      sizes.back() *= shape[d];
      for (std::size_t k = 0; k < N; ++k) strides[k].back() = full[k][d];
    } else {
      sizes.push_back(shape[d]);
      for (std::size_t k = 0; k < N; ++k) strides[k].push_back(full[k][d]);
    }
  }
  if (sizes.empty()) {
    sizes.push_back(1);
    for (auto& s : strides) s.push_back(0);
  }
  std::array<std::byte*, N> base;
  std::array<std::int64_t, N> elem;
  for (std::size_t k = 0; k < N; ++k) {
    base[k] = static_cast<std::byte*>(tensors[k]->raw_data());
    elem[k] = static_cast<std::int64_t>(element_size(tensors[k]->dtype()));
  }
  const std::size_t rank = sizes.size();
  const std::int64_t inner = sizes.back();
  std::array<std::int64_t, N> inner_strides;
  for (std::size_t k = 0; k < N; ++k) inner_strides[k] = strides[k].back();
  std::int64_t total = 1;
  for (auto s : sizes) total *= s;

  parallel_for(0, total, grain, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t index = begin;
    while (index < end) {
      std::int64_t outer = index / inner;
      const std::int64_t col = index % inner;
      std::array<std::byte*, N> ptrs = base;
      for (std::size_t k = 0; k < N; ++k) ptrs[k] += col * inner_strides[k] * elem[k];
      for (std::size_t d = rank - 1; d-- > 0;) {
        const std::int64_t i = outer % sizes[d];
        outer /= sizes[d];
        for (std::size_t k = 0; k < N; ++k) ptrs[k] += i * strides[k][d] * elem[k];
      }
      const std::int64_t count = std::min(inner - col, end - index);
      row(ptrs, inner_strides, count);
      index += count;
    }
  });
}

}  // namespace actlab::ops
