// Modules of other signatures, AnyModule, Sequential over them, and hooks that see every call.
#include <gtest/gtest.h>

#include <optional>
#include <tuple>

#include "actlab/actlab.h"
#include "actlab/nn/any_module.h"
#include "actlab/nn/layers.h"

using namespace actlab;

namespace {

// [N, 2F] -> its halves [N, F] and [N, F]: one tensor in, two out.
struct Halves : nn::Module {
  Halves() : Module("Halves") {}
  // By value: a forward(const Tensor&) would override the Tensor -> Tensor one.
  std::pair<Tensor, Tensor> forward(Tensor x) {
    const std::int64_t half = x.size(1) / 2;
    return {x.narrow(1, 0, half), x.narrow(1, half, half)};
  }
  std::pair<Tensor, Tensor> operator()(const Tensor& x) { return with_hooks([&] { return forward(x); }, x); }
};

// Two tensors in, as two arguments.
struct Product : nn::Module {
  Product() : Module("Product") {}
  Tensor forward(const Tensor& a, const Tensor& b) { return a * b; }
  Tensor operator()(const Tensor& a, const Tensor& b) { return with_hooks([&] { return forward(a, b); }, a, b); }
};

// Two tensors in, as one pair.
struct PairSum : nn::Module {
  PairSum() : Module("PairSum") {}
  Tensor forward(const std::pair<Tensor, Tensor>& halves) { return halves.first + halves.second; }
  Tensor operator()(const std::pair<Tensor, Tensor>& halves) {
    return with_hooks([&] { return forward(halves); }, halves);
  }
};

// An LSTM-shaped signature: (x, optional state) -> (output, (state, steps)); the state starts at zero.
struct Accumulate : nn::Module {
  using State = std::tuple<Tensor, Tensor>;
  Accumulate() : Module("Accumulate") {}
  std::tuple<Tensor, State> forward(const Tensor& x, const std::optional<State>& state) {
    const Tensor total = state ? std::get<0>(*state) + x : x;
    const Tensor steps = state ? std::get<1>(*state) + 1.0 : ones({1}, x.dtype());
    return {total / steps, {total, steps}};
  }
  std::tuple<Tensor, State> operator()(const Tensor& x, const std::optional<State>& state = std::nullopt) {
    return with_hooks([&] { return forward(x, state); }, x, state);
  }
};

// The first element of a tuple.
struct First : nn::Module {
  First() : Module("First") {}
  Tensor forward(const std::tuple<Tensor, Accumulate::State>& all) { return std::get<0>(all); }
  Tensor operator()(const std::tuple<Tensor, Accumulate::State>& all) {
    return with_hooks([&] { return forward(all); }, all);
  }
};

// A Tensor -> Tensor model calling the same cell three times: h <- tanh(cell(h)).
struct Unrolled : nn::Module {
  Unrolled() : Module("Unrolled") {
    cell = register_module("cell", std::make_shared<nn::Linear>(3, 3));
    tanh = register_module("tanh", std::make_shared<nn::Activation>("tanh"));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = x;
    for (int step = 0; step < 3; ++step) h = (*tanh)((*cell)(h));
    return h;
  }
  std::shared_ptr<nn::Linear> cell;
  std::shared_ptr<nn::Activation> tanh;
};

std::shared_ptr<nn::Sequential> split_and_multiply() {
  return std::make_shared<nn::Sequential>(std::initializer_list<nn::AnyModule>{
      std::make_shared<nn::Linear>(4, 6), std::make_shared<Halves>(), std::make_shared<Product>()});
}

}  // namespace

TEST(AnyModule, TwoOutputsFeedTheNextModuleInSequential) {
  manual_seed(3);
  auto seq = split_and_multiply();
  const Tensor x = randn({5, 4});
  auto& linear = dynamic_cast<nn::Linear&>(*(*seq)[0]);
  const Tensor y = nn::functional::linear(x, linear.weight, linear.bias);
  const Tensor expected = y.narrow(1, 0, 3) * y.narrow(1, 3, 3);
  EXPECT_TRUE(allclose((*seq)(x), expected, 1e-6, 1e-6));
  // The same through the Module base (Sequential stays Tensor -> Tensor), and with a module
  // taking the pair whole.
  std::shared_ptr<nn::Module> as_module = seq;
  EXPECT_TRUE(allclose((*as_module)(x), expected, 1e-6, 1e-6));
  nn::Sequential summed{(*seq)[0], std::make_shared<Halves>(), std::make_shared<PairSum>()};
  EXPECT_TRUE(allclose(summed(x), y.narrow(1, 0, 3) + y.narrow(1, 3, 3), 1e-6, 1e-6));
  EXPECT_EQ(seq->size(), 3u);
  EXPECT_EQ((*seq)[1]->type_name(), "Halves");
}

