// Data-parallel training over MPI ranks (`mpirun -np N actlab compare --data-parallel ...`):
// every run of the sweep is trained by all ranks together (train/data_parallel.h).
//
// - The loader yields batches of N x `batch` samples, the same on every rank (same seed); rank r
//   trains on rows [r*B/N, (r+1)*B/N) of each, so each epoch's order is sharded by rank and the
//   run sees the same samples as one process with batch N x `batch`.
// - After backward the gradients are exchanged in buckets of up to 4 MiB (in reverse
//   registration order, the order backward finishes them), each bucket's reduction started as
//   soon as it is packed, and averaged weighted by each rank's samples (train/shards.h, which
//   gradient accumulation shares). Default: MPI_Allreduce
//   (Open MPI chooses the algorithm). Deterministic mode (`fixed_order`): each bucket is
//   gathered from every rank and summed in rank order, the same bits whatever the algorithm.
// - The loss, correct count and sample count are summed in rank order, so every rank records
//   the same metrics; parameters and buffers are broadcast from rank 0 when a run starts.
// - BatchNorm is not synchronized: each rank normalizes with its own rows' statistics, and the
//   running statistics saved are rank 0's.
// - Only rank 0 writes files (its dispatcher, DataParallelSweep, claims the folder and records).
//
// Requires float32 parameters and a world of two ranks or more; every rank must see the same
// settings and data. Throws Error when a batch has fewer rows than ranks.
#pragma once

#include <vector>

#include "actlab/distributed/world.h"
#include "actlab/experiment/dispatch.h"
#include "actlab/train/data_parallel.h"

namespace actlab::distributed {

class DataParallelOverRanks final : public train::DataParallelGroup {
 public:
  DataParallelOverRanks(const World& world, bool fixed_order);
  int rank() const override { return world_.rank(); }
  int size() const override { return world_.size(); }
  void broadcast(nn::Module& model) override;
  bool any(bool flag) override;
  data::Batch local_batch(const data::Batch& batch) const override;
  void synchronize(const std::vector<Tensor>& parameters, train::StepResult& result) override;
  void barrier() override;
  double exchange_seconds() const override { return exchange_seconds_; }

 private:
  void reduce_buckets(std::vector<float>& values);
  const World& world_;
  bool fixed_order_;
  double exchange_seconds_ = 0;
  std::vector<float> gradients_, gathered_;
};

// The sweep of a data-parallel experiment: every rank takes every pending run in sweep order;
// rank 0 claims the folder and records the results, and all stop together once it says so.
class DataParallelSweep final : public experiment::RunDispatcher {
 public:
  explicit DataParallelSweep(const World& world) : world_(world) {}
  bool coordinator() const override { return world_.rank() == 0; }
  bool concurrent() const override { return false; }
  void run(const experiment::SweepWork& work) override;

 private:
  const World& world_;
};

}  // namespace actlab::distributed
