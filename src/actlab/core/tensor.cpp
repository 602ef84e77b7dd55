// Tensor metadata, autograd entry points and creation functions.
#include "actlab/core/tensor.h"

#include <cmath>
#include <numeric>

#include "actlab/core/parallel.h"

namespace actlab {

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (auto s : shape) ACTLAB_CHECK(s >= 0, "empty: negative size in shape {}", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  const std::size_t bytes = static_cast<std::size_t>(numel_of(shape)) * element_size(dtype);
  impl->storage = std::make_shared<Storage>(Storage{allocate_buffer(bytes), bytes});
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

std::int64_t Tensor::size(std::int64_t dim) const {
  return shape()[normalize_dim(dim, shape().size(), "size")];
}

bool Tensor::is_contiguous() const {
  std::int64_t expected = 1;
  for (std::size_t i = shape().size(); i-- > 0;) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

double Tensor::item() const {
  ACTLAB_CHECK(numel() == 1, "item: tensor of shape {} has {} elements, needs exactly 1", shape_str(shape()),
               numel());
  return dispatch_all(dtype(), [&]<typename T>() { return static_cast<double>(*data<T>()); });
}

Tensor& Tensor::requires_grad_(bool enabled) {
  ACTLAB_CHECK(is_leaf(), "requires_grad_: only leaf tensors can be marked; use detach() to make a leaf");
  ACTLAB_CHECK(!enabled || is_floating(dtype()), "requires_grad_: only float tensors can require grad, got {}",
               dtype());
  impl_->requires_grad = enabled;
  return *this;
}

Tensor Tensor::grad() const { return impl_->grad ? Tensor(impl_->grad) : Tensor(); }

void Tensor::set_grad(const Tensor& grad) const {
  ACTLAB_CHECK(!grad.defined() || grad.shape() == shape(), "set_grad: gradient shape {} does not match {}",
               grad.defined() ? shape_str(grad.shape()) : "", shape_str(shape()));
  impl_->grad = grad.defined() ? grad.impl() : nullptr;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = impl_->shape;
  impl->strides = impl_->strides;
  impl->offset = impl_->offset;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

// ---- creation ----

Tensor empty(const Shape& shape, DType dtype) { return Tensor::empty(shape, dtype); }

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  t.fill_(value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }
Tensor empty_like(const Tensor& t) { return Tensor::empty(t.shape(), t.dtype()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }

Tensor arange(double start, double end, double step, DType dtype) {
  ACTLAB_CHECK(step != 0.0, "arange: step must be non-zero");
  const auto n = static_cast<std::int64_t>(std::max(0.0, std::ceil((end - start) / step)));
  Tensor t = Tensor::empty({n}, dtype);
  dispatch_all(dtype, [&]<typename T>() {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

Tensor arange(std::int64_t end, DType dtype) { return arange(0.0, static_cast<double>(end), 1.0, dtype); }

Tensor tensor(std::initializer_list<double> values, DType dtype) {
  return from_vector(std::vector<double>(values)).to(dtype);
}

namespace {

// Fills a float tensor from consecutive Philox blocks, `per_block` values each (4 for float32, 2
// for float64, which needs two words per value); block_values(words, out) computes them. Block
// b always feeds elements [b * per_block, (b + 1) * per_block), whatever the thread count.
template <typename BlockFn>
Tensor from_blocks(const Shape& shape, Generator& gen, DType dtype, std::string_view op, BlockFn block_values) {
  Tensor t = Tensor::empty(shape, dtype);
  const std::int64_t n = t.numel();
  dispatch_floating(dtype, op, [&]<typename T>() {
    constexpr bool single = std::is_same_v<T, float>;
    constexpr std::int64_t per_block = single ? 4 : 2;
    const std::int64_t blocks = (n + per_block - 1) / per_block;
    const std::uint64_t first = gen.reserve(static_cast<std::uint64_t>(blocks));
    T* p = t.data<T>();
    parallel_for(0, blocks, kParallelGrain / 4, [&](std::int64_t b0, std::int64_t b1) {
      double values[4];
      for (std::int64_t b = b0; b < b1; ++b) {
        block_values(gen.block(first + static_cast<std::uint64_t>(b)), single, values);
        for (std::int64_t j = 0; j < per_block && b * per_block + j < n; ++j) p[b * per_block + j] = static_cast<T>(values[j]);
      }
    });
  });
  return t;
}

}  // namespace

Tensor rand(const Shape& shape, Generator& gen, DType dtype) {
  return from_blocks(shape, gen, dtype, "rand", [](const std::array<std::uint32_t, 4>& w, bool single, double* out) {
    if (single) {
      for (int j = 0; j < 4; ++j) out[j] = uniform_float(w[j]);
    } else {
      out[0] = uniform_double(w[0], w[1]);
      out[1] = uniform_double(w[2], w[3]);
    }
  });
}

Tensor randn(const Shape& shape, Generator& gen, DType dtype) {
  // Box-Muller: a block yields two pairs of normals (float32) or one pair (float64).
  return from_blocks(shape, gen, dtype, "randn", [](const std::array<std::uint32_t, 4>& w, bool single, double* out) {
    const int pairs = single ? 2 : 1;
    for (int k = 0; k < pairs; ++k) {
      const double u1 = 1.0 - (single ? uniform_float(w[2 * k]) : uniform_double(w[0], w[1]));
      const double u2 = single ? uniform_float(w[2 * k + 1]) : uniform_double(w[2], w[3]);
      const double radius = std::sqrt(-2.0 * std::log(u1));
      out[2 * k] = radius * std::cos(2.0 * M_PI * u2);
      out[2 * k + 1] = radius * std::sin(2.0 * M_PI * u2);
    }
  });
}

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator& gen) {
  ACTLAB_CHECK(low < high, "randint: empty range [{}, {})", low, high);
  Tensor t = Tensor::empty(shape, kInt64);
  const std::int64_t n = t.numel();
  const std::uint64_t first = gen.reserve(static_cast<std::uint64_t>(n));
  const auto range = static_cast<std::uint64_t>(high - low);
  auto* p = t.data<std::int64_t>();
  parallel_for(0, n, kParallelGrain / 4, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t i = b0; i < b1; ++i) {
      const auto w = gen.block(first + static_cast<std::uint64_t>(i));
      const std::uint64_t bits = (static_cast<std::uint64_t>(w[0]) << 32) | w[1];
      p[i] = low + static_cast<std::int64_t>(bounded(bits, range));
    }
  });
  return t;
}

Tensor randperm(std::int64_t n, Generator& gen) {
  Tensor t = arange(n);
  auto* p = t.data<std::int64_t>();
  for (std::int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[gen.randint(0, i + 1)]);
  return t;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  if (a.shape() != b.shape()) return false;
  const auto va = a.to_vector<double>();
  const auto vb = b.to_vector<double>();
  for (std::size_t i = 0; i < va.size(); ++i) {
    if (std::isnan(va[i]) || std::isnan(vb[i])) {
      if (!(equal_nan && std::isnan(va[i]) && std::isnan(vb[i]))) return false;
      continue;
    }
    if (va[i] == vb[i]) continue;  // equal infinities
    if (!(std::abs(va[i] - vb[i]) <= atol + rtol * std::abs(vb[i]))) return false;
  }
  return true;
}

}  // namespace actlab
