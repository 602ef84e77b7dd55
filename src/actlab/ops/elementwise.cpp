// Elementwise ops: arithmetic, math functions, comparisons, where, copies and in-place updates.
// Each differentiable op records its backward right after its forward.
#include "actlab/ops/elementwise.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "actlab/autograd/grad_mode.h"
#include "actlab/autograd/node.h"

namespace actlab {
namespace ops {

DType promote(DType a, DType b) {
  auto rank = [](DType d) {
    switch (d) {
      case DType::UInt8: return 0;
      case DType::Int64: return 1;
      case DType::Float32: return 2;
      case DType::Float64: return 3;
    }
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace ops

using autograd::record;
using ops::map_floating;
using ops::zip;
using Grads = std::vector<Tensor>;

namespace {

// Converts both operands to their common dtype (float32 at least when `floating`).
std::pair<Tensor, Tensor> promoted(const Tensor& a, const Tensor& b, bool floating = false) {
  DType common = ops::promote(a.dtype(), b.dtype());
  if (floating && !is_floating(common)) common = kFloat32;
  return {a.to(common), b.to(common)};
}

// A scalar operand in the dtype an op with `t` computes in.
Tensor scalar_like(const Tensor& t, double value) {
  const bool integral = value == std::floor(value) && std::abs(value) < 9.0e15;
  return scalar_tensor(value, is_floating(t.dtype()) || !integral ? ops::promote(t.dtype(), kFloat32) : t.dtype());
}

// Every in-place op starts here: it refuses a tensor autograd tracks and counts the write.
void check_inplace(const Tensor& self, std::string_view op) {
  ACTLAB_CHECK(!(grad_enabled() && self.requires_grad()),
               "{}: in-place update of a tensor that requires grad would corrupt autograd; "
               "wrap the update in actlab::NoGradGuard (as optimizers do) or use the out-of-place op",
               op);
  self.bump_version();
}

}  // namespace

// ---- arithmetic ----

Tensor operator+(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0);
  Tensor out = zip(a, b, "add", [](auto x, auto y) { return x + y; }, true);
  return record("add", out, {a, b}, {}, [sa = a.shape(), sb = b.shape()](const Tensor& g, auto&) {
    return Grads{g.sum_to(sa), g.sum_to(sb)};
  });
}

Tensor operator-(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0);
  Tensor out = zip(a, b, "sub", [](auto x, auto y) { return x - y; }, true);
  return record("sub", out, {a, b}, {}, [sa = a.shape(), sb = b.shape()](const Tensor& g, auto& needs) {
    return Grads{g.sum_to(sa), needs[1] ? (-g).sum_to(sb) : Tensor()};
  });
}

Tensor operator*(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0);
  Tensor out = zip(a, b, "mul", [](auto x, auto y) { return x * y; }, true);
  return record("mul", out, {a, b}, [a = a.detach(), b = b.detach()](const Tensor& g, auto& needs) {
    return Grads{needs[0] ? (g * b).sum_to(a.shape()) : Tensor(), needs[1] ? (g * a).sum_to(b.shape()) : Tensor()};
  });
}

Tensor operator/(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0, /*floating=*/true);
  Tensor out = zip(a, b, "div", [](auto x, auto y) { return x / y; });
  return record("div", out, {a, b}, [sa = a.shape(), b = b.detach(), out = out.detach()](const Tensor& g, auto& needs) {
    const Tensor ga = g / b;
    return Grads{needs[0] ? ga.sum_to(sa) : Tensor(), needs[1] ? (-ga * out).sum_to(b.shape()) : Tensor()};
  });
}

Tensor operator-(const Tensor& a) {
  Tensor out = Tensor::empty(a.shape(), a.dtype());
  dispatch_all(a.dtype(), [&]<typename T>() {
    ops::for_each_row<2>(out.shape(), {&out, &a}, [&](auto p, auto s, std::int64_t n) {
      T* o = reinterpret_cast<T*>(p[0]);
      const T* x = reinterpret_cast<const T*>(p[1]);
      for (std::int64_t i = 0; i < n; ++i) o[i * s[0]] = static_cast<T>(-x[i * s[1]]);
    });
  });
  return record("neg", out, {a}, {}, [](const Tensor& g, auto&) { return Grads{-g}; });
}

