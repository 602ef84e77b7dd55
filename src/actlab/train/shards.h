// A batch shared out in shards and their gradients summed back, one implementation for both
// ways actlab splits a batch: over the ranks of data-parallel training (data_parallel.h) and over
// the micro-batches of gradient accumulation (StepOptions::accumulate).
//
// Shard k of K holds rows [k*rows/K, (k+1)*rows/K). The batch's mean gradient is the sum, in
// shard order, of each shard's mean gradient g_k times its share n_k/n of the rows, each term
// rounded to float32: float(g_0*share_0) + float(g_1*share_1) + ... (left to right). The loss,
// correct count and sample count are summed the same way. So the same shards give the same bits
// whether their terms are summed in one process or gathered from K ranks.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "actlab/core/tensor.h"
#include "actlab/data/loader.h"
#include "actlab/train/step.h"

namespace actlab::train {

// Shard `index` of `count` (views, no copy). Throws Error when count is not in [1, rows] or
// index not in [0, count); the message names the split (`what`: "--accumulate") and its other
// fix besides a larger --batch (`fewer`: "a smaller --accumulate").
data::Batch batch_shard(const data::Batch& batch, std::int64_t index, std::int64_t count, const char* what,
                        const char* fewer);

// A shard's part of the batch's metrics: {loss x samples, correct, samples}.
using ShardTotals = std::array<double, 3>;
ShardTotals shard_totals(const StepResult& shard);
// Sets the result's loss, correct count and samples from the totals summed over all shards.
void apply_totals(const ShardTotals& total, StepResult& result);

// Writes float(g * share) for every element of the parameter's gradient g to out[0, numel).
// Throws Error when it has no float32 contiguous gradient; `what` names the caller in the message.
void write_weighted_gradient(const Tensor& parameter, double share, float* out, const char* what);
// Appends write_weighted_gradient's values for every parameter, last parameter first (the order
// backward finishes them).
void append_weighted_gradients(const std::vector<Tensor>& parameters, double share, std::vector<float>& out,
                               const char* what);
// Writes `values` (in append_weighted_gradients' order) into the parameters' gradients.
void assign_gradients(const std::vector<Tensor>& parameters, const std::vector<float>& values);

// Adds the next shard's `count` terms to the sum of the shards before it: sum[i] += term[i].
template <typename T>
void add_shard(const T* term, std::size_t count, T* sum) {
  for (std::size_t i = 0; i < count; ++i) sum[i] += term[i];
}

// The sum over `shards` consecutive blocks of `count` values (shard-major), in shard order.
template <typename T>
void sum_in_shard_order(const T* blocks, std::size_t count, std::size_t shards, T* out) {
  std::copy(blocks, blocks + count, out);
  for (std::size_t k = 1; k < shards; ++k) add_shard(blocks + k * count, count, out);
}

}  // namespace actlab::train
