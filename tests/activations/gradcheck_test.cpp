// Every registered activation passes float64 gradcheck, alone and after a linear map.
#include <gtest/gtest.h>

#include "actlab/activations/activation.h"
#include "actlab/autograd/gradcheck.h"

namespace actlab {
namespace {

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const ActivationInfo* info : registered_activations()) names.push_back(info->name);
  return names;
}

class EveryActivation : public testing::TestWithParam<std::string> {};

TEST_P(EveryActivation, GradcheckAlone) {
  auto act = make_activation(GetParam());
  act->set_training(false);
  Generator gen(7);
  Tensor x = (randn({4, 6}, gen, kFloat64) * 3.0).requires_grad_();
  const auto result = gradcheck([&](const std::vector<Tensor>& in) { return act->forward(in[0]); }, {x});
  EXPECT_TRUE(result.ok) << result.message;
}

TEST_P(EveryActivation, GradcheckAfterLinear) {
  auto act = make_activation(GetParam());
  act->set_training(false);
  Generator gen(8);
  Tensor x = randn({5, 3}, gen, kFloat64).requires_grad_();
  Tensor w = (randn({3, 4}, gen, kFloat64) * 1.5).requires_grad_();
  const auto result =
      gradcheck([&](const std::vector<Tensor>& in) { return act->forward(in[0].matmul(in[1])); }, {x, w});
  EXPECT_TRUE(result.ok) << result.message;
}

INSTANTIATE_TEST_SUITE_P(Activations, EveryActivation, testing::ValuesIn(activation_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace actlab
