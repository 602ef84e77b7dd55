#include "actlab/distributed/data_parallel.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "actlab/autograd/node.h"
#include "actlab/core/error.h"
#include "actlab/train/shards.h"

namespace actlab::distributed {
namespace {

// 256 KiB: the shared-memory transport reaches its full bandwidth there already (DISTRIBUTED.md),
// and small buckets start early in backward.
constexpr std::size_t kBucketFloats = std::size_t{1} << 16;

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

void DataParallelOverRanks::combine(train::StepResult& result) {
  const auto start = std::chrono::steady_clock::now();
  // loss x samples, correct, samples: gathered and summed in rank order, the same on every rank.
  const train::ShardTotals mine = train::shard_totals(result);
  std::vector<double> all(mine.size() * static_cast<std::size_t>(world_.size()));
  MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, all.data(), static_cast<int>(mine.size()),
                MPI_DOUBLE, MPI_COMM_WORLD);
  train::ShardTotals total;
  train::sum_in_shard_order(all.data(), mine.size(), static_cast<std::size_t>(world_.size()), total.data());
  share_ = mine[2] / total[2];
  train::apply_totals(total, result);
  exchange_seconds_ += seconds_since(start);
}

void DataParallelOverRanks::lay_out(const std::vector<Tensor>& parameters) {
  const bool same = parameters.size() == parameters_.size() &&
                    std::equal(parameters.rbegin(), parameters.rend(), parameters_.begin(),
                               [](const Tensor& a, const Tensor& b) { return a.impl() == b.impl(); });
  if (!same) {
    parameters_.assign(parameters.rbegin(), parameters.rend());
    index_of_.clear();
    offset_.clear();
    bucket_of_.clear();
    bucket_begin_ = {0};
    std::size_t floats = 0, bucket_floats = 0;
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      if (bucket_floats >= kBucketFloats) {
        bucket_begin_.push_back(i);
        bucket_floats = 0;
      }
      index_of_[parameters_[i].impl().get()] = i;
      offset_.push_back(floats);
      bucket_of_.push_back(bucket_begin_.size() - 1);
      const auto numel = static_cast<std::size_t>(parameters_[i].numel());
      floats += numel;
      bucket_floats += numel;
    }
    bucket_begin_.push_back(parameters_.size());
    offset_.push_back(floats);
    gradients_.resize(floats);
    if (fixed_order_) gathered_.resize(floats * static_cast<std::size_t>(world_.size()));
  }
  packed_.assign(parameters_.size(), false);
  missing_.clear();
  for (std::size_t b = 0; b + 1 < bucket_begin_.size(); ++b) missing_.push_back(bucket_begin_[b + 1] - bucket_begin_[b]);
  started_ = 0;
  requests_.clear();
}

void DataParallelOverRanks::pack(std::size_t parameter) {
  train::write_weighted_gradient(parameters_[parameter], share_, gradients_.data() + offset_[parameter],
                                 "data-parallel");
  packed_[parameter] = true;
  --missing_[bucket_of_[parameter]];
}

void DataParallelOverRanks::start_ready_buckets() {
  const std::size_t ranks = static_cast<std::size_t>(world_.size());
  for (; started_ < missing_.size() && missing_[started_] == 0; ++started_) {
    const std::size_t begin = offset_[bucket_begin_[started_]];
    const int count = static_cast<int>(offset_[bucket_begin_[started_ + 1]] - begin);
    requests_.emplace_back();
    if (fixed_order_)
      MPI_Iallgather(gradients_.data() + begin, count, MPI_FLOAT, gathered_.data() + begin * ranks, count, MPI_FLOAT,
                     MPI_COMM_WORLD, &requests_.back());
    else
      MPI_Iallreduce(MPI_IN_PLACE, gradients_.data() + begin, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                     &requests_.back());
  }
  // Open MPI moves a non-blocking collective on only inside MPI calls.
  int done = 0;
  MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE);
}

void DataParallelOverRanks::reduce_gradients(const std::vector<Tensor>& parameters,
                                             const std::function<void()>& backward) {
  lay_out(parameters);
  double seconds = 0;  // spent exchanging, not in backward
  {
    autograd::GradientReadyGuard guard([&](const Tensor& leaf) {
      const auto start = std::chrono::steady_clock::now();
      const auto found = index_of_.find(leaf.impl().get());
      if (found != index_of_.end() && !packed_[found->second]) {
        pack(found->second);
        start_ready_buckets();
      }
      seconds += seconds_since(start);
    });
    backward();
  }
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < parameters_.size(); ++i)
    if (!packed_[i]) pack(i);  // no use of it reported (backward already ran, as with accumulation)
  start_ready_buckets();
  MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
  if (fixed_order_) {
    const std::size_t ranks = static_cast<std::size_t>(world_.size());
    for (std::size_t b = 0; b + 1 < bucket_begin_.size(); ++b) {
      const std::size_t begin = offset_[bucket_begin_[b]], end = offset_[bucket_begin_[b + 1]];
      train::sum_in_shard_order(gathered_.data() + begin * ranks, end - begin, ranks, gradients_.data() + begin);
    }
  }
  train::assign_gradients(parameters, gradients_);
  exchange_seconds_ += seconds + seconds_since(start);
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
