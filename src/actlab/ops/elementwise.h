// Building blocks for elementwise ops (used by ops/, nn/ and activation kernels).
#pragma once

#include <cmath>
#include <string_view>

#include "actlab/core/streaming.h"
#include "actlab/ops/loop.h"

namespace actlab::ops {

// The dtype two operands are computed in: float64 > float32 > int64 > uint8.
DType promote(DType a, DType b);

// Whether an op writing `out` (of element type T) streams its contiguous rows (see core/streaming.h).
template <typename T>
bool stream_output(const Tensor& out) {
  return actlab::stream_output(out.numel() * static_cast<std::int64_t>(sizeof(T)));
}

// out = op(x) elementwise for float tensors; `op` is a generic lambda (auto v) -> v.
template <typename Op>
Tensor map_floating(const Tensor& x, std::string_view name, Op op) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&]<typename T>() {
    const bool stream = stream_output<T>(out);
    for_each_row<2>(out.shape(), {&out, &x}, [&](auto ptrs, auto s, std::int64_t n) {
      T* o = reinterpret_cast<T*>(ptrs[0]);
      const T* a = reinterpret_cast<const T*>(ptrs[1]);
      if (s[0] == 1 && s[1] == 1) {
        write_row<T>(o, n, stream, [&](std::int64_t i, std::int64_t) { return op(a[i]); }, a);
      } else {
        for (std::int64_t i = 0; i < n; ++i) o[i * s[0]] = op(a[i * s[1]]);
      }
    });
  });
  return out;
}

// out = op(a, b) with broadcasting, for operands of the same dtype (the output's dtype too).
// Float-only unless `any_dtype`.
template <typename Op>
Tensor zip(const Tensor& a, const Tensor& b, std::string_view name, Op op, bool any_dtype = false) {
  ACTLAB_CHECK(a.dtype() == b.dtype(), "{}: dtypes differ ({} vs {})", name, a.dtype(), b.dtype());
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), name), a.dtype());
  auto kernel = [&]<typename T>() {
    const bool stream = stream_output<T>(out);
    for_each_row<3>(out.shape(), {&out, &a, &b}, [&](auto ptrs, auto s, std::int64_t n) {
      T* o = reinterpret_cast<T*>(ptrs[0]);
      const T* x = reinterpret_cast<const T*>(ptrs[1]);
      const T* y = reinterpret_cast<const T*>(ptrs[2]);
      if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
        write_row<T>(o, n, stream, [&](std::int64_t i, std::int64_t) { return op(x[i], y[i]); }, x, y);
      } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
        const T yv = *y;
        write_row<T>(o, n, stream, [&](std::int64_t i, std::int64_t) { return op(x[i], yv); }, x);
      } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {
        const T xv = *x;
        write_row<T>(o, n, stream, [&](std::int64_t i, std::int64_t) { return op(xv, y[i]); }, y);
      } else {
        for (std::int64_t i = 0; i < n; ++i) o[i * s[0]] = op(x[i * s[1]], y[i * s[2]]);
      }
    });
  };
  if (any_dtype)
    dispatch_all(a.dtype(), kernel);
  else
    dispatch_floating(a.dtype(), name, kernel);
  return out;
}

}  // namespace actlab::ops
