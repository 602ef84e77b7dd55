#include "actlab/distributed/data_parallel.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "actlab/core/error.h"

namespace actlab::distributed {
namespace {

constexpr std::size_t kBucketFloats = std::size_t{1} << 20;  // 4 MiB

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Sums `count` values per rank, in rank order, from `gathered` (rank-major) into `out`.
template <typename T>
void sum_in_rank_order(const T* gathered, std::size_t count, int ranks, T* out) {
  std::copy(gathered, gathered + count, out);
  for (int r = 1; r < ranks; ++r)
    for (std::size_t i = 0; i < count; ++i) out[i] += gathered[static_cast<std::size_t>(r) * count + i];
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
  const std::int64_t rows = batch.labels.size(0), ranks = world_.size(), r = world_.rank();
  ACTLAB_CHECK(rows >= ranks, "data-parallel: a batch of {} samples cannot be shared by {} ranks; use a larger --batch "
               "or fewer ranks", rows, ranks);
  const std::int64_t begin = r * rows / ranks, end = (r + 1) * rows / ranks;
  return {batch.images.narrow(0, begin, end - begin), batch.labels.narrow(0, begin, end - begin)};
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
    sum_in_rank_order(gathered_.data() + begin * ranks, count, world_.size(), values.data() + begin);
  }
}

void DataParallelOverRanks::synchronize(const std::vector<Tensor>& parameters, train::StepResult& result) {
  const auto start = std::chrono::steady_clock::now();
  // loss x samples, correct, samples: gathered and summed in rank order, the same on every rank.
  const double mine[3] = {result.loss * static_cast<double>(result.samples), result.correct.value_or(0),
                          static_cast<double>(result.samples)};
  std::vector<double> all(3 * static_cast<std::size_t>(world_.size()));
  MPI_Allgather(mine, 3, MPI_DOUBLE, all.data(), 3, MPI_DOUBLE, MPI_COMM_WORLD);
  double total[3];
  sum_in_rank_order(all.data(), 3, world_.size(), total);
  const double share = mine[2] / total[2];  // this rank's weight in the mean gradient
  result.loss = total[0] / total[2];
  if (result.correct) result.correct = total[1];
  result.samples = static_cast<std::int64_t>(total[2]);
  if (std::isfinite(result.loss)) {  // not finite on any rank: no rank updates, nothing to exchange
    gradients_.clear();
    for (auto p = parameters.rbegin(); p != parameters.rend(); ++p) {
      const Tensor grad = p->grad();
      ACTLAB_CHECK(grad.defined() && grad.dtype() == kFloat32 && grad.is_contiguous(),
                   "data-parallel: every parameter needs a float32 gradient after backward (a parameter of shape {} "
                   "has none, or another dtype); data-parallel training supports float32 models whose parameters all "
                   "take part in the loss", shape_str(p->shape()));
      const float* g = grad.data<float>();
      for (std::int64_t i = 0; i < grad.numel(); ++i) gradients_.push_back(static_cast<float>(g[i] * share));
    }
    reduce_buckets(gradients_);
    std::size_t at = 0;
    for (auto p = parameters.rbegin(); p != parameters.rend(); ++p) {
      const Tensor grad = p->grad();
      std::memcpy(grad.data<float>(), gradients_.data() + at, static_cast<std::size_t>(grad.numel()) * sizeof(float));
      at += static_cast<std::size_t>(grad.numel());
      grad.bump_version();
    }
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
