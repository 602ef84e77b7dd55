#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "actlab/actlab.h"
#include "actlab/optim/schedule.h"

using namespace actlab;

namespace {

struct Fixture {
  Tensor p = [] {
    Tensor t = zeros({1});
    t.requires_grad_();
    return t;
  }();
  optim::SGD sgd{{p}, {.lr = 1.0}};
};

template <typename Scheduler>
std::vector<double> rates(optim::Optimizer& opt, Scheduler& s, int epochs) {
  std::vector<double> out{opt.lr()};
  for (int e = 1; e < epochs; ++e) {
    s.step();
    out.push_back(opt.lr());
  }
  return out;
}

void expect_rates(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << "epoch " << i;
}

}  // namespace

TEST(Schedules, StepMultiStepExponential) {
  Fixture a;
  optim::StepLR step(a.sgd, 2, 0.5);
  expect_rates(rates(a.sgd, step, 5), {1, 1, 0.5, 0.5, 0.25});
  Fixture b;
  optim::MultiStepLR multi(b.sgd, {1, 3}, 0.1);
  expect_rates(rates(b.sgd, multi, 5), {1, 0.1, 0.1, 0.01, 0.01});
  Fixture c;
  optim::ExponentialLR exponential(c.sgd, 0.9);
  expect_rates(rates(c.sgd, exponential, 3), {1, 0.9, 0.81});
}

TEST(Schedules, CosineWithAndWithoutWarmup) {
  Fixture a;
  optim::CosineLR cosine(a.sgd, 4, 0.1);
  const auto at = [](double progress) { return 0.1 + 0.9 * (1 + std::cos(std::numbers::pi * progress)) / 2; };
  expect_rates(rates(a.sgd, cosine, 6), {1, at(0.25), at(0.5), at(0.75), 0.1, 0.1});
  Fixture b;
  optim::CosineLR warm(b.sgd, 6, 0.0, 2);
  const auto cold = [](double progress) { return (1 + std::cos(std::numbers::pi * progress)) / 2; };
  expect_rates(rates(b.sgd, warm, 5), {0, 0.5, 1, cold(0.25), cold(0.5)});
}

TEST(Schedules, LinearWarmupMatchesPyTorchLinearLR) {
  Fixture a;
  optim::LinearWarmupLR warmup(a.sgd, 4, 0.2);
  expect_rates(rates(a.sgd, warmup, 6), {0.2, 0.4, 0.6, 0.8, 1.0, 1.0});
}

TEST(Schedules, ReduceOnPlateauWaitsForPatience) {
  Fixture a;
  optim::ReduceLROnPlateau plateau(a.sgd, {.factor = 0.5, .patience = 2});
  EXPECT_FALSE(plateau.step(1.0));
  EXPECT_FALSE(plateau.step(0.5));  // improves
  EXPECT_FALSE(plateau.step(0.6));
  EXPECT_FALSE(plateau.step(0.6));
  EXPECT_DOUBLE_EQ(a.sgd.lr(), 1.0);
  EXPECT_TRUE(plateau.step(0.6));  // third bad epoch > patience
  EXPECT_DOUBLE_EQ(a.sgd.lr(), 0.5);
}
