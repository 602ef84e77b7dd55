// Adding an activation from outside the library, exactly as docs/ACTIVATIONS.md shows: one kernel
// struct, one registration line, one gradcheck test.
#include <gtest/gtest.h>

#include "actlab/activations/pointwise.h"
#include "actlab/autograd/gradcheck.h"

namespace {

// tanhshrink(x) = x - tanh(x)
struct Tanhshrink {
  static constexpr std::string_view kName = "tanhshrink";
  static actlab::ActivationInfo info() {
    return {.name = "tanhshrink", .formula = "x - tanh(x)", .latex = "x - \\tanh(x)", .derivative = "tanh(x)^2",
            .output_range = "(-inf, inf)", .zero_centred = true, .monotonic = true, .smooth = true,
            .saturates = "near 0", .note = "shrinks small inputs toward 0 (sparse coding)"};
  }
  template <class V> V forward(V x) const { return x - actlab::simd::tanh(x); }
  template <class V> V derivative(V x) const {
    const V t = actlab::simd::tanh(x);
    return t * t;
  }
};
const actlab::ActivationRegistration registration(actlab::pointwise_definition<Tanhshrink>());

TEST(CustomActivation, RegistersAndPassesGradcheck) {
  auto act = actlab::make_activation("tanhshrink");
  actlab::Tensor x = actlab::randn({4, 5}, actlab::default_generator(), actlab::kFloat64).requires_grad_();
  const auto result = actlab::gradcheck([&](const auto& in) { return act->forward(in[0]); }, {x});
  EXPECT_TRUE(result.ok) << result.message;
  // float32 runs the vector kernel: tanhshrink(1) = 1 - tanh(1).
  EXPECT_NEAR(act->forward(actlab::tensor({1.0})).item(), 1 - std::tanh(1.0), 1e-6);
}

}  // namespace
