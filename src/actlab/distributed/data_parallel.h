// Data-parallel training over MPI ranks (`mpirun -np N actlab compare --data-parallel ...`):
// every run of the sweep is trained by all ranks together (train/data_parallel.h).
//
// - The loader yields batches of N x `batch` samples, the same on every rank (same seed); rank r
//   trains on rows [r*B/N, (r+1)*B/N) of each, so each epoch's order is sharded by rank and the
//   run sees the same samples as one process with batch N x `batch`.
// - The loss, correct count and sample count are summed in rank order before backward, so every
//   rank records the same metrics and all agree whether backward runs; parameters and buffers
//   are broadcast from rank 0 when a run starts.
// - The gradients are exchanged while backward runs, in buckets of whole parameters of about
//   256 KiB in reverse registration order (the order backward finishes them): a bucket's
//   reduction starts once backward has finished all of its parameters and the buckets before it
//   have started (so every rank starts them in the same order), and each gradient is weighted
//   by its rank's share of the samples (train/shards.h, which gradient accumulation shares).
//   Default: MPI_Iallreduce (Open MPI chooses the algorithm). Deterministic mode
//   (`fixed_order`): each bucket is gathered from every rank and summed in rank order, the same
//   bits whatever the algorithm or the bucket size.
// - Only the training step's backward overlaps the exchange: the diagnostics' own backward
//   passes (probes, the NaN locator) run outside it and exchange nothing.
// - BatchNorm is not synchronized: each rank normalizes with its own rows' statistics, and the
//   running statistics saved are rank 0's.
// - Only rank 0 writes files (its dispatcher, DataParallelSweep, claims the folder and records).
//
// Requires float32 parameters and a world of two ranks or more; every rank must see the same
// settings and data. Throws Error when a batch has fewer rows than ranks.
#pragma once

#include <unordered_map>
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
  void combine(train::StepResult& result) override;
  void reduce_gradients(const std::vector<Tensor>& parameters, const std::function<void()>& backward) override;
  void barrier() override;
  double exchange_seconds() const override { return exchange_seconds_; }

 private:
  void lay_out(const std::vector<Tensor>& parameters);
  void pack(std::size_t parameter);
  void start_ready_buckets();
  const World& world_;
  bool fixed_order_;
  double exchange_seconds_ = 0;
  double share_ = 1;  // this rank's share of the batch's samples, from combine()
  // The gradient layout: parameters last first, each at offset_[i] of gradients_, in buckets
  // [bucket_begin_[b], bucket_begin_[b + 1]) of parameter indices.
  std::vector<Tensor> parameters_;
  std::unordered_map<const TensorImpl*, std::size_t> index_of_;
  std::vector<std::size_t> offset_, bucket_of_, bucket_begin_;
  // One step's exchange: what is packed, how much of each bucket is still missing, which
  // buckets have started.
  std::vector<bool> packed_;
  std::vector<std::size_t> missing_;
  std::size_t started_ = 0;
  std::vector<MPI_Request> requests_;
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
