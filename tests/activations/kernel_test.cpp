// The AVX-512 kernels agree with the scalar reference loop, forward and backward, including the
// masked tail of a length that is not a multiple of 16 and the threaded path.
#include <gtest/gtest.h>

#include <cmath>

#include "actlab/activations/activation.h"
#include "actlab/activations/pointwise.h"

namespace actlab {
namespace {

struct ForwardBackward {
  std::vector<float> value, grad;
};

ForwardBackward run(ActivationFunction& act, const Tensor& x0, const Tensor& g) {
  Tensor x = x0.detach().requires_grad_();
  Tensor y = act.forward(x);
  y.backward(g);
  return {y.to_vector<float>(), x.grad().to_vector<float>()};
}

class VectorKernel : public testing::TestWithParam<std::string> {};

TEST_P(VectorKernel, MatchesScalarReference) {
  auto act = make_activation(GetParam());
  act->set_training(false);
  for (std::int64_t n : {std::int64_t{1000003}, std::int64_t{37}}) {
    // Values over [-25, 25] plus random gradients.
    const Tensor x = (arange(0.0, static_cast<double>(n), 1.0) * (50.0 / static_cast<double>(n)) - 25.0).reshape({1, n});
    Generator gen(3);
    const Tensor g = randn({1, n}, gen);
    const ForwardBackward vec = run(*act, x, g);
    ForwardBackward ref;
    {
      ReferenceKernelsGuard reference;
      ref = run(*act, x, g);
    }
    for (std::size_t i = 0; i < vec.value.size(); ++i) {
      ASSERT_NEAR(vec.value[i], ref.value[i], 1e-6 + 4e-6 * std::fabs(ref.value[i])) << GetParam() << " at " << i;
      ASSERT_NEAR(vec.grad[i], ref.grad[i], 1e-6 + 4e-6 * std::fabs(ref.grad[i])) << GetParam() << " at " << i;
    }
  }
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const ActivationInfo* info : registered_activations()) out.push_back(info->name);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Activations, VectorKernel, testing::ValuesIn(names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace actlab
