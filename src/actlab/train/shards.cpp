#include "actlab/train/shards.h"

#include <cstring>

#include "actlab/core/error.h"

namespace actlab::train {

data::Batch batch_shard(const data::Batch& batch, std::int64_t index, std::int64_t count, const char* what,
                        const char* fewer) {
  const std::int64_t rows = batch.labels.size(0);
  ACTLAB_CHECK(count >= 1 && count <= rows, "{}: a batch of {} samples cannot be split into {} parts of at least one "
               "sample each; use a larger --batch or {}", what, rows, count, fewer);
  ACTLAB_CHECK(index >= 0 && index < count, "{}: shard {} of {} does not exist (shards are 0..{})", what, index, count,
               count - 1);
  const std::int64_t begin = index * rows / count, end = (index + 1) * rows / count;
  return {batch.images.narrow(0, begin, end - begin), batch.labels.narrow(0, begin, end - begin)};
}

ShardTotals shard_totals(const StepResult& shard) {
  return {shard.loss * static_cast<double>(shard.samples), shard.correct.value_or(0),
          static_cast<double>(shard.samples)};
}

void apply_totals(const ShardTotals& total, StepResult& result) {
  result.loss = total[0] / total[2];
  if (result.correct) result.correct = total[1];
  result.samples = static_cast<std::int64_t>(total[2]);
}

void write_weighted_gradient(const Tensor& parameter, double share, float* out, const char* what) {
  const Tensor grad = parameter.grad();
  ACTLAB_CHECK(grad.defined() && grad.dtype() == kFloat32 && grad.is_contiguous(),
               "{}: every parameter needs a float32 gradient after backward (a parameter of shape {} has none, or "
               "another dtype); it supports float32 models whose parameters all take part in the loss",
               what, shape_str(parameter.shape()));
  const float* g = grad.data<float>();
  for (std::int64_t i = 0; i < grad.numel(); ++i) out[i] = static_cast<float>(g[i] * share);
}

void append_weighted_gradients(const std::vector<Tensor>& parameters, double share, std::vector<float>& out,
                               const char* what) {
  for (auto p = parameters.rbegin(); p != parameters.rend(); ++p) {
    const std::size_t at = out.size();
    out.resize(at + static_cast<std::size_t>(p->numel()));
    write_weighted_gradient(*p, share, out.data() + at, what);
  }
}

void assign_gradients(const std::vector<Tensor>& parameters, const std::vector<float>& values) {
  std::size_t at = 0;
  for (auto p = parameters.rbegin(); p != parameters.rend(); ++p) {
    const Tensor grad = p->grad();
    std::memcpy(grad.data<float>(), values.data() + at, static_cast<std::size_t>(grad.numel()) * sizeof(float));
    at += static_cast<std::size_t>(grad.numel());
    grad.bump_version();
  }
}

}  // namespace actlab::train
