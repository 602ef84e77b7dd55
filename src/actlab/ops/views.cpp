// Views (no copy) and the ops that assemble or pick pieces of tensors: cat, stack,
// index_select, gather. Each view's backward maps the gradient back onto its base's shape.
#include <numeric>
#include <optional>

#include "actlab/autograd/grad_mode.h"
#include "actlab/autograd/node.h"

namespace actlab {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

Tensor make_view(const Tensor& base, Shape shape, Strides strides, std::int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

// Replaces one -1 in `shape` by the size that keeps `numel` elements.
Shape infer_shape(Shape shape, std::int64_t numel, const Shape& from, std::string_view op) {
  std::optional<std::size_t> infer;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      ACTLAB_CHECK(!infer, "{}: only one dim can be -1 in {}", op, shape_str(shape));
      infer = i;
    } else {
      ACTLAB_CHECK(shape[i] >= 0, "{}: invalid size {} in {}", op, shape[i], shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer) {
    ACTLAB_CHECK(known != 0 && numel % known == 0, "{}: shape {} is invalid for input of shape {} ({} elements)",
                 op, shape_str(shape), shape_str(from), numel);
    shape[*infer] = numel / known;
  }
  ACTLAB_CHECK(numel_of(shape) == numel, "{}: shape {} is invalid for input of shape {} ({} elements)", op,
               shape_str(shape), shape_str(from), numel);
  return shape;
}

// Strides viewing (old_shape, old_strides) as new_shape without a copy, if possible: each
// group of old dims that merges or splits into new dims must be contiguous within itself.
std::optional<Strides> view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& new_shape) {
  Strides out(new_shape.size());
  if (old_shape.empty() || numel_of(old_shape) == 0) return contiguous_strides(new_shape);
  std::int64_t view_d = static_cast<std::int64_t>(new_shape.size()) - 1;
  std::int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t d = static_cast<std::int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Tensor reshape_backward_view(const Tensor& view, const Tensor& base, std::string op) {
  return record(std::move(op), view, {base}, {}, [shape = base.shape()](const Tensor& g, auto&) {
    return Grads{g.reshape(shape)};
  });
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  const Shape shape = infer_shape(requested, numel(), this->shape(), "view");
  auto strides = view_strides(this->shape(), this->strides(), shape);
  ACTLAB_CHECK(strides.has_value(),
               "view: shape {} is not compatible with the strides of this {} tensor; use reshape() "
               "(which copies) or call contiguous() first",
               shape_str(shape), shape_str(this->shape()));
  return reshape_backward_view(make_view(*this, shape, *strides, offset()), *this, "view");
}

Tensor Tensor::reshape(const Shape& requested) const {
  const Shape shape = infer_shape(requested, numel(), this->shape(), "reshape");
  if (view_strides(this->shape(), this->strides(), shape)) return view(shape);
  return contiguous().view(shape);
}

Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  const int start = normalize_dim(start_dim, shape().size(), "flatten");
  const int end = normalize_dim(end_dim, shape().size(), "flatten");
  ACTLAB_CHECK(start <= end, "flatten: start_dim {} is after end_dim {}", start_dim, end_dim);
  Shape out(shape().begin(), shape().begin() + start);
  out.push_back(std::accumulate(shape().begin() + start, shape().begin() + end + 1, std::int64_t{1},
                                std::multiplies<>()));
  out.insert(out.end(), shape().begin() + end + 1, shape().end());
  return reshape(out);
}

Tensor Tensor::permute(const std::vector<std::int64_t>& dims) const {
  ACTLAB_CHECK(dims.size() == shape().size(), "permute: {} dims given for a tensor of rank {}", dims.size(),
               shape().size());
  Shape shape(dims.size());
  Strides strides(dims.size());
  std::vector<std::int64_t> inverse(dims.size(), -1);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const int d = normalize_dim(dims[i], dims.size(), "permute");
    ACTLAB_CHECK(inverse[d] == -1, "permute: dim {} appears twice in [{}]", d, fmt::join(dims, ","));
    inverse[d] = static_cast<std::int64_t>(i);
    shape[i] = this->shape()[d];
    strides[i] = this->strides()[d];
  }
  return record("permute", make_view(*this, shape, strides, offset()), {*this}, {},
                [inverse](const Tensor& g, auto&) { return Grads{g.permute(inverse)}; });
}

