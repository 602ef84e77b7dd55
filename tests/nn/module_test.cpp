// Module mechanics: names, modes, state dicts, hooks, summary.
#include <gtest/gtest.h>

#include "actlab/actlab.h"
#include "actlab/nn/layers.h"

using namespace actlab;

namespace {

std::shared_ptr<nn::Sequential> small_net() {
  return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::BatchNorm1d>(8), std::make_shared<nn::Dropout>(0.5),
      std::make_shared<nn::Linear>(8, 2)});
}

// A model holding a Sequential under a name, as user code does.
struct Classifier : nn::Module {
  Classifier() : Module("Classifier") { layers = register_module("layers", small_net()); }
  Tensor forward(const Tensor& x) override { return (*layers)(x); }
  std::shared_ptr<nn::Sequential> layers;
};

std::vector<std::string> names_of(const nn::StateDict& entries) {
  std::vector<std::string> out;
  for (const auto& [name, t] : entries) out.push_back(name);
  return out;
}

}  // namespace

TEST(Module, NamesParametersBuffersAndModules) {
  auto model = std::make_shared<Classifier>();
  EXPECT_EQ(names_of(model->named_parameters()),
            (std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                                      "layers.3.weight", "layers.3.bias"}));
  EXPECT_EQ(names_of(model->named_buffers()),
            (std::vector<std::string>{"layers.1.running_mean", "layers.1.running_var"}));
  EXPECT_EQ(model->num_parameters(), 4 * 8 + 8 + 8 + 8 + 8 * 2 + 2);
  const auto modules = model->named_modules();
  ASSERT_EQ(modules.size(), 6u);
  EXPECT_EQ(modules[0].first, "");
  EXPECT_EQ(modules[3].first, "layers.1");
  EXPECT_EQ(modules[3].second->type_name(), "BatchNorm1d");
  for (const auto& p : model->parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST(Module, TrainAndEvalReachEverySubmodule) {
  auto model = std::make_shared<Classifier>();
  model->eval();
  for (const auto& [name, m] : model->named_modules()) EXPECT_FALSE(m->is_training()) << name;
  model->train();
  for (const auto& [name, m] : model->named_modules()) EXPECT_TRUE(m->is_training()) << name;
}

TEST(Module, StateDictRoundTrip) {
  manual_seed(1);
  auto a = std::make_shared<Classifier>();
  const Tensor x = randn({6, 4});
  (*a)(x);  // moves the running statistics away from their initial values
  a->eval();
  auto b = std::make_shared<Classifier>();
  b->eval();
  EXPECT_FALSE(allclose((*a)(x), (*b)(x)));
  const Tensor weight_handle = b->layers->named_parameters()[0].second;
  b->load_state_dict(a->state_dict());
  EXPECT_TRUE(allclose((*a)(x), (*b)(x), 0, 0));
  // Loading wrote into the existing tensors (so optimizers keep working on them).
  EXPECT_TRUE(allclose(weight_handle, a->layers->named_parameters()[0].second, 0, 0));
}

TEST(Module, LoadStateDictReportsEveryProblem) {
  auto model = std::make_shared<Classifier>();
  auto state = model->state_dict();
  state[0].second = zeros({3, 3});
  state.erase(state.begin() + 1);
  state.emplace_back("layers.9.weight", zeros({1}));
  try {
    model->load_state_dict(state);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'layers.0.weight' has shape [3,3] in the state but [8,4] in the model"), std::string::npos)
        << message;
    EXPECT_NE(message.find("missing: layers.0.bias"), std::string::npos) << message;
    EXPECT_NE(message.find("unexpected: layers.9.weight"), std::string::npos) << message;
  }
}

TEST(Module, ForwardAndBackwardHooksFireAndCanBeRemoved) {
  auto model = small_net();
  auto& first = *(*model)[0];
  std::vector<Shape> outputs, grads;
  auto forward = first.register_forward_hook([&](nn::Module& m, const nn::Call& call) {
    EXPECT_EQ(m.type_name(), "Linear");
    ASSERT_EQ(call.inputs.size(), 1u);
    ASSERT_EQ(call.outputs.size(), 1u);
    EXPECT_EQ(call.inputs[0].shape(), (Shape{5, 4}));
    outputs.push_back(call.outputs[0].shape());
  });
  auto backward = first.register_backward_hook(
      [&](nn::Module&, std::int64_t, std::size_t, const Tensor& g) { grads.push_back(g.shape()); });
  const Tensor x = randn({5, 4});
  (*model)(x).sum().backward();
  EXPECT_EQ(outputs, (std::vector<Shape>{{5, 8}}));
  EXPECT_EQ(grads, (std::vector<Shape>{{5, 8}}));
  forward.remove();
  backward.remove();
  backward.remove();  // harmless
  (*model)(x).sum().backward();
  EXPECT_EQ(outputs.size(), 1u);
  EXPECT_EQ(grads.size(), 1u);
}

TEST(Module, BackwardHookSeesTheGradientOfTheOutput) {
  auto linear = std::make_shared<nn::Linear>(3, 2);
  Tensor seen;
  linear->register_backward_hook([&](nn::Module&, std::int64_t, std::size_t, const Tensor& g) { seen = g; });
  ((*linear)(randn({4, 3})) * tensor({2.0f, 3.0f})).sum().backward();
  ASSERT_TRUE(seen.defined());
  EXPECT_TRUE(allclose(seen, tensor({2.0f, 3.0f}).expand({4, 2})));
}

TEST(Module, ZeroGradAndDtypeConversion) {
  auto model = small_net();
  (*model)(randn({3, 4})).sum().backward();
  EXPECT_TRUE(model->parameters()[0].grad().defined());
  model->zero_grad();
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
  model->to(kFloat64);
  for (const auto& [name, t] : model->state_dict()) EXPECT_EQ(t.dtype(), kFloat64) << name;
  EXPECT_EQ((*model)(randn({3, 4}, default_generator(), kFloat64)).dtype(), kFloat64);
}

TEST(Module, RegistrationErrors) {
  struct Bad : nn::Module {
    Bad() : Module("Bad") {}
    Tensor forward(const Tensor& x) override { return x; }
    void add(const std::string& name) { register_parameter(name, zeros({1})); }
  } bad;
  bad.add("w");
  EXPECT_THROW(bad.add("w"), Error);
  EXPECT_THROW(bad.add("a.b"), Error);
  EXPECT_THROW(bad.add(""), Error);
}

TEST(Module, SummaryListsLayersShapesAndCounts) {
  auto model = std::make_shared<Classifier>();
  const std::string s = model->summary({16, 4});
  EXPECT_NE(s.find("Classifier"), std::string::npos) << s;
  EXPECT_NE(s.find("0: Linear (in=4, out=8)"), std::string::npos) << s;
  EXPECT_NE(s.find("[16,8]"), std::string::npos) << s;
  EXPECT_NE(s.find("[16,2]"), std::string::npos) << s;
  EXPECT_NE(s.find("Total params: 74"), std::string::npos) << s;
  EXPECT_TRUE(model->is_training());  // restored
}