Tensor operator+(const Tensor& a, double b) { return a + scalar_like(a, b); }
Tensor operator-(const Tensor& a, double b) { return a - scalar_like(a, b); }
Tensor operator*(const Tensor& a, double b) { return a * scalar_like(a, b); }
Tensor operator/(const Tensor& a, double b) { return a / scalar_like(a, b); }
Tensor operator+(double a, const Tensor& b) { return scalar_like(b, a) + b; }
Tensor operator-(double a, const Tensor& b) { return scalar_like(b, a) - b; }
Tensor operator*(double a, const Tensor& b) { return scalar_like(b, a) * b; }
Tensor operator/(double a, const Tensor& b) { return scalar_like(b, a) / b; }

Tensor Tensor::neg() const { return -*this; }

// ---- math functions ----

Tensor Tensor::exp() const {
  Tensor out = map_floating(*this, "exp", [](auto v) { return std::exp(v); });
  return record("exp", out, {*this}, [out = out.detach()](const Tensor& g, auto&) { return Grads{g * out}; });
}

Tensor Tensor::log() const {
  Tensor out = map_floating(*this, "log", [](auto v) { return std::log(v); });
  return record("log", out, {*this}, [x = detach()](const Tensor& g, auto&) { return Grads{g / x}; });
}

Tensor Tensor::sqrt() const {
  Tensor out = map_floating(*this, "sqrt", [](auto v) { return std::sqrt(v); });
  return record("sqrt", out, {*this},
                [out = out.detach()](const Tensor& g, auto&) { return Grads{g * 0.5 / out}; });
}

Tensor Tensor::abs() const {
  Tensor out = map_floating(*this, "abs", [](auto v) { return std::abs(v); });
  return record("abs", out, {*this}, [x = detach()](const Tensor& g, auto&) {
    // d|x|/dx = sign(x), 0 at 0 (as PyTorch).
    return Grads{g * map_floating(x, "sign", [](auto v) { return static_cast<decltype(v)>((v > 0) - (v < 0)); })};
  });
}

Tensor Tensor::square() const {
  Tensor out = map_floating(*this, "square", [](auto v) { return v * v; });
  return record("square", out, {*this}, [x = detach()](const Tensor& g, auto&) { return Grads{g * x * 2.0}; });
}

Tensor Tensor::pow(double exponent) const {
  Tensor out = map_floating(*this, "pow", [exponent](auto v) {
    return static_cast<decltype(v)>(std::pow(v, static_cast<decltype(v)>(exponent)));
  });
  return record("pow", out, {*this}, [x = detach(), exponent](const Tensor& g, auto&) {
    return Grads{exponent == 0.0 ? zeros_like(g) : g * x.pow(exponent - 1.0) * exponent};
  });
}

Tensor Tensor::pow(const Tensor& exponent) const {
  auto [base, power] = promoted(*this, exponent, /*floating=*/true);
  Tensor out = zip(base, power, "pow", [](auto x, auto y) { return std::pow(x, y); });
  return record("pow", out, {base, power},
                [base = base.detach(), power = power.detach(), out = out.detach()](const Tensor& g, auto& needs) {
                  return Grads{needs[0] ? (g * power * base.pow(power - 1.0)).sum_to(base.shape()) : Tensor(),
                               needs[1] ? (g * out * base.log()).sum_to(power.shape()) : Tensor()};
                });
}

Tensor Tensor::clamp(double min, double max) const {
  ACTLAB_CHECK(!(min > max), "clamp: min {} is greater than max {}", min, max);
  Tensor out = map_floating(*this, "clamp", [min, max](auto v) {
    using T = decltype(v);
    return std::isnan(v) ? v : std::min(std::max(v, static_cast<T>(min)), static_cast<T>(max));
  });
  return record("clamp", out, {*this}, [x = detach(), min, max](const Tensor& g, auto&) {
    // Gradient passes where min <= x <= max (as PyTorch).
    return Grads{g * map_floating(x, "clamp_backward", [min, max](auto v) {
                   return static_cast<decltype(v)>(v >= min && v <= max);
                 })};
  });
}

Tensor Tensor::clamp_min(double min) const { return clamp(min, std::numeric_limits<double>::infinity()); }
Tensor Tensor::clamp_max(double max) const { return clamp(-std::numeric_limits<double>::infinity(), max); }

