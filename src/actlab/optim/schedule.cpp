#include "actlab/optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace actlab::optim {

LRScheduler::LRScheduler(Optimizer& optimizer, Rule rule) : optimizer_(optimizer), rule_(std::move(rule)) {
  for (std::size_t g = 0; g < optimizer_.num_groups(); ++g) base_lrs_.push_back(optimizer_.lr(g));
  set_epoch(0);
}

void LRScheduler::step() { set_epoch(epoch_ + 1); }

void LRScheduler::set_epoch(std::int64_t epoch) {
  ACTLAB_CHECK(epoch >= 0, "LRScheduler: epoch must be >= 0, got {}", epoch);
  epoch_ = epoch;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(g, rule_(epoch_, base_lrs_[g]));
}

namespace {
double power(double gamma, std::int64_t n) { return std::pow(gamma, static_cast<double>(n)); }
}  // namespace

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer, [step_size, gamma](std::int64_t e, double base) { return base * power(gamma, e / step_size); }) {
  ACTLAB_CHECK(step_size >= 1, "StepLR: step_size must be >= 1, got {}", step_size);
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler(optimizer, [milestones, gamma](std::int64_t e, double base) {
        return base * power(gamma, std::count_if(milestones.begin(), milestones.end(), [e](auto m) { return m <= e; }));
      }) {}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma)
    : LRScheduler(optimizer, [gamma](std::int64_t e, double base) { return base * power(gamma, e); }) {}

CosineLR::CosineLR(Optimizer& optimizer, std::int64_t total, double eta_min, std::int64_t warmup)
    : LRScheduler(optimizer, [total, eta_min, warmup](std::int64_t e, double base) {
        if (e < warmup) return base * static_cast<double>(e) / static_cast<double>(warmup);
        if (e >= total) return eta_min;
        const double progress = static_cast<double>(e - warmup) / static_cast<double>(total - warmup);
        return eta_min + (base - eta_min) * (1 + std::cos(std::numbers::pi * progress)) / 2;
      }) {
  ACTLAB_CHECK(total >= 1 && warmup >= 0 && warmup < total,
               "CosineLR: need total_epochs >= 1 and 0 <= warmup_epochs < total_epochs (got {} and {})", total, warmup);
}

LinearWarmupLR::LinearWarmupLR(Optimizer& optimizer, std::int64_t warmup, double start_factor)
    : LRScheduler(optimizer, [warmup, start_factor](std::int64_t e, double base) {
        const double done = static_cast<double>(std::min(e, warmup)) / static_cast<double>(warmup);
        return base * (start_factor + (1 - start_factor) * done);
      }) {
  ACTLAB_CHECK(warmup >= 1 && start_factor > 0 && start_factor <= 1,
               "LinearWarmupLR: need warmup_epochs >= 1 and 0 < start_factor <= 1 (got {} and {})", warmup, start_factor);
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, PlateauOptions options)
    : optimizer_(optimizer),
      options_(options),
      best_(options.maximize ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity()) {
  ACTLAB_CHECK(options.factor > 0 && options.factor < 1, "ReduceLROnPlateau: factor must be in (0, 1), got {}",
               options.factor);
}

bool ReduceLROnPlateau::step(double metric) {
  const bool better = options_.maximize ? metric > best_ * (1 + options_.threshold)
                                        : metric < best_ * (1 - options_.threshold);
  if (better) {
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ <= options_.patience) return false;
  bool reduced = false;
  for (std::size_t g = 0; g < optimizer_.num_groups(); ++g) {
    const double old_lr = optimizer_.lr(g), new_lr = std::max(old_lr * options_.factor, options_.min_lr);
    if (old_lr - new_lr > 1e-8) {
      optimizer_.set_lr(g, new_lr);
      reduced = true;
    }
  }
  cooldown_left_ = options_.cooldown;
  bad_epochs_ = 0;
  return reduced;
}

}  // namespace actlab::optim
