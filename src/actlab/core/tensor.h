// Tensor: an n-dimensional, strided view of a shared buffer, with reverse-mode autograd.
//
// A Tensor is a cheap handle (a shared pointer); copies share data. Views (reshape, transpose,
// permute, narrow, select, expand, squeeze, unsqueeze) share the buffer of their base and are
// differentiable. Every op that takes float tensors records itself for backward() when grad
// mode is on and an input requires grad.
//
// Errors: every op checks its preconditions and throws actlab::Error naming the op and the
// shapes or dtypes involved.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actlab/core/allocator.h"
#include "actlab/core/dtype.h"
#include "actlab/core/generator.h"
#include "actlab/core/shape.h"

namespace actlab {

class Tensor;
namespace autograd {
struct Node;
}

using GradHook = std::function<Tensor(const Tensor& grad)>;

struct Storage {
  Buffer buffer;
  std::size_t bytes = 0;
  // Counts in-place writes through any view of this buffer; backward() compares it with the
  // count saved when an op was recorded, so a modified saved tensor is an error, not a wrong gradient.
  std::uint64_t version = 0;
  std::byte* data() const { return buffer.get(); }
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  std::int64_t offset = 0;  // in elements
  DType dtype = DType::Float32;

  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;         // accumulated gradient of a leaf
  std::shared_ptr<autograd::Node> grad_fn;  // the op that produced this tensor, if recorded
  std::vector<GradHook> leaf_hooks;         // hooks of a leaf (non-leaf hooks live on grad_fn)
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Uninitialized contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype = kFloat32);

  bool defined() const { return impl_ != nullptr; }
  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }

  // ---- metadata ----
  const Shape& shape() const { return impl_->shape; }
  const Strides& strides() const { return impl_->strides; }
  std::int64_t offset() const { return impl_->offset; }
  // Size of `dim` (negative counts from the end). Throws if out of range.
  std::int64_t size(std::int64_t dim) const;
  std::int64_t dim() const { return static_cast<std::int64_t>(impl_->shape.size()); }
  std::int64_t numel() const { return numel_of(impl_->shape); }
  DType dtype() const { return impl_->dtype; }
  bool is_contiguous() const;
  // True when both tensors view the same buffer.
  bool shares_storage_with(const Tensor& other) const { return impl_->storage == other.impl_->storage; }

  // In-place writes so far to the buffer this tensor views (shared by all its views).
  std::uint64_t version() const { return impl_->storage->version; }
  // Counts one in-place write. The in-place ops call it; code that writes through data<T>() or
  // raw_data() into a tensor an op may have saved for backward calls it too.
  void bump_version() const { ++impl_->storage->version; }

  // Typed pointer to the first element. Throws if T does not match dtype().
  template <typename T> T* data() const;
  void* raw_data() const { return impl_->storage->data() + impl_->offset * element_size(dtype()); }

  // ---- element access ----
  // The single value of a one-element tensor, converted to double. Throws otherwise.
  double item() const;
  template <typename T> T item() const { return static_cast<T>(item()); }
  // Element at a full index. Throws on a wrong index count or an out-of-range index.
  template <typename T> T& at(std::initializer_list<std::int64_t> index) const;
  // All elements in row-major order, converted to T.
  template <typename T> std::vector<T> to_vector() const;

  // ---- autograd ----
  bool requires_grad() const { return impl_->requires_grad; }
  // Marks a leaf as requiring grad. Throws on a non-leaf or a non-float tensor.
  Tensor& requires_grad_(bool enabled = true);
  // Accumulated gradient of a leaf (undefined before the first backward).
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl_->grad_fn; }
  // Same data, cut from the graph.
  Tensor detach() const;
  // Back-propagates from this tensor. A non-scalar needs `grad` of the same shape. Unless
  // retain_graph, the graph is freed and a second backward through it throws.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  // Calls hook(grad) when the gradient of this tensor is computed; a defined return value
  // replaces the gradient.
  void register_hook(GradHook hook) const;

  // ---- copies and conversion ----
  Tensor contiguous() const;  // self if already contiguous
  Tensor clone() const;       // always a new buffer
  Tensor to(DType dtype) const;

  // ---- views (no copy) ----
  // reshape copies only when the strides make a view impossible; view() throws instead.
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  Tensor t() const;  // 2-D transpose
  Tensor permute(const std::vector<std::int64_t>& dims) const;
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;
  Tensor expand(const Shape& shape) const;
  Tensor squeeze() const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor unsqueeze(std::int64_t dim) const;

  // ---- elementwise (NumPy broadcasting) ----
  Tensor neg() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor square() const;
  Tensor pow(double exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor clamp(double min, double max) const;
  Tensor clamp_min(double min) const;
  Tensor clamp_max(double max) const;
  Tensor maximum(const Tensor& other) const;
  Tensor minimum(const Tensor& other) const;
  // Comparisons return uint8 masks (1 = true); not differentiable.
  Tensor eq(const Tensor& other) const;
  Tensor ne(const Tensor& other) const;
  Tensor lt(const Tensor& other) const;
  Tensor le(const Tensor& other) const;
  Tensor gt(const Tensor& other) const;
  Tensor ge(const Tensor& other) const;

  // ---- in place (for optimizers; throw on a tensor that requires grad while grad mode is on) ----
  // Each bumps version(); backward() through an op that saved this buffer then throws.
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& add_(double value);
  Tensor& sub_(const Tensor& other);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double value);
  Tensor& div_(const Tensor& other);
  Tensor& copy_(const Tensor& source);  // broadcasts and converts dtype
  Tensor& fill_(double value);
  Tensor& zero_();
  Tensor& clamp_(double min, double max);

  // ---- reductions (dims may be negative; an empty list reduces every dim) ----
  Tensor sum(const std::vector<std::int64_t>& dims = {}, bool keepdim = false) const;
  Tensor mean(const std::vector<std::int64_t>& dims = {}, bool keepdim = false) const;
  // correction 1 gives the unbiased estimate, 0 the population variance.
  Tensor var(const std::vector<std::int64_t>& dims = {}, std::int64_t correction = 1, bool keepdim = false) const;
  Tensor std(const std::vector<std::int64_t>& dims = {}, std::int64_t correction = 1, bool keepdim = false) const;
  Tensor logsumexp(const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  Tensor max() const;
  Tensor min() const;
  Tensor max(std::int64_t dim, bool keepdim = false) const;
  Tensor min(std::int64_t dim, bool keepdim = false) const;
  Tensor argmax(std::int64_t dim, bool keepdim = false) const;  // int64
  Tensor argmin(std::int64_t dim, bool keepdim = false) const;  // int64
  Tensor argmax() const;  // index into the flattened tensor

  // Sums broadcast dims away so the result has `shape` (the adjoint of expand).
  Tensor sum_to(const Shape& shape) const;

  // ---- linear algebra ----
  // 1-D, 2-D and batched (broadcast batch dims) product through BLAS.
  Tensor matmul(const Tensor& other) const;

  // ---- indexing ----
  // Rows of this tensor along `dim` picked by an int64 index vector.
  Tensor index_select(std::int64_t dim, const Tensor& index) const;
  // out[i][j] = self[i][index[i][j]] for dim 1 (and likewise for any dim); index is int64.
  Tensor gather(std::int64_t dim, const Tensor& index) const;

  std::string to_string() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// ---- creation ----
Tensor empty(const Shape& shape, DType dtype = kFloat32);
Tensor zeros(const Shape& shape, DType dtype = kFloat32);
Tensor ones(const Shape& shape, DType dtype = kFloat32);
Tensor full(const Shape& shape, double value, DType dtype = kFloat32);
Tensor scalar_tensor(double value, DType dtype = kFloat32);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor empty_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
// [start, end) in steps of `step`. Throws on step 0.
Tensor arange(double start, double end, double step = 1.0, DType dtype = kFloat32);
Tensor arange(std::int64_t end, DType dtype = kInt64);
// Copies `values` into a new tensor of `shape` (a 1-D tensor when shape is empty). Throws when
// the counts differ.
template <typename T> Tensor from_vector(const std::vector<T>& values, Shape shape = {});
Tensor tensor(std::initializer_list<double> values, DType dtype = kFloat32);
Tensor randn(const Shape& shape, Generator& gen = default_generator(), DType dtype = kFloat32);
Tensor rand(const Shape& shape, Generator& gen = default_generator(), DType dtype = kFloat32);
// Uniform integers in [low, high).
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Generator& gen = default_generator());
// A random permutation of 0..n-1 (int64).
Tensor randperm(std::int64_t n, Generator& gen = default_generator());

