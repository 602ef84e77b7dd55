// Writing an activation: a kernel struct K holds the parameters and says, once, for every V
// (float, double, simd::Vec16):
//
//   struct Elu {
//     static constexpr std::string_view kName = "elu";
//     double alpha = 1.0;
//     static ActivationInfo info();                                  // metadata, params, formula
//     static Elu from(const std::vector<double>& p) { return {p[0]}; }  // only if it has params
//     void check() const;                                            // optional: reject bad params
//     template <class V> V forward(V x) const;
//     template <class V> V derivative(V x) const;                    // f'(x)
//     double gain() const;                                           // optional, see ActivationBase
//   };
//
// apply_pointwise(Elu{0.5}, x) runs it on a tensor (autograd-aware): float32 through the vector
// kernel, float64 through the scalar one, threaded above kParallelGrain elements. Backward is one
// fused pass, grad_in = grad_out * f'(x), and NaN where x is NaN. pointwise_definition<Elu>()
// is what the registry stores.
//
// The built-in kernels live in namespace activations::kernels, and their files are compiled once
// per instruction-set level (core/cpu.h): ACTLAB_POINTWISE_KERNEL(Elu) there instantiates Elu's
// float32 loops for each level, and the active level's run. Any other kernel (one of yours) runs
// the vector loop of the level its own file is compiled for.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "actlab/activations/activation.h"
#include "actlab/activations/simd.h"
#include "actlab/autograd/node.h"
#include "actlab/core/cpu.h"
#include "actlab/core/parallel.h"
#include "actlab/core/streaming.h"

namespace actlab {

// While alive, activation kernels started on this thread run their scalar reference loop instead
// of the vector kernel (tests compare the two; useful when chasing a numerical difference).
class ReferenceKernelsGuard {
 public:
  ReferenceKernelsGuard();
  ~ReferenceKernelsGuard();
  ReferenceKernelsGuard(const ReferenceKernelsGuard&) = delete;
  ReferenceKernelsGuard& operator=(const ReferenceKernelsGuard&) = delete;

 private:
  bool previous_;
};
bool reference_kernels_enabled();

// Shared by every registered activation: metadata, parameter values, spec string and gain.
class ActivationBase : public ActivationFunction {
 public:
  ActivationBase(const ActivationInfo& info, std::vector<double> values) : info_(info), values_(std::move(values)) {}
  const ActivationInfo& info() const override { return info_; }
  std::string spec() const override;
  // The variance-preserving gain 1 / sqrt(E[f(z)^2]), z ~ N(0, 1) (sqrt(2) for ReLU), for
  // activations PyTorch's calculate_gain does not know.
  double gain() const override;
  const std::vector<double>& values() const { return values_; }

