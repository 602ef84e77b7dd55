// Sequential, Residual and Dropout: modules that compose others or need no kernel of their own.
#include <any>

#include "actlab/autograd/node.h"
#include "actlab/core/parallel.h"
#include "actlab/nn/layers.h"

namespace actlab::nn {

Sequential::Sequential(std::initializer_list<AnyModule> modules) : Module("Sequential") {
  for (const auto& m : modules) push_back(m);
}

Sequential& Sequential::push_back(AnyModule module) {
  register_module(std::to_string(modules_.size()), module.ptr());
  modules_.push_back(std::move(module));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  std::any value = x;
  for (const auto& m : modules_) value = m(value);
  const auto* out = std::any_cast<Tensor>(&value);
  ACTLAB_CHECK(out != nullptr,
               "Sequential: its last module, '{}' ({}), returns {}, but a Sequential returns a Tensor; end it with a "
               "module that returns one",
               modules_.size() - 1, modules_.back()->type_name(), type_label(value.type()));
  return *out;
}

Residual::Residual(std::shared_ptr<Module> body_module, std::shared_ptr<Module> shortcut_module)
    : Module("Residual"), body(register_module("body", std::move(body_module))) {
  if (shortcut_module) shortcut = register_module("shortcut", std::move(shortcut_module));
}

Tensor Residual::forward(const Tensor& x) {
  const Tensor main = (*body)(x);
  const Tensor skip = shortcut ? (*shortcut)(x) : x;
  ACTLAB_CHECK(main.shape() == skip.shape(),
               "Residual: the body gives {} but the shortcut gives {}; add a shortcut module (e.g. a 1x1 Conv2d with "
               "the body's stride) to match them",
               shape_str(main.shape()), shape_str(skip.shape()));
  return main + skip;
}

namespace functional {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  ACTLAB_CHECK(p >= 0 && p < 1, "dropout: p must be in [0, 1), got {}", p);
  if (!training || p == 0) return x;
  const Tensor uniform = rand(x.shape(), gen, kFloat32);
  const Tensor xc = x.detach().contiguous();
  // The kept elements' scale, or 0: one tensor serves forward and backward.
  Tensor mask = Tensor::empty(x.shape(), x.dtype());
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "dropout", [&]<typename T>() {
    const float* u = uniform.data<float>();
    const T* in = xc.data<T>();
    T* m = mask.data<T>();
    T* o = out.data<T>();
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    const float threshold = static_cast<float>(p);
    parallel_for(0, x.numel(), kParallelGrain, [&](std::int64_t i0, std::int64_t i1) {
#pragma omp simd
      for (std::int64_t i = i0; i < i1; ++i) {
        m[i] = u[i] >= threshold ? scale : T(0);
        o[i] = in[i] * m[i];
      }
    });
  });
  return autograd::record("dropout", out, {x}, [mask](const Tensor& g, auto&) { return std::vector<Tensor>{g * mask}; });
}

}  // namespace functional

Dropout::Dropout(double probability, std::uint64_t seed) : Module("Dropout"), p(probability), generator(seed) {
  register_generator("generator", generator);
  ACTLAB_CHECK(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got {}", p);
}

Tensor Dropout::forward(const Tensor& x) { return functional::dropout(x, p, is_training(), generator); }

std::string Dropout::extra_repr() const { return fmt::format("p={}", p); }

}  // namespace actlab::nn
