// Matrix products through BLAS (OpenBLAS, sharing actlab's OpenMP pool).
//
// Transposed views are handed to BLAS as transposed operands, so backward's A^T and B^T cost no
// copy; only layouts BLAS cannot express (e.g. a sliced column) are copied first.
#include <optional>

#include "actlab/autograd/node.h"
#include "actlab/ops/elementwise.h"
#include "actlab/ops/gemm.h"

namespace actlab {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

struct MatrixLayout {
  bool transposed;
  std::int64_t ld;
};

// How BLAS can read a [rows, cols] matrix with strides (rs, cs), if it can.
std::optional<MatrixLayout> blas_layout(std::int64_t rows, std::int64_t cols, std::int64_t rs, std::int64_t cs) {
  // The stride of a size-1 dim is meaningless: use the one BLAS expects.
  if (cols == 1) cs = 1;
  if (rows == 1) rs = std::max<std::int64_t>(cols, 1);
  if (cs == 1 && rs >= std::max<std::int64_t>(cols, 1)) return MatrixLayout{false, rs};
  if (rs == 1 && cs >= std::max<std::int64_t>(rows, 1)) return MatrixLayout{true, cs};
  return std::nullopt;
}

// A view BLAS can read: the tensor itself, or a contiguous copy when its last two dims' strides
// are not expressible (batch dims may keep any strides, including broadcast zeros).
Tensor blas_readable(const Tensor& t) {
  const std::int64_t r = t.dim();
  if (blas_layout(t.shape()[r - 2], t.shape()[r - 1], t.strides()[r - 2], t.strides()[r - 1])) return t;
  return t.contiguous();
}

Tensor matmul_forward(const Tensor& a0, const Tensor& b0) {
  const std::int64_t ra = a0.dim(), rb = b0.dim();
  const std::int64_t n = a0.shape()[ra - 2], k = a0.shape()[ra - 1], m = b0.shape()[rb - 1];
  const Shape batch = broadcast_shapes(Shape(a0.shape().begin(), a0.shape().end() - 2),
                                       Shape(b0.shape().begin(), b0.shape().end() - 2), "matmul");
  Shape shape_a = batch, shape_b = batch, shape_c = batch;
  shape_a.insert(shape_a.end(), {n, k});
  shape_b.insert(shape_b.end(), {k, m});
  shape_c.insert(shape_c.end(), {n, m});
  const Tensor a = blas_readable(a0.detach()).expand(shape_a);
  const Tensor b = blas_readable(b0.detach()).expand(shape_b);
  Tensor c = Tensor::empty(shape_c, a.dtype());
  if (c.numel() == 0) return c;
  if (k == 0) return c.zero_();
  const std::size_t nb = batch.size();
  const auto la = *blas_layout(n, k, a.strides()[nb], a.strides()[nb + 1]);
  const auto lb = *blas_layout(k, m, b.strides()[nb], b.strides()[nb + 1]);
  const std::int64_t batches = numel_of(batch);
  dispatch_floating(a.dtype(), "matmul", [&]<typename T>() {
    std::vector<std::int64_t> counter(nb, 0);
    for (std::int64_t i = 0; i < batches; ++i) {
      std::int64_t off_a = 0, off_b = 0;
      for (std::size_t d = 0; d < nb; ++d) {
        off_a += counter[d] * a.strides()[d];
        off_b += counter[d] * b.strides()[d];
      }
      ops::gemm<T>(la.transposed, lb.transposed, n, m, k, T(1), a.data<T>() + off_a, la.ld, b.data<T>() + off_b, lb.ld,
                   T(0), c.data<T>() + i * n * m, m);
      for (std::size_t d = nb; d-- > 0;) {
        if (++counter[d] < batch[d]) break;
        counter[d] = 0;
      }
    }
  });
  return c;
}

}  // namespace

Tensor Tensor::matmul(const Tensor& other) const {
  ACTLAB_CHECK(dim() >= 1 && other.dim() >= 1, "matmul: needs tensors of rank >= 1, got {} x {}", shape_str(shape()),
               shape_str(other.shape()));
  if (dim() == 1 && other.dim() == 1) return unsqueeze(0).matmul(other.unsqueeze(-1)).reshape({});
  if (dim() == 1) return unsqueeze(0).matmul(other).squeeze(-2);
  if (other.dim() == 1) return matmul(other.unsqueeze(-1)).squeeze(-1);
  ACTLAB_CHECK(dtype() == other.dtype(), "matmul: {} x {}: dtypes differ ({} vs {})", shape_str(shape()),
               shape_str(other.shape()), dtype(), other.dtype());
  ACTLAB_CHECK(is_floating(dtype()), "matmul: {} x {}: needs float32 or float64, got {}", shape_str(shape()),
               shape_str(other.shape()), dtype());
  ACTLAB_CHECK(size(-1) == other.size(-2), "matmul: {} x {}: inner dims differ ({} vs {})", shape_str(shape()),
               shape_str(other.shape()), size(-1), other.size(-2));
  Tensor out = matmul_forward(*this, other);
  return record("matmul", out, {*this, other}, [a = detach(), b = other.detach()](const Tensor& g, auto& needs) {
    return Grads{needs[0] ? g.matmul(b.transpose(-1, -2)).sum_to(a.shape()) : Tensor(),
                 needs[1] ? a.transpose(-1, -2).matmul(g).sum_to(b.shape()) : Tensor()};
  });
}

Tensor matmul(const Tensor& a, const Tensor& b) { return a.matmul(b); }

}  // namespace actlab