 private:
  const ActivationInfo& info_;
  std::vector<double> values_;
};

namespace activations {

// Calls fn.template operator()<V>() with V = simd::Vec for float (unless reference kernels are
// on), else V = T: the one switch between the vector kernel and the scalar reference.
template <class T, class Fn>
void with_vector_type(bool vectorize, Fn fn) {
  if constexpr (std::is_same_v<T, float>) {
    if (vectorize) return fn.template operator()<simd::Vec>();
  }
  (void)vectorize;
  fn.template operator()<T>();
}

// out[i] = fn(in[0][i], in[1][i], ...) over n contiguous elements, in blocks of V; through
// write_row, so outputs beyond the cache are streamed.
template <class V, class T, class Fn, class... In>
void map_elements_as(std::int64_t n, T* out, Fn fn, const In*... in) {
  const bool stream = stream_output(n * static_cast<std::int64_t>(sizeof(T)));
  parallel_for(0, n, kParallelGrain, [&](std::int64_t begin, std::int64_t end) {
    // By value: the loop then owns fn and the kernel's parameters in it, which its vector stores
    // (may_alias) would otherwise force it to reload every iteration.
    write_row<V>(out + begin, end - begin, stream, [=](std::int64_t i, std::int64_t remaining) {
      return fn(simd::load_n<V>(in + begin + i, remaining)...);
    }, (in + begin)...);
  });
}

// map_elements_as in simd::Vec blocks for float unless reference kernels are on.
template <class T, class Fn, class... In>
void map_elements(std::int64_t n, T* out, Fn fn, const In*... in) {
  with_vector_type<T>(!reference_kernels_enabled(), [&]<class V>() { map_elements_as<V>(n, out, fn, in...); });
}

// The float32 loops of kernel K at one level: out = f(x), and out = g f'(x) (NaN where x is NaN).
#define ACTLAB_DECLARE_POINTWISE_LOOPS(level)                                                            \
  namespace level {                                                                                      \
  template <class K>                                                                                     \
  struct PointwiseLoops {                                                                                \
    static void forward(const K& kernel, std::int64_t n, float* out, const float* x);                    \
    static void backward(const K& kernel, std::int64_t n, float* out, const float* x, const float* g);   \
  };                                                                                                     \
  }
ACTLAB_DECLARE_POINTWISE_LOOPS(avx512)
ACTLAB_DECLARE_POINTWISE_LOOPS(avx2)
ACTLAB_DECLARE_POINTWISE_LOOPS(baseline)
#undef ACTLAB_DECLARE_POINTWISE_LOOPS

template <class K, class V>
V backward_value(const K& kernel, V x, V g) {
  return simd::select(simd::is_nan(x), x, g * kernel.derivative(x));
}

// This file's level: the loops, defined (see ACTLAB_POINTWISE_KERNEL).
template <class K>
void ACTLAB_ISA::PointwiseLoops<K>::forward(const K& kernel, std::int64_t n, float* out, const float* x) {
  map_elements_as<simd::Vec>(n, out, [kernel](simd::Vec v) { return kernel.forward(v); }, x);
}
template <class K>
void ACTLAB_ISA::PointwiseLoops<K>::backward(const K& kernel, std::int64_t n, float* out, const float* x,
                                             const float* g) {
  map_elements_as<simd::Vec>(n, out, [kernel](simd::Vec v, simd::Vec gv) { return backward_value(kernel, v, gv); }, x, g);
}

namespace kernels {
// Marks the kernels of this namespace as compiled per level (found by argument-dependent lookup).
template <class K> std::true_type compiled_per_level(const K*);
}  // namespace kernels
template <class K>
concept CompiledPerLevel = requires(const K* kernel) { compiled_per_level(kernel); };

// out = f(x) over n elements of T: the active level's loops for a built-in kernel and float,
// else this file's.
template <class K, class T>
void forward_elements(const K& kernel, std::int64_t n, T* out, const T* x) {
  if constexpr (CompiledPerLevel<K> && std::is_same_v<T, float>) {
    if (!reference_kernels_enabled()) {
      ACTLAB_ISA_DISPATCH(activations, PointwiseLoops<K>::forward(kernel, n, out, x));
      return;
    }
  }
  map_elements(n, out, [kernel](auto v) { return kernel.forward(v); }, x);
}
template <class K, class T>
void backward_elements(const K& kernel, std::int64_t n, T* out, const T* x, const T* g) {
  if constexpr (CompiledPerLevel<K> && std::is_same_v<T, float>) {
    if (!reference_kernels_enabled()) {
      ACTLAB_ISA_DISPATCH(activations, PointwiseLoops<K>::backward(kernel, n, out, x, g));
      return;
    }
  }
  map_elements(n, out, [kernel](auto v, auto gv) { return backward_value(kernel, v, gv); }, x, g);
}

template <class K>
void check_kernel(const K& kernel) {
  if constexpr (requires { kernel.check(); }) kernel.check();
}

// grad_in = grad_out * f'(x) in one pass; NaN where x is NaN.
template <class K>
Tensor pointwise_backward(const K& kernel, const Tensor& x, const Tensor& grad_output) {
  const Tensor g = grad_output.to(x.dtype()).contiguous();
  Tensor grad_input = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), K::kName, [&]<class T>() {
    backward_elements(kernel, x.numel(), grad_input.data<T>(), x.data<T>(), g.data<T>());
  });
  return grad_input;
}

}  // namespace activations

// Applies kernel K elementwise (autograd-aware). Throws Error for a non-float tensor or bad
// parameters.
template <class K>
Tensor apply_pointwise(const K& kernel, const Tensor& input) {
  activations::check_kernel(kernel);
  const Tensor x = input.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), K::kName, [&]<class T>() {
    activations::forward_elements(kernel, x.numel(), y.data<T>(), x.data<T>());
  });
  return autograd::record(std::string(K::kName), y, {input}, [kernel, x = x.detach()](const Tensor& g, auto&) {
    return std::vector<Tensor>{activations::pointwise_backward(kernel, x, g)};
  });
}

// An ActivationFunction around kernel K.
template <class K>
class PointwiseActivation final : public ActivationBase {
 public:
  PointwiseActivation(const ActivationInfo& info, std::vector<double> values)
      : ActivationBase(info, values), kernel_(make_kernel(values)) {
    activations::check_kernel(kernel_);
  }
  Tensor forward(const Tensor& x) override { return apply_pointwise(kernel_, x); }
  double gain() const override {
    if constexpr (requires { kernel_.gain(); })
      return kernel_.gain();
    else
      return ActivationBase::gain();
  }

 private:
  static K make_kernel(const std::vector<double>& values) {
    if constexpr (requires { K::from(values); })
      return K::from(values);
    else
      return K{};
  }
  K kernel_;
};

template <class K>
ActivationDefinition pointwise_definition() {
  return {K::info(), [](const ActivationInfo& info, std::vector<double> values) -> std::unique_ptr<ActivationFunction> {
            return std::make_unique<PointwiseActivation<K>>(info, std::move(values));
          }};
}

}  // namespace actlab

// Instantiates kernel K's float32 loops (in namespace activations::kernels) for the level this
// file is compiled for; the build compiles the file once per level.
#define ACTLAB_POINTWISE_KERNEL(K) template struct ::actlab::activations::ACTLAB_ISA::PointwiseLoops<K>