Tensor Tensor::transpose(std::int64_t dim0, std::int64_t dim1) const {
  std::vector<std::int64_t> dims(shape().size());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[normalize_dim(dim0, dims.size(), "transpose")], dims[normalize_dim(dim1, dims.size(), "transpose")]);
  return permute(dims);
}

Tensor Tensor::t() const {
  ACTLAB_CHECK(dim() == 2, "t: needs a 2-D tensor, got shape {}", shape_str(shape()));
  return transpose(0, 1);
}

Tensor Tensor::slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) const {
  const int d = normalize_dim(dim, shape().size(), "slice");
  ACTLAB_CHECK(step > 0, "slice: step must be positive, got {}", step);
  const std::int64_t size = shape()[d];
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<std::int64_t>(start, 0, size);
  end = std::clamp<std::int64_t>(end, start, size);
  Shape new_shape = shape();
  Strides new_strides = strides();
  new_shape[d] = (end - start + step - 1) / step;
  new_strides[d] *= step;
  Tensor view = make_view(*this, new_shape, new_strides, offset() + start * strides()[d]);
  return record("slice", view, {*this}, {}, [shape = shape(), d, start, end, step](const Tensor& g, auto&) {
    Tensor grad = zeros(shape, g.dtype());
    grad.slice(d, start, end, step).copy_(g);
    return Grads{grad};
  });
}

Tensor Tensor::narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const {
  const int d = normalize_dim(dim, shape().size(), "narrow");
  ACTLAB_CHECK(start >= 0 && length >= 0 && start + length <= shape()[d],
               "narrow: [{}, {}) is out of range for dim {} of size {}", start, start + length, d, shape()[d]);
  return slice(d, start, start + length);
}

Tensor Tensor::select(std::int64_t dim, std::int64_t index) const {
  const int d = normalize_dim(dim, shape().size(), "select");
  const std::int64_t size = shape()[d];
  ACTLAB_CHECK(index >= -size && index < size, "select: index {} is out of range for dim {} of size {}", index, d,
               size);
  if (index < 0) index += size;
  Shape new_shape = shape();
  Strides new_strides = strides();
  new_shape.erase(new_shape.begin() + d);
  new_strides.erase(new_strides.begin() + d);
  Tensor view = make_view(*this, new_shape, new_strides, offset() + index * strides()[d]);
  return record("select", view, {*this}, {}, [shape = shape(), d, index](const Tensor& g, auto&) {
    Tensor grad = zeros(shape, g.dtype());
    grad.select(d, index).copy_(g);
    return Grads{grad};
  });
}

Tensor Tensor::expand(const Shape& target) const {
  ACTLAB_CHECK(target.size() >= shape().size(), "expand: cannot expand shape {} to fewer dims {}",
               shape_str(shape()), shape_str(target));
  const std::size_t lead = target.size() - shape().size();
  Shape new_shape(target.size());
  Strides new_strides(target.size(), 0);
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (i < lead) {
      ACTLAB_CHECK(target[i] >= 0, "expand: new leading dim {} needs an explicit size", i);
      new_shape[i] = target[i];
      continue;
    }
    const std::int64_t own = shape()[i - lead];
    const std::int64_t want = target[i] == -1 ? own : target[i];
    ACTLAB_CHECK(own == want || own == 1, "expand: shape {} cannot be expanded to {} (dim {}: {} vs {})",
                 shape_str(shape()), shape_str(target), i, own, want);
    new_shape[i] = want;
    new_strides[i] = own == want ? strides()[i - lead] : 0;
  }
  return record("expand", make_view(*this, new_shape, new_strides, offset()), {*this}, {},
                [shape = shape()](const Tensor& g, auto&) { return Grads{g.sum_to(shape)}; });
}

Tensor Tensor::squeeze() const {
  Shape new_shape;
  Strides new_strides;
  for (std::size_t i = 0; i < shape().size(); ++i) {
    if (shape()[i] == 1) continue;
    new_shape.push_back(shape()[i]);
    new_strides.push_back(strides()[i]);
  }
  return reshape_backward_view(make_view(*this, new_shape, new_strides, offset()), *this, "squeeze");
}

