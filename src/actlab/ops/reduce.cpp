// Reductions. sum and the max/min index search are kernels; mean, var, std, logsumexp and
// max/min values are compositions, so their gradients follow from the chain rule.
#include <algorithm>
#include <cmath>
#include <limits>

#include "actlab/autograd/grad_mode.h"
#include "actlab/autograd/node.h"
#include "actlab/core/parallel.h"
#include "actlab/ops/reduce_kernels.h"

namespace actlab {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

// Sorted, unique, non-negative dims; every dim when `dims` is empty.
std::vector<int> reduced_dims(const Tensor& x, const std::vector<std::int64_t>& dims, std::string_view op) {
  std::vector<int> out;
  if (dims.empty()) {
    for (std::int64_t d = 0; d < x.dim(); ++d) out.push_back(static_cast<int>(d));
    return out;
  }
  for (auto d : dims) out.push_back(normalize_dim(d, x.shape().size(), op));
  std::sort(out.begin(), out.end());
  ACTLAB_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), "{}: a dim is repeated in [{}]", op,
               fmt::join(dims, ","));
  return out;
}

Shape reduced_shape(const Shape& shape, const std::vector<int>& dims, bool keepdim) {
  Shape out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const bool reduced = std::find(dims.begin(), dims.end(), static_cast<int>(d)) != dims.end();
    if (!reduced)
      out.push_back(shape[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

// The input permuted to (kept dims..., reduced dims...).
Tensor reduced_last(const Tensor& x, const std::vector<int>& dims) {
  std::vector<std::int64_t> order;
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) order.push_back(d);
  order.insert(order.end(), dims.begin(), dims.end());
  return x.detach().permute(order);
}

template <typename T>
T sum_row(const T* p, std::int64_t n) {
  double total = 0;
  ACTLAB_ISA_DISPATCH(ops::kernels, add_sum<T>(n, p, total));
  return static_cast<T>(total);
}

// x is float32, float64 or int64 (integer tensors are summed in int64).
Tensor sum_kernel(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  const Shape out_shape = reduced_shape(x.shape(), dims, keepdim);
  Tensor out = Tensor::empty(out_shape, x.dtype());
  const std::int64_t m = numel_of(out_shape);
  const std::int64_t r = m == 0 ? 0 : x.numel() / m;
  auto kernel = [&]<typename T>() {
    T* o = out.data<T>();
    bool leading = x.is_contiguous();
    for (std::size_t i = 0; i < dims.size() && leading; ++i) leading = dims[i] == static_cast<int>(i);
    if (leading && !dims.empty() && dims.size() < x.shape().size()) {
      // Column sums of a contiguous [r, m] block (e.g. a bias gradient over the batch).
      const T* p = x.data<T>();
      parallel_for(0, m, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(r, 1)),
                   [&](std::int64_t j0, std::int64_t j1) {
                     std::fill(o + j0, o + j1, T(0));
                     for (std::int64_t i = 0; i < r; ++i) {
                       const T* row = p + i * m;
#pragma omp simd
                       for (std::int64_t j = j0; j < j1; ++j) o[j] += row[j];
                     }
                   });
      return;
    }
    const Tensor rows = reduced_last(x, dims).contiguous();
    const T* p = rows.data<T>();
    if (m == 1) {
      // One long row: fixed-size blocks summed in parallel, then added in block order, so the
      // result does not depend on the thread count.
      constexpr std::int64_t kBlock = 1 << 16;
      const std::int64_t blocks = (r + kBlock - 1) / kBlock;
      std::vector<double> partial(static_cast<std::size_t>(blocks));
      parallel_for(0, blocks, 1, [&](std::int64_t b0, std::int64_t b1) {
        for (std::int64_t b = b0; b < b1; ++b)
          partial[b] = static_cast<double>(sum_row(p + b * kBlock, std::min(kBlock, r - b * kBlock)));
      });
      double total = 0;
      for (double v : partial) total += v;
      o[0] = static_cast<T>(total);
      return;
    }
    parallel_for(0, m, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(r, 1)),
                 [&](std::int64_t i0, std::int64_t i1) {
                   for (std::int64_t i = i0; i < i1; ++i) o[i] = sum_row(p + i * r, r);
                 });
  };
  if (x.dtype() == kInt64)
    kernel.operator()<std::int64_t>();
  else
    dispatch_floating(x.dtype(), "sum", kernel);
  return out;
}

// Index of the max (or min) along `dim`; the first NaN wins, as NaN propagates.
Tensor extreme_index(const Tensor& x, int dim, bool keepdim, bool want_max) {
  ACTLAB_CHECK(x.shape()[dim] > 0, "{}: cannot reduce an empty dim {} of shape {}", want_max ? "argmax" : "argmin",
               dim, shape_str(x.shape()));
  const std::vector<int> dims{dim};
  const Tensor rows = reduced_last(x, dims).contiguous();
  Tensor out = Tensor::empty(reduced_shape(x.shape(), dims, keepdim), kInt64);
  const std::int64_t r = x.shape()[dim];
  const std::int64_t m = rows.numel() / r;
  auto* o = out.data<std::int64_t>();
  dispatch_all(x.dtype(), [&]<typename T>() {
    const T* p = rows.data<T>();
    parallel_for(0, m, std::max<std::int64_t>(1, kParallelGrain / r), [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) {
        const T* row = p + i * r;
        std::int64_t best = 0;
        for (std::int64_t j = 1; j < r; ++j) {
          if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(row[best])) break;
            if (std::isnan(row[j])) {
              best = j;
              break;
            }
          }
          if (want_max ? row[j] > row[best] : row[j] < row[best]) best = j;
        }
        o[i] = best;
      }
    });
  });
  return out;
}

