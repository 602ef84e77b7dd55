// Learning-rate schedules. A schedule rescales each group's initial ("base") learning rate as a
// closed-form function of the epoch counter; call step() once per epoch (or per iteration, if
// that is the unit you chose). Constructing one sets epoch 0's rate, as PyTorch does.
//
//   StepLR            base * gamma^floor(epoch / step_size)
//   MultiStepLR       base * gamma^(number of milestones <= epoch)
//   ExponentialLR     base * gamma^epoch
//   CosineLR          linear warmup 0 -> base over `warmup` epochs, then
//                     eta_min + (base - eta_min) (1 + cos(pi (epoch - warmup) / (total - warmup))) / 2,
//                     eta_min after `total` (with warmup 0 this is PyTorch's CosineAnnealingLR)
//   LinearWarmupLR    base * (start_factor + (1 - start_factor) min(epoch, warmup) / warmup)
//                     (PyTorch's LinearLR with end_factor 1)
//   ReduceLROnPlateau multiplies the rates by `factor` after `patience` epochs without improvement
//                     of a monitored metric (PyTorch's semantics, relative threshold)
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "actlab/optim/optimizer.h"

namespace actlab::optim {

class LRScheduler {
 public:
  using Rule = std::function<double(std::int64_t epoch, double base_lr)>;
  LRScheduler(Optimizer& optimizer, Rule rule);
  virtual ~LRScheduler() = default;

  // Advances the epoch and sets every group's learning rate.
  void step();
  std::int64_t epoch() const { return epoch_; }
  // Jumps to `epoch` (e.g. when resuming) and sets the rates for it.
  void set_epoch(std::int64_t epoch);

 private:
  Optimizer& optimizer_;
  Rule rule_;
  std::vector<double> base_lrs_;
  std::int64_t epoch_ = 0;
};

class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
};

class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);
};

class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);
};

class CosineLR : public LRScheduler {
 public:
  CosineLR(Optimizer& optimizer, std::int64_t total_epochs, double eta_min = 0, std::int64_t warmup_epochs = 0);
};

class LinearWarmupLR : public LRScheduler {
 public:
  LinearWarmupLR(Optimizer& optimizer, std::int64_t warmup_epochs = 5, double start_factor = 1.0 / 3);
};

struct PlateauOptions {
  bool maximize = false;  // the metric improves when it goes down (a loss) unless set
  double factor = 0.1;
  std::int64_t patience = 10;
  double threshold = 1e-4;  // relative: an improvement must beat best * (1 -/+ threshold)
  std::int64_t cooldown = 0;
  double min_lr = 0;
};

class ReduceLROnPlateau {
 public:
  explicit ReduceLROnPlateau(Optimizer& optimizer, PlateauOptions options = {});
  // Reports the epoch's metric; returns true when the rates were reduced.
  bool step(double metric);

 private:
  Optimizer& optimizer_;
  PlateauOptions options_;
  double best_;
  std::int64_t bad_epochs_ = 0, cooldown_left_ = 0;
};

}  // namespace actlab::optim
