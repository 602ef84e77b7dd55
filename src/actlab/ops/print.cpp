// Printing in the familiar form: tensor([[1.0000, 2.0000], ...], dtype=float32).
#include <ostream>
#include <sstream>

#include "actlab/core/tensor.h"

namespace actlab {
namespace {

constexpr std::int64_t kSummarizeAbove = 1000;
constexpr std::int64_t kEdgeItems = 3;

void print_dim(std::ostream& os, const Tensor& t, std::size_t dim, std::int64_t offset, bool summarize,
               int indent) {
  const std::int64_t n = t.shape()[dim];
  os << '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
      os << "...";
      i = n - kEdgeItems - 1;
      os << (dim + 1 == t.shape().size() ? ", " : ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
      continue;
    }
    const std::int64_t at = offset + i * t.strides()[dim];
    if (dim + 1 == t.shape().size()) {
      dispatch_all(t.dtype(), [&]<typename T>() {
        const T v = static_cast<const T*>(static_cast<const void*>(t.impl()->storage->data()))[at];
        if constexpr (std::is_floating_point_v<T>)
          os << fmt::format("{:.4f}", v);
        else
          os << static_cast<std::int64_t>(v);
      });
    } else {
      print_dim(os, t, dim + 1, at, summarize, indent + 1);
    }
    if (i + 1 < n)
      os << (dim + 1 == t.shape().size() ? ", " : ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
  }
  os << ']';
}

}  // namespace

std::string Tensor::to_string() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  os << "tensor(";
  if (t.dim() == 0) {
    const Tensor one = t.reshape({1});
    print_dim(os, one, 0, one.offset(), false, 7);
  } else {
    print_dim(os, t, 0, t.offset(), t.numel() > kSummarizeAbove, 7);
  }
  os << ", dtype=" << dtype_name(t.dtype());
  if (t.requires_grad()) os << ", requires_grad";
  return os << ')';
}

}  // namespace actlab
