// Learnable and random activations: parameter gradients (float64 gradcheck, alone and after a
// linear map), per-channel layouts against a plain tensor formula, and train/eval behaviour.
#include <gtest/gtest.h>

#include "actlab/activations/activation.h"
#include "actlab/activations/functional.h"
#include "actlab/activations/pointwise.h"
#include "actlab/autograd/gradcheck.h"

namespace actlab {
namespace {

using Fn = std::function<Tensor(const Tensor& x, const std::vector<Tensor>& params)>;

void expect_gradcheck(const Fn& f, const Shape& x_shape, std::vector<Tensor> params) {
  Generator gen(11);
  Tensor x = (randn(x_shape, gen, kFloat64) * 2.0).requires_grad_();
  std::vector<Tensor> inputs{x};
  for (auto& p : params) inputs.push_back(p.to(kFloat64).requires_grad_());
  auto alone = gradcheck(
      [&](const std::vector<Tensor>& in) { return f(in[0], {in.begin() + 1, in.end()}); }, inputs);
  EXPECT_TRUE(alone.ok) << alone.message;
  // After a linear map over the last dim.
  Tensor w = randn({x_shape.back(), x_shape.back()}, gen, kFloat64).requires_grad_();
  inputs.push_back(w);
  auto linear = gradcheck(
      [&](const std::vector<Tensor>& in) { return f(in[0].matmul(in.back()), {in.begin() + 1, in.end() - 1}); },
      inputs);
  EXPECT_TRUE(linear.ok) << linear.message;
}

TEST(Learnable, PreluGradcheckSharedAndPerChannel) {
  const Fn f = [](const Tensor& x, const auto& p) { return prelu(x, p[0]); };
  expect_gradcheck(f, {3, 5}, {full({1}, 0.25)});
  expect_gradcheck(f, {3, 5}, {tensor({0.1, -0.3, 0.5, 0.25, 2.0})});
  expect_gradcheck(f, {2, 3, 4}, {tensor({0.1, 0.7, -0.2})});
}

TEST(Learnable, SwishGradcheck) {
  const Fn f = [](const Tensor& x, const auto& p) { return learnable_swish(x, p[0]); };
  expect_gradcheck(f, {3, 4}, {full({1}, 1.3)});
  expect_gradcheck(f, {3, 4}, {tensor({0.5, 1.0, 2.0, -0.7})});
}

TEST(Learnable, RationalGradcheck) {
  const Fn f = [](const Tensor& x, const auto& p) { return rational(x, p[0], p[1]); };
  Generator gen(5);
  expect_gradcheck(f, {3, 4}, {randn({1, 6}, gen), randn({1, 4}, gen)});
  expect_gradcheck(f, {2, 3, 2}, {randn({3, 6}, gen), randn({3, 4}, gen)});
}

TEST(Learnable, RreluTrainingGradcheck) {
  Generator gen(3);
  expect_gradcheck([&](const Tensor& x, const auto&) {
    Generator same = gen;  // the same slopes on every evaluation
    return rrelu(x, 0.1, 0.3, true, same);
  }, {4, 4}, {});
}

TEST(Learnable, PreluMatchesTensorFormula) {
  Generator gen(2);
  for (const Shape& shape : {Shape{64, 3, 5, 7}, Shape{40, 24}, Shape{2, 48, 1000}}) {
    const Tensor x = randn(shape, gen);
    const Tensor w = randn({shape[1]}, gen);
    Shape wshape(shape.size(), 1);
    wshape[1] = shape[1];
    const Tensor expected = where(x.lt(zeros_like(x)), x * w.reshape(wshape), x);
    EXPECT_TRUE(allclose(prelu(x, w), expected, 0, 0));
    // Weight gradient: sum over everything but the channel of g * min(x, 0).
    const Tensor g = randn(shape, gen);
    Tensor wl = w.detach().requires_grad_();
    prelu(x, wl).backward(g);
    std::vector<std::int64_t> other;
    for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d)
      if (d != 1) other.push_back(d);
    const Tensor expected_grad = (g * x.clamp_max(0.0)).sum(other);
    EXPECT_TRUE(allclose(wl.grad(), expected_grad, 1e-4, 1e-3)) << wl.grad() << expected_grad;
  }
}

TEST(Learnable, ModulesExposeParametersThatTrain) {
  auto prelu_module = make_activation("prelu:channels=4");
  auto params = prelu_module->named_parameters();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].first, "weight");
  EXPECT_EQ(params[0].second.to_vector<float>(), std::vector<float>(4, 0.25f));
  prelu_module->forward(full({2, 4, 3}, -1.0)).sum().backward();
  EXPECT_EQ(params[0].second.grad().to_vector<float>(), std::vector<float>(4, -6.0f));

  auto pau = make_activation("rational");
  ASSERT_EQ(pau->named_parameters().size(), 2u);
  // Initialised close to leaky ReLU.
  const Tensor x = arange(-3.0, 3.0, 0.01);
  const double worst = (pau->forward(x) - leaky_relu(x)).abs().max().item();
  EXPECT_LT(worst, 0.05);
  EXPECT_EQ(make_activation("learnable_swish")->named_parameters()[0].first, "beta");
}