namespace {

// maximum/minimum: the gradient goes to the selected operand; ties split it evenly (as PyTorch).
Tensor select_extremum(const Tensor& a0, const Tensor& b0, bool take_max) {
  auto [a, b] = promoted(a0, b0);
  const char* name = take_max ? "maximum" : "minimum";
  Tensor out = zip(a, b, name, [take_max](auto x, auto y) {
    if (std::isnan(static_cast<double>(x)) || std::isnan(static_cast<double>(y))) return x != x ? x : y;
    return take_max ? std::max(x, y) : std::min(x, y);
  }, true);
  return record(name, out, {a, b}, [a = a.detach(), b = b.detach(), take_max](const Tensor& g, auto& needs) {
    const Tensor share = zip(a, b, "extremum_backward", [take_max](auto x, auto y) {
      using T = decltype(x);
      if (x == y) return static_cast<T>(0.5);
      return static_cast<T>(take_max ? x > y : x < y);
    });
    return Grads{needs[0] ? (g * share).sum_to(a.shape()) : Tensor(),
                 needs[1] ? (g * (1.0 - share)).sum_to(b.shape()) : Tensor()};
  });
}

template <typename Cmp>
Tensor compare(const Tensor& a0, const Tensor& b0, std::string_view name, Cmp cmp) {
  Tensor a, b;  // not a structured binding: clang cannot capture those in OpenMP regions
  std::tie(a, b) = promoted(a0, b0);
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), name), kUInt8);
  dispatch_all(a.dtype(), [&]<typename T>() {
    ops::for_each_row<3>(out.shape(), {&out, &a, &b}, [&](auto p, auto s, std::int64_t n) {
      auto* o = reinterpret_cast<std::uint8_t*>(p[0]);
      const T* x = reinterpret_cast<const T*>(p[1]);
      const T* y = reinterpret_cast<const T*>(p[2]);
      for (std::int64_t i = 0; i < n; ++i) o[i * s[0]] = cmp(x[i * s[1]], y[i * s[2]]) ? 1 : 0;
    });
  });
  return out;
}

}  // namespace

Tensor Tensor::maximum(const Tensor& other) const { return select_extremum(*this, other, true); }
Tensor Tensor::minimum(const Tensor& other) const { return select_extremum(*this, other, false); }
Tensor maximum(const Tensor& a, const Tensor& b) { return a.maximum(b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return a.minimum(b); }

Tensor Tensor::eq(const Tensor& o) const { return compare(*this, o, "eq", [](auto x, auto y) { return x == y; }); }
Tensor Tensor::ne(const Tensor& o) const { return compare(*this, o, "ne", [](auto x, auto y) { return x != y; }); }
Tensor Tensor::lt(const Tensor& o) const { return compare(*this, o, "lt", [](auto x, auto y) { return x < y; }); }
Tensor Tensor::le(const Tensor& o) const { return compare(*this, o, "le", [](auto x, auto y) { return x <= y; }); }
Tensor Tensor::gt(const Tensor& o) const { return compare(*this, o, "gt", [](auto x, auto y) { return x > y; }); }
Tensor Tensor::ge(const Tensor& o) const { return compare(*this, o, "ge", [](auto x, auto y) { return x >= y; }); }

Tensor where(const Tensor& condition, const Tensor& a0, const Tensor& b0) {
  ACTLAB_CHECK(condition.dtype() == kUInt8, "where: condition must be a uint8 mask (from a comparison), got {}",
               condition.dtype());
  Tensor a, b;
  std::tie(a, b) = promoted(a0, b0);
  const Shape shape = broadcast_shapes(condition.shape(), broadcast_shapes(a.shape(), b.shape(), "where"), "where");
  Tensor out = Tensor::empty(shape, a.dtype());
  dispatch_all(a.dtype(), [&]<typename T>() {
    ops::for_each_row<4>(shape, {&out, &condition, &a, &b}, [&](auto p, auto s, std::int64_t n) {
      T* o = reinterpret_cast<T*>(p[0]);
      const auto* c = reinterpret_cast<const std::uint8_t*>(p[1]);
      const T* x = reinterpret_cast<const T*>(p[2]);
      const T* y = reinterpret_cast<const T*>(p[3]);
      for (std::int64_t i = 0; i < n; ++i) o[i * s[0]] = c[i * s[1]] ? x[i * s[2]] : y[i * s[3]];
    });
  });
  return record("where", out, {a, b}, {condition}, [c = condition.detach(), sa = a.shape(), sb = b.shape()](const Tensor& g, auto& needs) {
    const Tensor zero = zeros({}, g.dtype());
    return Grads{needs[0] ? where(c, g, zero).sum_to(sa) : Tensor(), needs[1] ? where(c, zero, g).sum_to(sb) : Tensor()};
  });
}

// ---- copies ----

Tensor& Tensor::copy_(const Tensor& source) {
  check_inplace(*this, "copy_");
  ACTLAB_CHECK(broadcast_shapes(source.shape(), shape(), "copy_") == shape(),
               "copy_: source of shape {} does not broadcast to destination shape {}", shape_str(source.shape()),
               shape_str(shape()));
  dispatch_all(dtype(), [&]<typename D>() {
    const bool stream = ops::stream_output<D>(*this);
    dispatch_all(source.dtype(), [&]<typename S>() {
      ops::for_each_row<2>(shape(), {this, &source}, [&](auto p, auto s, std::int64_t n) {
        D* o = reinterpret_cast<D*>(p[0]);
        const S* x = reinterpret_cast<const S*>(p[1]);
        if (s[0] == 1 && s[1] == 1) {
          if constexpr (std::is_same_v<D, S>)
            copy_row(o, x, n, stream);
          else
            write_row<D>(o, n, stream, [&](std::int64_t i, std::int64_t) { return static_cast<D>(x[i]); }, x);
        } else {
          for (std::int64_t i = 0; i < n; ++i) o[i * s[0]] = static_cast<D>(x[i * s[1]]);
        }
      });
    });
  });
  return *this;
}

Tensor& Tensor::fill_(double value) {
  check_inplace(*this, "fill_");
  dispatch_all(dtype(), [&]<typename T>() {
    const T v = static_cast<T>(value);
    ops::for_each_row<1>(shape(), {this}, [&](auto p, auto s, std::int64_t n) {
      T* o = reinterpret_cast<T*>(p[0]);
      if (s[0] == 1) {
        std::fill(o, o + n, v);
      } else {
        for (std::int64_t i = 0; i < n; ++i) o[i * s[0]] = v;
      }
    });
  });
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), dtype());
  {
    NoGradGuard no_grad;
    out.copy_(*this);
  }
  return record("clone", out, {*this}, {}, [](const Tensor& g, auto&) { return Grads{g}; });
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = Tensor::empty(shape(), target);
  {
    NoGradGuard no_grad;
    out.copy_(*this);
  }
  if (!is_floating(target)) return out;
  return record("to", out, {*this}, {}, [source = dtype()](const Tensor& g, auto&) { return Grads{g.to(source)}; });
}