Tensor extreme_value(const Tensor& x, std::int64_t dim, bool keepdim, bool want_max) {
  const int d = normalize_dim(dim, x.shape().size(), want_max ? "max" : "min");
  if (x.dim() == 0) return x;
  const Tensor index = extreme_index(x, d, /*keepdim=*/true, want_max);
  const Tensor values = x.gather(d, index);
  return keepdim ? values : values.squeeze(d);
}

}  // namespace

Tensor Tensor::sum(const std::vector<std::int64_t>& dims, bool keepdim) const {
  const auto reduced = reduced_dims(*this, dims, "sum");
  // Integer sums are int64 so that counting a uint8 mask cannot overflow.
  Tensor out = sum_kernel(is_floating(dtype()) ? *this : to(kInt64), reduced, keepdim);
  return record("sum", out, {*this}, {}, [shape = shape(), reduced](const Tensor& g, auto&) {
    Tensor kept = g;
    if (kept.dim() != static_cast<std::int64_t>(shape.size()))
      for (int d : reduced) kept = kept.unsqueeze(d);
    return Grads{kept.expand(shape).contiguous()};
  });
}

Tensor Tensor::mean(const std::vector<std::int64_t>& dims, bool keepdim) const {
  const auto reduced = reduced_dims(*this, dims, "mean");
  std::int64_t count = 1;
  for (int d : reduced) count *= shape()[d];
  return sum(dims, keepdim) / static_cast<double>(count);
}

Tensor Tensor::var(const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) const {
  const auto reduced = reduced_dims(*this, dims, "var");
  std::int64_t count = 1;
  for (int d : reduced) count *= shape()[d];
  const Tensor centred = *this - mean(dims, /*keepdim=*/true);
  return centred.square().sum(dims, keepdim) / static_cast<double>(std::max<std::int64_t>(count - correction, 0));
}

Tensor Tensor::std(const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) const {
  return var(dims, correction, keepdim).sqrt();
}

Tensor Tensor::logsumexp(const std::vector<std::int64_t>& dims, bool keepdim) const {
  // Subtract the max so exp never overflows; an infinite max is replaced by 0 to avoid inf - inf.
  Tensor shift = detach();
  for (int d : reduced_dims(*this, dims, "logsumexp")) shift = shift.max(d, /*keepdim=*/true);
  const double inf = std::numeric_limits<double>::infinity();
  shift = where(shift.abs().lt(scalar_tensor(inf, dtype())), shift, zeros({}, dtype()));
  Tensor out = (*this - shift).exp().sum(dims, /*keepdim=*/true).log() + shift;
  if (keepdim) return out;
  auto reduced = reduced_dims(*this, dims, "logsumexp");
  for (auto it = reduced.rbegin(); it != reduced.rend(); ++it) out = out.squeeze(*it);
  return out;
}

Tensor Tensor::max(std::int64_t dim, bool keepdim) const { return extreme_value(*this, dim, keepdim, true); }
Tensor Tensor::min(std::int64_t dim, bool keepdim) const { return extreme_value(*this, dim, keepdim, false); }
Tensor Tensor::max() const { return flatten().max(0); }
Tensor Tensor::min() const { return flatten().min(0); }

Tensor Tensor::argmax(std::int64_t dim, bool keepdim) const {
  return extreme_index(*this, normalize_dim(dim, shape().size(), "argmax"), keepdim, true);
}
Tensor Tensor::argmin(std::int64_t dim, bool keepdim) const {
  return extreme_index(*this, normalize_dim(dim, shape().size(), "argmin"), keepdim, false);
}
Tensor Tensor::argmax() const { return flatten().argmax(0); }

Tensor Tensor::sum_to(const Shape& target) const {
  if (shape() == target) return *this;
  ACTLAB_CHECK(target.size() <= shape().size(), "sum_to: cannot reduce shape {} to {}", shape_str(shape()),
               shape_str(target));
  const std::size_t lead = shape().size() - target.size();
  std::vector<std::int64_t> dims;
  for (std::size_t d = 0; d < shape().size(); ++d) {
    if (d < lead) {
      dims.push_back(static_cast<std::int64_t>(d));
      continue;
    }
    const std::int64_t want = target[d - lead];
    ACTLAB_CHECK(want == shape()[d] || want == 1, "sum_to: cannot reduce shape {} to {}", shape_str(shape()),
                 shape_str(target));
    if (want == 1 && shape()[d] != 1) dims.push_back(static_cast<std::int64_t>(d));
  }
  if (dims.empty()) return reshape(target);
  return sum(dims, /*keepdim=*/true).reshape(target);
}

}  // namespace actlab
