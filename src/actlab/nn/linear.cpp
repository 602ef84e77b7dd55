// Linear: forward and backward are three GEMMs and a column sum.
#include "actlab/autograd/node.h"
#include "actlab/ops/gemm.h"
#include "actlab/nn/init.h"
#include "actlab/nn/layers.h"

namespace actlab::nn {

using Grads = std::vector<Tensor>;

namespace functional {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  ACTLAB_CHECK(weight.dim() == 2, "linear: weight must be [out, in], got shape {}", shape_str(weight.shape()));
  const std::int64_t out_features = weight.size(0), in_features = weight.size(1);
  ACTLAB_CHECK(x.dim() >= 1 && x.size(-1) == in_features,
               "linear: input of shape {} does not end in in_features = {} (weight {})", shape_str(x.shape()),
               in_features, shape_str(weight.shape()));
  ACTLAB_CHECK(!bias.defined() || bias.shape() == Shape{out_features},
               "linear: bias of shape {} should be [{}]", shape_str(bias.shape()), out_features);
  ACTLAB_CHECK(x.dtype() == weight.dtype() && (!bias.defined() || bias.dtype() == x.dtype()),
               "linear: input is {} but weight is {}; convert the module with to()", x.dtype(), weight.dtype());
  const Tensor a = x.detach().contiguous(), w = weight.detach().contiguous();
  const std::int64_t rows = x.numel() / in_features;
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  dispatch_floating(x.dtype(), "linear", [&]<typename T>() {
    T* o = out.data<T>();
    if (bias.defined()) {
      const Tensor b = bias.detach().contiguous();
      for (std::int64_t r = 0; r < rows; ++r) std::copy_n(b.data<T>(), out_features, o + r * out_features);
    }
    ops::gemm<T>(false, true, rows, out_features, in_features, T(1), a.data<T>(), in_features, w.data<T>(),
                 in_features, bias.defined() ? T(1) : T(0), o, out_features);
  });
  return autograd::record("linear", out, {x, weight, bias}, [a, w, rows](const Tensor& g0, auto& needs) {
    const std::int64_t out_f = w.size(0), in_f = w.size(1);
    const Tensor g = g0.contiguous();
    Grads grads(3);
    dispatch_floating(g.dtype(), "linear backward", [&]<typename T>() {
      if (needs[0]) {
        grads[0] = Tensor::empty(a.shape(), a.dtype());
        ops::gemm<T>(false, false, rows, in_f, out_f, T(1), g.data<T>(), out_f, w.data<T>(), in_f, T(0),
                     grads[0].data<T>(), in_f);
      }
      if (needs[1]) {
        grads[1] = Tensor::empty(w.shape(), w.dtype());
        ops::gemm<T>(true, false, out_f, in_f, rows, T(1), g.data<T>(), out_f, a.data<T>(), in_f, T(0),
                     grads[1].data<T>(), in_f);
      }
    });
    if (needs[2]) grads[2] = g.reshape({rows, out_f}).sum({0});
    return grads;
  });
}

}  // namespace functional

Linear::Linear(std::int64_t in, std::int64_t out, LinearOptions options, Generator& gen)
    : Module("Linear"), in_features(in), out_features(out) {
  ACTLAB_CHECK(in > 0 && out > 0, "Linear: in_features and out_features must be positive, got {} and {}", in, out);
  weight = register_parameter("weight", empty({out, in}));
  init::standard_(weight, in, gen);
  if (options.bias) {
    bias = register_parameter("bias", empty({out}));
    init::standard_(bias, in, gen);
  }
}

Tensor Linear::forward(const Tensor& x) { return functional::linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  return fmt::format("in={}, out={}{}", in_features, out_features, bias.defined() ? "" : ", no bias");
}

}  // namespace actlab::nn