TEST(Learnable, RreluSamplesInTrainingAndUsesMeanSlopeInEval) {
  auto act = make_activation("rrelu:0.1,0.3,seed=4");
  const Tensor x = full({1000}, -1.0);
  act->set_training(true);
  const Tensor y = act->forward(x);
  EXPECT_GE(y.max().item(), -0.3);
  EXPECT_LE(y.max().item(), -0.1);
  EXPECT_GT((y.max() - y.min()).item(), 0.1);  // slopes vary
  act->set_training(false);
  EXPECT_NEAR(act->forward(x).max().item(), -0.2, 1e-6);
  EXPECT_NEAR(act->forward(x).min().item(), -0.2, 1e-6);
}

TEST(Learnable, RreluTrainingVectorKernelDrawsTheReferenceSlopes) {
  // Threads split 100000 elements inside a 64-element group of draws; a short tensor ends inside one;
  // a generator 37 blocks short of 2^32 makes the vector kernel carry into the counter's high word.
  for (const Isa isa : available_isas())
    for (std::int64_t n : {std::int64_t{100000}, std::int64_t{1001}})
      for (const std::uint64_t offset : {std::uint64_t{0}, (std::uint64_t{1} << 32) - 37}) {
        const Tensor x = randn({n + 3}).narrow(0, 3, n);
        Generator a(9), b(9);
        a.set_state(9, offset);
        b.set_state(9, offset);
        Tensor vec, ref;
        {
          const IsaGuard level(isa);
          vec = rrelu(x, 0.1, 0.3, true, a);
        }
        {
          ReferenceKernelsGuard reference;
          ref = rrelu(x, 0.1, 0.3, true, b);
        }
        // The same draws; only a contracted multiply-add (FMA) may round the slope differently.
        EXPECT_TRUE(allclose(vec, ref, 1e-6, 0)) << isa_name(isa) << ", " << n << " elements, offset " << offset;
        EXPECT_EQ(a.offset(), b.offset());
      }
}

TEST(Learnable, RreluBackwardDrawsTheForwardSlopesAgain) {
  // Backward keeps no slopes: it draws them again from forward's Philox blocks, after the
  // generator has moved on. On a row whose threads split it mid-draw, with a NaN, at every level,
  // in float32 (vector kernels) and float64 (scalar ones).
  for (const Isa isa : available_isas())
    for (const DType dtype : {kFloat32, kFloat64}) {
      const IsaGuard level(isa);
      const std::int64_t n = 100003;
      Generator data(8);
      Tensor x = randn({n}, data, dtype);
      x.narrow(0, 7, 1).fill_(std::nan(""));
      x.requires_grad_();
      Generator gen(21);
      const Generator before = gen;
      const Tensor y = rrelu(x, 0.1, 0.3, true, gen);
      gen.set_state(5, 77);
      const Tensor g = randn({n}, data, dtype);
      y.backward(g);
      // The slopes: rrelu of -1 everywhere from the same generator state is -slope.
      Generator again = before;
      const Tensor slopes = -rrelu(full({n}, -1.0, dtype), 0.1, 0.3, true, again);
      Tensor expected = where(x.detach().lt(zeros({}, dtype)), g * slopes, g);
      expected.narrow(0, 7, 1).fill_(std::nan(""));
      EXPECT_TRUE(allclose(x.grad(), expected, 0, 0, true)) << isa_name(isa) << ", " << dtype_name(dtype);
      EXPECT_TRUE(allclose(y.detach(), where(x.detach().lt(zeros({}, dtype)), x.detach() * slopes, x.detach()), 0, 0, true));
    }
}

TEST(Learnable, WrongChannelCountSaysWhatIsExpected) {
  try {
    prelu(randn({2, 3}), randn({4}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("channels along dim 1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace actlab