// ---- free-function forms ----
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// condition (uint8 mask, broadcast) ? a : b.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
// Concatenation along an existing dim; all other sizes must agree.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);

// True when shapes agree and |a - b| <= atol + rtol * |b| everywhere (NaNs equal when equal_nan).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false);

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- template definitions ----
template <typename T>
T* Tensor::data() const {
  ACTLAB_CHECK(dtype_of<T>() == dtype(), "data<{}>(): tensor holds {}", dtype_name(dtype_of<T>()), dtype());
  return reinterpret_cast<T*>(raw_data());
}

template <typename T>
T& Tensor::at(std::initializer_list<std::int64_t> index) const {
  ACTLAB_CHECK(static_cast<std::int64_t>(index.size()) == dim(), "at: {} indices for a tensor of shape {}",
               index.size(), shape_str(shape()));
  std::int64_t offset = 0;
  std::size_t d = 0;
  for (auto i : index) {
    ACTLAB_CHECK(i >= -shape()[d] && i < shape()[d], "at: index {} is out of range for dim {} of shape {}", i,
                 d, shape_str(shape()));
    offset += (i < 0 ? i + shape()[d] : i) * strides()[d];
    ++d;
  }
  return data<T>()[offset];
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  const Tensor c = to(dtype_of<T>()).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, Shape shape) {
  if (shape.empty()) shape = {static_cast<std::int64_t>(values.size())};
  ACTLAB_CHECK(numel_of(shape) == static_cast<std::int64_t>(values.size()),
               "from_vector: {} values do not fill shape {}", values.size(), shape_str(shape));
  Tensor t = Tensor::empty(shape, dtype_of<T>());
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

}  // namespace actlab
