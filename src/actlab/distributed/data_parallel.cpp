#include "actlab/distributed/data_parallel.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "actlab/core/error.h"
#include "actlab/train/shards.h"

namespace actlab::distributed {
namespace {

constexpr std::size_t kBucketFloats = std::size_t{1} << 20;  // 4 MiB

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

DataParallelOverRanks::DataParallelOverRanks(const World& world, bool fixed_order)
    : world_(world), fixed_order_(fixed_order) {
  ACTLAB_CHECK(world.size() >= 2, "--data-parallel needs at least 2 ranks (mpirun -np 2 ...), the world has {}",
               world.size());
}

void DataParallelOverRanks::broadcast(nn::Module& model) {
  for (const nn::StateDict& tensors : {model.named_parameters(), model.named_buffers()})
    for (const auto& [name, tensor] : tensors) {
      ACTLAB_CHECK(tensor.is_contiguous(), "data-parallel: {} is not contiguous; cannot broadcast it", name);
      const std::int64_t bytes = tensor.numel() * static_cast<std::int64_t>(element_size(tensor.dtype()));
      MPI_Bcast(tensor.raw_data(), static_cast<int>(bytes), MPI_BYTE, 0, MPI_COMM_WORLD);
      tensor.bump_version();
    }
}

bool DataParallelOverRanks::any(bool flag) {
  int value = flag ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return value != 0;
}

void DataParallelOverRanks::barrier() { MPI_Barrier(MPI_COMM_WORLD); }

data::Batch DataParallelOverRanks::local_batch(const data::Batch& batch) const {
  return train::batch_shard(batch, world_.rank(), world_.size(), "data-parallel", "fewer ranks");
}

void DataParallelOverRanks::reduce_buckets(std::vector<float>& values) {
  const std::size_t ranks = static_cast<std::size_t>(world_.size());
  std::vector<MPI_Request> requests;
  if (fixed_order_) gathered_.resize(values.size() * ranks);
  for (std::size_t begin = 0; begin < values.size(); begin += kBucketFloats) {
    const int count = static_cast<int>(std::min(kBucketFloats, values.size() - begin));
    requests.emplace_back();
    if (fixed_order_)
      MPI_Iallgather(values.data() + begin, count, MPI_FLOAT, gathered_.data() + begin * ranks, count, MPI_FLOAT,
                     MPI_COMM_WORLD, &requests.back());
    else
      MPI_Iallreduce(MPI_IN_PLACE, values.data() + begin, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &requests.back());
  }
  MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  if (!fixed_order_) return;
  for (std::size_t begin = 0; begin < values.size(); begin += kBucketFloats) {
    const std::size_t count = std::min(kBucketFloats, values.size() - begin);
    train::sum_in_shard_order(gathered_.data() + begin * ranks, count, ranks, values.data() + begin);
  }
}

void DataParallelOverRanks::synchronize(const std::vector<Tensor>& parameters, train::StepResult& result) {
  const auto start = std::chrono::steady_clock::now();
  // loss x samples, correct, samples: gathered and summed in rank order, the same on every rank.
  const train::ShardTotals mine = train::shard_totals(result);
  std::vector<double> all(mine.size() * static_cast<std::size_t>(world_.size()));
  MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, all.data(), static_cast<int>(mine.size()),
                MPI_DOUBLE, MPI_COMM_WORLD);
  train::ShardTotals total;
  train::sum_in_shard_order(all.data(), mine.size(), static_cast<std::size_t>(world_.size()), total.data());
  const double share = mine[2] / total[2];  // this rank's weight in the mean gradient
  train::apply_totals(total, result);
  if (std::isfinite(result.loss)) {  // not finite on any rank: no rank updates, nothing to exchange
    gradients_.clear();
    train::append_weighted_gradients(parameters, share, gradients_, "data-parallel");
    reduce_buckets(gradients_);
    train::assign_gradients(parameters, gradients_);
  }
  exchange_seconds_ += seconds_since(start);
}

void DataParallelSweep::run(const experiment::SweepWork& work) {
  std::vector<std::int64_t> pending;
  std::int64_t count = -1;  // -1: rank 0 could not start the sweep
  std::exception_ptr failure;
  if (coordinator()) {
    try {
      for (const std::size_t run : work.prepare()) pending.push_back(static_cast<std::int64_t>(run));
      count = static_cast<std::int64_t>(pending.size());
    } catch (...) {
      failure = std::current_exception();
    }
  }
  MPI_Bcast(&count, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  if (failure) std::rethrow_exception(failure);
  ACTLAB_CHECK(count >= 0, "rank 0 could not start the sweep (its message says why)");
  pending.resize(static_cast<std::size_t>(count));
  MPI_Bcast(pending.data(), static_cast<int>(count), MPI_INT64_T, 0, MPI_COMM_WORLD);
  try {
    for (const std::int64_t run : pending) {
      const auto i = static_cast<std::size_t>(run);
      const experiment::RunResult result = work.train(i);
      int go_on = coordinator() ? static_cast<int>(work.record(i, result)) : 0;
      MPI_Bcast(&go_on, 1, MPI_INT, 0, MPI_COMM_WORLD);
      if (!go_on) return;
    }
  } catch (const std::exception& e) {
    world_.abort_job(e);  // the other ranks wait for this one in the next collective
  }
}

}  // namespace actlab::distributed