Tensor Tensor::squeeze(std::int64_t dim) const {
  const int d = normalize_dim(dim, shape().size(), "squeeze");
  if (shape().empty() || shape()[d] != 1) return *this;
  Shape new_shape = shape();
  Strides new_strides = strides();
  new_shape.erase(new_shape.begin() + d);
  new_strides.erase(new_strides.begin() + d);
  return reshape_backward_view(make_view(*this, new_shape, new_strides, offset()), *this, "squeeze");
}

Tensor Tensor::unsqueeze(std::int64_t dim) const {
  const int d = normalize_dim(dim, shape().size() + 1, "unsqueeze");
  Shape new_shape = shape();
  Strides new_strides = strides();
  const std::int64_t stride = static_cast<std::size_t>(d) < shape().size() ? strides()[d] * shape()[d] : 1;
  new_shape.insert(new_shape.begin() + d, 1);
  new_strides.insert(new_strides.begin() + d, stride);
  return reshape_backward_view(make_view(*this, new_shape, new_strides, offset()), *this, "unsqueeze");
}

// ---- assembling and picking ----

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  ACTLAB_CHECK(!tensors.empty(), "cat: needs at least one tensor");
  const Tensor& first = tensors.front();
  const int d = normalize_dim(dim, first.shape().size(), "cat");
  Shape shape = first.shape();
  shape[d] = 0;
  std::vector<std::int64_t> sizes;
  for (const auto& t : tensors) {
    ACTLAB_CHECK(t.dtype() == first.dtype(), "cat: dtypes differ ({} vs {})", first.dtype(), t.dtype());
    ACTLAB_CHECK(t.dim() == first.dim(), "cat: ranks differ ({} vs {})", shape_str(first.shape()),
                 shape_str(t.shape()));
    for (std::size_t i = 0; i < shape.size(); ++i)
      ACTLAB_CHECK(static_cast<int>(i) == d || t.shape()[i] == first.shape()[i],
                   "cat: shapes {} and {} differ outside dim {}", shape_str(first.shape()), shape_str(t.shape()), d);
    sizes.push_back(t.shape()[d]);
    shape[d] += t.shape()[d];
  }
  Tensor out = Tensor::empty(shape, first.dtype());
  {
    NoGradGuard no_grad;
    std::int64_t start = 0;
    for (const auto& t : tensors) {
      out.narrow(d, start, t.shape()[d]).copy_(t);
      start += t.shape()[d];
    }
  }
  return record("cat", out, tensors, {}, [d, sizes](const Tensor& g, auto& needs) {
    Grads grads(sizes.size());
    std::int64_t start = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (needs[i]) grads[i] = g.narrow(d, start, sizes[i]);
      start += sizes[i];
    }
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  ACTLAB_CHECK(!tensors.empty(), "stack: needs at least one tensor");
  std::vector<Tensor> expanded;
  expanded.reserve(tensors.size());
  for (const auto& t : tensors) {
    ACTLAB_CHECK(t.shape() == tensors.front().shape(), "stack: shapes {} and {} differ",
                 shape_str(tensors.front().shape()), shape_str(t.shape()));
    expanded.push_back(t.unsqueeze(dim));
  }
  return cat(expanded, dim);
}

namespace {

// Index values checked against `size`; negative ones count from the end when allowed.
std::vector<std::int64_t> checked_indices(const Tensor& index, std::int64_t size, std::string_view op,
                                          bool allow_negative) {
  ACTLAB_CHECK(index.dtype() == kInt64, "{}: index must be int64, got {}", op, index.dtype());
  auto values = index.to_vector<std::int64_t>();
  const std::int64_t low = allow_negative ? -size : 0;
  for (auto& v : values) {
    ACTLAB_CHECK(v >= low && v < size, "{}: index {} is out of range for size {}", op, v, size);
    if (v < 0) v += size;
  }
  return values;
}

}  // namespace