TEST(AnyModule, GradcheckThroughSequentialOfOtherSignatures) {
  manual_seed(4);
  auto seq = split_and_multiply();
  seq->to(kFloat64);
  Tensor x = randn({3, 4}, default_generator(), kFloat64);
  x.requires_grad_();
  auto& linear = dynamic_cast<nn::Linear&>(*(*seq)[0]);
  const GradcheckResult r =
      gradcheck([&](const std::vector<Tensor>& in) { return (*seq)(in[0]); }, {x, linear.weight, linear.bias});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(AnyModule, TrailingOptionalArgumentsStartEmpty) {
  auto seq = std::make_shared<nn::Sequential>(
      std::initializer_list<nn::AnyModule>{std::make_shared<Accumulate>(), std::make_shared<First>()});
  const Tensor x = randn({2, 3});
  EXPECT_TRUE(allclose((*seq)(x), x, 0, 0));
  // Called with its own arguments, the state carries over.
  Accumulate accumulate;
  const auto [first, state] = accumulate(x);
  const auto [second, next] = accumulate(x * 3.0, state);
  EXPECT_TRUE(allclose(second, x * 2.0, 1e-6, 1e-6));
  EXPECT_EQ(std::get<1>(next).item(), 2.0);
}

TEST(AnyModule, ErrorsNameTheModuleAndTheTypes) {
  const Tensor x = randn({2, 4});
  std::shared_ptr<nn::Module> halves = std::make_shared<Halves>();
  try {
    (*halves)(x);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Module 'Halves' has no Tensor -> Tensor forward"), std::string::npos)
        << e.what();
  }
  nn::Sequential ends_in_pair{std::make_shared<nn::Linear>(4, 4), std::make_shared<Halves>()};
  try {
    ends_in_pair(x);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("its last module, '1' (Halves), returns std::pair"), std::string::npos)
        << e.what();
  }
  const nn::AnyModule product(std::make_shared<Product>());
  try {
    product(x);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Module 'Product' takes (actlab::Tensor, actlab::Tensor) but was given "
                                         "actlab::Tensor"),
              std::string::npos)
        << e.what();
  }
}

TEST(ModuleHooks, SeeEveryTensorOfACall) {
  auto seq = split_and_multiply();
  auto& halves = *(*seq)[1];
  std::vector<Tensor> outputs;
  std::vector<std::pair<std::size_t, Tensor>> grads;
  halves.register_forward_hook([&](nn::Module&, const nn::Call& call) {
    EXPECT_EQ(call.index, 0);
    ASSERT_EQ(call.inputs.size(), 1u);
    EXPECT_EQ(call.inputs[0].shape(), (Shape{2, 6}));
    outputs.assign(call.outputs.begin(), call.outputs.end());
  });
  halves.register_backward_hook([&](nn::Module&, std::int64_t call, std::size_t output, const Tensor& grad) {
    EXPECT_EQ(call, 0);
    grads.emplace_back(output, grad);
  });
  (*seq)(randn({2, 4})).sum().backward();
  ASSERT_EQ(outputs.size(), 2u);
  ASSERT_EQ(grads.size(), 2u);
  // d(sum a * b)/da = b and d/db = a.
  for (const auto& [output, grad] : grads) EXPECT_TRUE(allclose(grad, outputs[1 - output].detach(), 1e-6, 1e-6));
  EXPECT_NE(grads[0].first, grads[1].first);
}

TEST(ModuleHooks, NumberEachCallAndPairItsGradient) {
  manual_seed(5);
  auto model = std::make_shared<Unrolled>();
  std::vector<std::int64_t> forward_calls;
  std::vector<Tensor> inputs(3), outputs(3), grads(3);
  std::vector<std::int64_t> backward_calls;
  model->cell->register_forward_hook([&](nn::Module&, const nn::Call& call) {
    forward_calls.push_back(call.index);
    inputs.at(static_cast<std::size_t>(call.index)) = call.inputs[0].detach();
    outputs.at(static_cast<std::size_t>(call.index)) = call.outputs[0].detach();
  });
  model->cell->register_backward_hook([&](nn::Module&, std::int64_t call, std::size_t output, const Tensor& grad) {
    EXPECT_EQ(output, 0u);
    backward_calls.push_back(call);
    grads.at(static_cast<std::size_t>(call)) = grad.detach();
  });
  const Tensor x = randn({4, 3});
  const Tensor h3 = (*model)(x);
  h3.sum().backward();
  EXPECT_EQ(forward_calls, (std::vector<std::int64_t>{0, 1, 2}));
  std::sort(backward_calls.begin(), backward_calls.end());
  EXPECT_EQ(backward_calls, (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_TRUE(allclose(inputs[0], x, 0, 0));

  // By hand: h[k+1] = tanh(y[k]) is call k+1's input (h[3] the result), dL/dy[2] = 1 - h[3]^2 and
  // dL/dy[k] = (dL/dy[k+1] W) (1 - h[k+1]^2).
  NoGradGuard no_grad;
  const Tensor w = model->cell->weight.detach();
  std::vector<Tensor> h = {inputs[0], inputs[1], inputs[2], h3.detach()};
  Tensor expected = 1.0 - h[3].square();
  for (int k = 2; k >= 0; --k) {
    EXPECT_TRUE(allclose(grads[static_cast<std::size_t>(k)], expected, 1e-5, 1e-6)) << "call " << k;
    expected = matmul(expected, w) * (1.0 - h[static_cast<std::size_t>(k)].square());
  }
}

TEST(ModuleHooks, CountCallsFromTheirOwnRegistration) {
  auto model = std::make_shared<Unrolled>();
  std::vector<std::int64_t> early, late;
  auto first = model->cell->register_forward_hook([&](nn::Module&, const nn::Call& c) { early.push_back(c.index); });
  (*model)(randn({2, 3}));
  auto second = model->cell->register_forward_hook([&](nn::Module&, const nn::Call& c) { late.push_back(c.index); });
  (*model)(randn({2, 3}));
  EXPECT_EQ(early, (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(late, (std::vector<std::int64_t>{0, 1, 2}));
}

TEST(ModuleHooks, SummaryShowsEveryOutputAndTheCallCount) {
  const std::string split = split_and_multiply()->summary({2, 4});
  EXPECT_NE(split.find("1: Halves"), std::string::npos) << split;
  EXPECT_NE(split.find("[2,3], [2,3]"), std::string::npos) << split;
  const std::string unrolled = std::make_shared<Unrolled>()->summary({2, 3});
  EXPECT_NE(unrolled.find("[2,3] (3 calls)"), std::string::npos) << unrolled;
}