// ---- in place ----

namespace {

template <typename Op>
Tensor& update_inplace(Tensor& self, const Tensor& other0, std::string_view name, Op op) {
  check_inplace(self, name);
  const Tensor other = other0.to(self.dtype());
  ACTLAB_CHECK(broadcast_shapes(other.shape(), self.shape(), name) == self.shape(),
               "{}: operand of shape {} does not broadcast to the updated tensor's shape {}", name,
               shape_str(other.shape()), shape_str(self.shape()));
  dispatch_all(self.dtype(), [&]<typename T>() {
    ops::for_each_row<2>(self.shape(), {&self, &other}, [&](auto p, auto s, std::int64_t n) {
      T* o = reinterpret_cast<T*>(p[0]);
      const T* x = reinterpret_cast<const T*>(p[1]);
      if (s[0] == 1 && s[1] == 1) {
        for (std::int64_t i = 0; i < n; ++i) o[i] = op(o[i], x[i]);
      } else {
        for (std::int64_t i = 0; i < n; ++i) o[i * s[0]] = op(o[i * s[0]], x[i * s[1]]);
      }
    });
  });
  return self;
}

}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  if (alpha == 1.0) return update_inplace(*this, other, "add_", [](auto x, auto y) { return x + y; });
  return update_inplace(*this, other, "add_", [alpha](auto x, auto y) {
    return static_cast<decltype(x)>(x + static_cast<decltype(x)>(alpha) * y);
  });
}
Tensor& Tensor::add_(double value) { return add_(scalar_tensor(value, dtype())); }
Tensor& Tensor::sub_(const Tensor& other) { return update_inplace(*this, other, "sub_", [](auto x, auto y) { return x - y; }); }
Tensor& Tensor::mul_(const Tensor& other) { return update_inplace(*this, other, "mul_", [](auto x, auto y) { return x * y; }); }
Tensor& Tensor::mul_(double value) { return mul_(scalar_tensor(value, dtype())); }
Tensor& Tensor::div_(const Tensor& other) { return update_inplace(*this, other, "div_", [](auto x, auto y) { return x / y; }); }

Tensor& Tensor::clamp_(double min, double max) {
  check_inplace(*this, "clamp_");
  Tensor clamped = clamp(min, max);
  return copy_(clamped);
}

}  // namespace actlab