Tensor Tensor::index_select(std::int64_t dim, const Tensor& index) const {
  const int d = normalize_dim(dim, shape().size(), "index_select");
  ACTLAB_CHECK(index.dim() == 1, "index_select: index must be 1-D, got shape {}", shape_str(index.shape()));
  const auto rows = checked_indices(index, shape()[d], "index_select", true);
  Shape out_shape = shape();
  out_shape[d] = static_cast<std::int64_t>(rows.size());
  Tensor out = Tensor::empty(out_shape, dtype());
  {
    NoGradGuard no_grad;
    for (std::size_t k = 0; k < rows.size(); ++k) out.select(d, static_cast<std::int64_t>(k)).copy_(select(d, rows[k]));
  }
  return record("index_select", out, {*this}, {}, [shape = shape(), d, rows](const Tensor& g, auto&) {
    Tensor grad = zeros(shape, g.dtype());
    for (std::size_t k = 0; k < rows.size(); ++k)
      grad.select(d, rows[k]).add_(g.select(d, static_cast<std::int64_t>(k)));
    return Grads{grad};
  });
}

namespace {

// Visits every element of `index` (any strides), calling fn(index_offset, self_offset_without_dim,
// position_along_dim_in_index).
template <typename Fn>
void for_each_index(const Tensor& index, const Strides& self_strides, int dim, Fn&& fn) {
  const Shape& shape = index.shape();
  const std::int64_t n = index.numel();
  std::vector<std::int64_t> counter(shape.size(), 0);
  for (std::int64_t linear = 0; linear < n; ++linear) {
    std::int64_t index_offset = 0, self_offset = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      index_offset += counter[d] * index.strides()[d];
      if (static_cast<int>(d) != dim) self_offset += counter[d] * self_strides[d];
    }
    fn(index_offset, self_offset);
    for (std::size_t d = shape.size(); d-- > 0;) {
      if (++counter[d] < shape[d]) break;
      counter[d] = 0;
    }
  }
}

void check_gather_shapes(const Tensor& self, const Tensor& index, int d, std::string_view op) {
  ACTLAB_CHECK(index.dtype() == kInt64, "{}: index must be int64, got {}", op, index.dtype());
  ACTLAB_CHECK(index.dim() == self.dim(), "{}: index of shape {} must have the rank of input shape {}", op,
               shape_str(index.shape()), shape_str(self.shape()));
  for (std::size_t i = 0; i < index.shape().size(); ++i)
    ACTLAB_CHECK(static_cast<int>(i) == d || index.shape()[i] <= self.shape()[i],
                 "{}: index shape {} exceeds input shape {} in dim {}", op, shape_str(index.shape()),
                 shape_str(self.shape()), i);
}

// grad[..., index[...], ...] += src[...] along `d` (gather's adjoint).
Tensor scatter_add(const Shape& shape, int d, const Tensor& index, const Tensor& src) {
  Tensor out = zeros(shape, src.dtype());
  const Tensor s = src.contiguous();
  const auto* idx = index.data<std::int64_t>();
  dispatch_floating(src.dtype(), "gather backward", [&]<typename T>() {
    T* o = out.data<T>();
    const T* v = s.data<T>();
    std::int64_t k = 0;
    for_each_index(index, out.strides(), d, [&](std::int64_t index_offset, std::int64_t out_offset) {
      o[out_offset + idx[index_offset] * out.strides()[d]] += v[k++];
    });
  });
  return out;
}

}  // namespace

Tensor Tensor::gather(std::int64_t dim, const Tensor& index) const {
  const int d = normalize_dim(dim, shape().size(), "gather");
  check_gather_shapes(*this, index, d, "gather");
  checked_indices(index, shape()[d], "gather", false);
  Tensor out = Tensor::empty(index.shape(), dtype());
  const auto* idx = index.data<std::int64_t>();
  dispatch_all(dtype(), [&]<typename T>() {
    T* o = out.data<T>();
    const T* src = data<T>();
    std::int64_t k = 0;
    for_each_index(index, strides(), d, [&](std::int64_t index_offset, std::int64_t self_offset) {
      o[k++] = src[self_offset + idx[index_offset] * strides()[d]];
    });
  });
  return record("gather", out, {*this}, {index}, [shape = shape(), d, index](const Tensor& g, auto&) {
    return Grads{scatter_add(shape, d, index, g)};
  });
}

}  // namespace actlab
