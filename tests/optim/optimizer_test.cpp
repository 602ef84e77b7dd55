#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>

#include "actlab/actlab.h"
#include "actlab/core/cpu.h"
#include "actlab/optim/clip.h"
#include "actlab/optim/optimizer.h"
#include "actlab/optim/schedule.h"

using namespace actlab;

namespace {

// Five steps on loss = sum(c p^2) + sum(d p) from p = [0.5, -1, 2, -0.3], in float64.
template <typename Make>
std::vector<double> run(Make make, int steps = 5) {
  Tensor p = tensor({0.5, -1.0, 2.0, -0.3}, kFloat64);
  p.requires_grad_();
  const Tensor c = tensor({1.0, 2.0, 3.0, 0.5}, kFloat64), d = tensor({0.1, -0.2, 0.3, -0.4}, kFloat64);
  auto opt = make(std::vector<Tensor>{p});
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    ((c * p * p).sum() + (d * p).sum()).backward();
    opt.step();
  }
  return p.to_vector<double>();
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << "element " << i;
}

}  // namespace

// Expected values from PyTorch 2.x (float64), computed once with:
//   c = [1, 2, 3, 0.5]; d = [0.1, -0.2, 0.3, -0.4]; p = [0.5, -1, 2, -0.3] (requires_grad)
//   5 x { opt.zero_grad(); ((c*p*p).sum() + (d*p).sum()).backward(); opt.step() }
// with the torch.optim constructor named in each test.
TEST(Optimizers, SgdMatchesPyTorch) {
  // SGD(lr=0.1)
  expect_near(run([](auto ps) { return optim::SGD(ps, {.lr = 0.1}); }),
              {0.130224, -0.031647999999999996, -0.029008000000000003, -0.013342999999999971});
  // SGD(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)
  expect_near(run([](auto ps) {
                return optim::SGD(ps, {.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01});
              }),
              {-0.03913087680443493, 0.6121299674576173, -1.6299123082128948, 0.08466974707143535});
  // SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)
  expect_near(run([](auto ps) {
                return optim::SGD(ps, {.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
              }),
              {-0.10895716368922122, 0.48666899291537624, -0.7613600063728994, 0.1798805667044004});
}

TEST(Optimizers, RmsPropMatchesPyTorch) {
  // RMSprop(lr=0.01, alpha=0.9, weight_decay=0.01)
  expect_near(run([](auto ps) { return optim::RMSProp(ps, {.lr = 0.01, .alpha = 0.9, .weight_decay = 0.01}); }),
              {0.39722232576919775, -0.8954103069997716, 1.8944849335488902, -0.1964087810229708});
  // RMSprop(lr=0.01, alpha=0.9, momentum=0.5, centered=True)
  expect_near(run([](auto ps) {
                return optim::RMSProp(ps, {.lr = 0.01, .alpha = 0.9, .momentum = 0.5, .centered = true});
              }),
              {0.30769302691655753, -0.801945672761556, 1.7991194008236233, -0.10502759031865454});
}

TEST(Optimizers, AdagradMatchesPyTorch) {
  // Adagrad(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)
  expect_near(run([](auto ps) {
                return optim::Adagrad(
                    ps, {.lr = 0.1, .lr_decay = 0.01, .weight_decay = 0.01, .initial_accumulator_value = 0.1});
              }),
              {0.22731878461805957, -0.7013994841724311, 1.6912294811056063, -0.026443312812848806});
}

TEST(Optimizers, AdamAndAdamWMatchPyTorch) {
  // Adam(lr=0.1, betas=(0.8, 0.99), weight_decay=0.01)
  expect_near(
      run([](auto ps) { return optim::Adam(ps, {.lr = 0.1, .beta1 = 0.8, .beta2 = 0.99, .weight_decay = 0.01}); }),
      {0.03321428905290842, -0.5121987351072592, 1.5051712553933172, 0.1775472383880961});
  // Adam(lr=0.1, amsgrad=True)
  expect_near(run([](auto ps) { return optim::Adam(ps, {.lr = 0.1, .amsgrad = true}); }),
              {0.022958816713681704, -0.5073758393263024, 1.5028623865265271, 0.18544835389641007});
  // AdamW(lr=0.1, weight_decay=0.1)
  expect_near(run([](auto ps) { return optim::AdamW(ps, {.lr = 0.1, .weight_decay = 0.1}); }),
              {0.010027121963405855, -0.4692637197371353, 1.4154451680884657, 0.18985093563243705});
}

TEST(Optimizers, Float32UpdatesAgreeWithFloat64) {
  Tensor p = tensor({0.5f, -1.0f, 2.0f});
  p.requires_grad_();
  optim::Adam adam({p}, {.lr = 0.1});
  (p * p).sum().backward();
  adam.step();
  // First Adam step moves each element by lr * sign(grad) (up to eps).
  const auto v = p.to_vector<float>();
  EXPECT_NEAR(v[0], 0.4f, 1e-6);
  EXPECT_NEAR(v[1], -0.9f, 1e-6);
  EXPECT_NEAR(v[2], 1.9f, 1e-6);
}

// The update loops are compiled per instruction-set level: every level available on this CPU
// gives the baseline's parameters (up to fused multiply-add rounding) and gradient norm.
TEST(Optimizers, EveryInstructionSetLevelAgreesWithBaseline) {
  using Factory = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;
  const std::vector<std::pair<std::string, Factory>> optimizers = {
      {"sgd", [](auto ps) { return std::make_unique<optim::SGD>(ps, optim::SGDOptions{.lr = 0.1}); }},
      {"sgd nesterov", [](auto ps) {
         return std::make_unique<optim::SGD>(
             ps, optim::SGDOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
       }},
      {"rmsprop centered", [](auto ps) {
         return std::make_unique<optim::RMSProp>(
             ps, optim::RMSPropOptions{.lr = 0.01, .momentum = 0.5, .centered = true});
       }},
      {"adagrad", [](auto ps) { return std::make_unique<optim::Adagrad>(ps, optim::AdagradOptions{.lr = 0.1}); }},
      {"adam amsgrad", [](auto ps) {
         return std::make_unique<optim::Adam>(ps, optim::AdamOptions{.lr = 1e-3, .weight_decay = 0.01, .amsgrad = true});
       }},
      {"adamw", [](auto ps) { return std::make_unique<optim::AdamW>(ps, optim::AdamWOptions{.lr = 1e-3}); }},
  };
  const std::int64_t n = 10007;  // several vector widths, threads' chunks and a remainder
  Generator gen(11);
  const Tensor start = randn({n}, gen), grad = randn({n}, gen);
  auto run_at = [&](Isa isa, const Factory& make) {
    const IsaGuard level(isa);
    Tensor p = start.clone().requires_grad_();
    auto opt = make({p});
    double norm = 0;
    for (int step = 0; step < 3; ++step) {
      p.set_grad((grad * static_cast<double>(step + 1)).contiguous());
      norm = optim::grad_norm({p});
      opt->step();
    }
    return std::pair{p.to_vector<float>(), norm};
  };
  for (const auto& [name, make] : optimizers) {
    const auto [want, want_norm] = run_at(Isa::baseline, make);
    for (Isa isa : available_isas()) {
      const auto [got, got_norm] = run_at(isa, make);
      EXPECT_NEAR(got_norm, want_norm, 1e-5 * want_norm) << name << " at " << isa_name(isa);
      for (std::int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(got[i], want[i], 1e-5 * (1 + std::abs(want[i]))) << name << " at " << isa_name(isa) << ", element " << i;
    }
  }
}

TEST(Optimizers, ParameterGroupsHaveTheirOwnOptions) {
  Tensor a = tensor({1.0}, kFloat64), b = tensor({1.0}, kFloat64);
  a.requires_grad_();
  b.requires_grad_();
  optim::SGD sgd(std::vector<optim::ParamGroup<optim::SGDOptions>>{{{a}, {.lr = 0.1}}, {{b}, {.lr = 0.5}}});
  (a + b).sum().backward();
  sgd.step();
  EXPECT_DOUBLE_EQ(a.item(), 0.9);
  EXPECT_DOUBLE_EQ(b.item(), 0.5);
  EXPECT_EQ(sgd.num_groups(), 2u);
  sgd.set_lr(0.01);
  EXPECT_DOUBLE_EQ(sgd.lr(1), 0.01);
}

TEST(Optimizers, SkipsParametersWithoutGradient) {
  Tensor a = tensor({1.0}, kFloat64), b = tensor({2.0}, kFloat64);
  a.requires_grad_();
  b.requires_grad_();
  optim::Adam adam({a, b}, {.lr = 0.1});
  (a * 3.0).sum().backward();
  adam.step();
  EXPECT_NE(a.item(), 1.0);
  EXPECT_EQ(b.item(), 2.0);
}

TEST(Optimizers, StateDictResumesExactly) {
  auto make_param = [] {
    Tensor p = tensor({0.5, -1.0, 2.0}, kFloat64);
    p.requires_grad_();
    return p;
  };
  auto loss = [](const Tensor& p) { return (p * p * p).sum(); };
  // Reference: 6 uninterrupted steps.
  Tensor ref = make_param();
  optim::Adam ref_opt({ref}, {.lr = 0.05});
  for (int i = 0; i < 6; ++i) {
    ref_opt.zero_grad();
    loss(ref).backward();
    ref_opt.step();
  }
  // 3 steps, save, restore into a fresh optimizer over a copy of the parameter, 3 more steps.
  Tensor p = make_param();
  optim::Adam first({p}, {.lr = 0.05});
  for (int i = 0; i < 3; ++i) {
    first.zero_grad();
    loss(p).backward();
    first.step();
  }
  const auto saved = first.state_dict();
  Tensor q = p.detach().clone();
  q.requires_grad_();
  optim::Adam second({q}, {.lr = 1.0});
  second.load_state_dict(saved);
  EXPECT_DOUBLE_EQ(second.lr(), 0.05);
  for (int i = 0; i < 3; ++i) {
    second.zero_grad();
    loss(q).backward();
    second.step();
  }
  EXPECT_EQ(q.to_vector<double>(), ref.to_vector<double>());
}

TEST(Optimizers, StateDictRejectsForeignEntries) {
  Tensor p = zeros({3}, kFloat64);
  p.requires_grad_();
  optim::SGD sgd({p}, {.lr = 0.1, .momentum = 0.9});
  EXPECT_THROW(sgd.load_state_dict({{"state.0.momentum_buffer", zeros({4}, kFloat64)}}), Error);
  EXPECT_THROW(sgd.load_state_dict({{"state.7.momentum_buffer", zeros({3}, kFloat64)}}), Error);
  EXPECT_THROW(sgd.load_state_dict({{"bogus", zeros({3}, kFloat64)}}), Error);
}

TEST(Optimizers, RejectsInvalidOptions) {
  Tensor p = zeros({3});
  p.requires_grad_();
  EXPECT_THROW(optim::SGD({p}, {.lr = -1}), Error);
  EXPECT_THROW(optim::SGD({p}, {.lr = 0.1, .nesterov = true}), Error);
  EXPECT_THROW(optim::Adam({p}, {.beta1 = 1.0}), Error);
}

TEST(GradientClipping, NormReturnsNormBeforeClippingAndScales) {
  Tensor a = tensor({3.0}, kFloat64), b = tensor({4.0}, kFloat64);
  a.requires_grad_();
  b.requires_grad_();
  (a * a / 2.0 + b * b / 2.0).sum().backward();  // grads 3 and 4: norm 5
  EXPECT_NEAR(optim::clip_grad_norm_({a, b}, 1.0), 5.0, 1e-12);
  EXPECT_NEAR(a.grad().item(), 0.6, 1e-6);
  EXPECT_NEAR(b.grad().item(), 0.8, 1e-6);
  // Below the limit nothing changes.
  EXPECT_NEAR(optim::clip_grad_norm_({a, b}, 10.0), 1.0, 1e-6);
  EXPECT_NEAR(a.grad().item(), 0.6, 1e-6);
}

TEST(GradientClipping, ValueClampsEachElement) {
  Tensor a = tensor({1.0, -2.0, 0.5}, kFloat64);
  a.requires_grad_();
  (a * tensor({3.0, -3.0, 0.2}, kFloat64)).sum().backward();
  optim::clip_grad_value_({a}, 1.0);
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{1.0, -1.0, 0.2}));
}
