#include "actlab/data/dataset.h"

#include <cmath>

#include "actlab/core/parallel.h"

namespace actlab::data {

std::string_view split_name(Split split) { return split == Split::Train ? "train" : "test"; }

Dataset Dataset::narrow(std::int64_t begin, std::int64_t end) const {
  ACTLAB_CHECK(0 <= begin && begin <= end && end <= size(),
               "Dataset::narrow: range [{}, {}) is outside {} (size {})", begin, end, name, size());
  return {name, inputs.narrow(0, begin, end - begin), labels.narrow(0, begin, end - begin), class_names};
}

void validate(const Dataset& dataset) {
  const auto& name = dataset.name;
  ACTLAB_CHECK(dataset.inputs.defined() && dataset.labels.defined(), "dataset {}: inputs or labels missing", name);
  const Tensor& x = dataset.inputs;
  ACTLAB_CHECK((x.dtype() == kUInt8 && x.dim() == 4) || (x.dtype() == kFloat32 && (x.dim() == 2 || x.dim() == 3)),
               "dataset {}: inputs must be uint8 [N,C,H,W] or float32 [N,D] or [N,T,D], got {} {}", name, x.dtype(),
               shape_str(x.shape()));
  const Tensor& y = dataset.labels;
  ACTLAB_CHECK((y.dtype() == kInt64 && (y.dim() == 1 || y.dim() == 2)) || (y.dtype() == kFloat32 && y.dim() == 1),
               "dataset {}: labels must be int64 [N] or [N, T], or float32 [N], got {} {}", name, y.dtype(),
               shape_str(y.shape()));
  ACTLAB_CHECK(x.size(0) == dataset.labels.size(0), "dataset {}: {} inputs but {} labels", name, x.size(0),
               dataset.labels.size(0));
  ACTLAB_CHECK(x.is_contiguous() && dataset.labels.is_contiguous(), "dataset {}: buffers must be contiguous", name);
  if (y.dtype() != kInt64) return;
  const std::int64_t* labels = y.data<std::int64_t>();
  const std::int64_t per_sample = y.numel() / std::max<std::int64_t>(1, y.size(0));
  for (std::int64_t i = 0; i < y.numel(); ++i)
    ACTLAB_CHECK(labels[i] >= 0 && labels[i] < dataset.num_classes(),
                 "dataset {}: label {} of sample {} is outside [0, {})", name, labels[i], i / per_sample,
                 dataset.num_classes());
}

std::vector<float> pixel_table(const Normalization& norm, std::int64_t channels) {
  if (norm.enabled())
    ACTLAB_CHECK(static_cast<std::int64_t>(norm.mean.size()) == channels &&
                     static_cast<std::int64_t>(norm.std.size()) == channels,
                 "Normalization: {} means and {} stds for data with {} channels", norm.mean.size(), norm.std.size(),
                 channels);
  std::vector<float> table(static_cast<std::size_t>(channels) * 256);
  for (std::int64_t c = 0; c < channels; ++c) {
    const float mean = norm.enabled() ? norm.mean[c] : 0.0f;
    const float std = norm.enabled() ? norm.std[c] : 1.0f;
    ACTLAB_CHECK(std > 0.0f, "Normalization: std of channel {} is {}, must be positive", c, std);
    for (int v = 0; v < 256; ++v) table[c * 256 + v] = (static_cast<float>(v) / 255.0f - mean) / std;
  }
  return table;
}

Tensor to_float32(const Dataset& dataset, const Normalization& norm) {
  const std::int64_t channels = dataset.channels();
  if (!dataset.is_image()) {
    Tensor out = dataset.inputs.clone();
    if (!norm.enabled()) return out;
    pixel_table(norm, channels);  // validates the channel count and stds
    float* p = out.data<float>();
    for (std::int64_t i = 0; i < out.numel(); ++i) p[i] = (p[i] - norm.mean[i % channels]) / norm.std[i % channels];
    return out;
  }
  const std::vector<float> table = pixel_table(norm, channels);
  Tensor out = Tensor::empty(dataset.inputs.shape(), kFloat32);
  const std::uint8_t* src = dataset.inputs.data<std::uint8_t>();
  float* dst = out.data<float>();
  const std::int64_t plane = dataset.inputs.size(2) * dataset.inputs.size(3);
  const std::int64_t planes = dataset.size() * channels;
  parallel_for(0, planes, std::max<std::int64_t>(1, kParallelGrain / plane), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) {
      const float* lut = table.data() + (p % channels) * 256;
      for (std::int64_t i = p * plane; i < (p + 1) * plane; ++i) dst[i] = lut[src[i]];
    }
  });
  return out;
}

Normalization channel_stats(const Dataset& dataset) {
  const std::int64_t channels = dataset.channels();
  std::vector<double> sum(channels, 0.0), sum_sq(channels, 0.0);
  std::int64_t per_channel = 0;
  if (dataset.is_image()) {
    // Exact integer histograms per channel, then the moments from them.
    std::vector<std::int64_t> histogram(static_cast<std::size_t>(channels) * 256, 0);
    const std::uint8_t* src = dataset.inputs.data<std::uint8_t>();
    const std::int64_t plane = dataset.inputs.size(2) * dataset.inputs.size(3);
    for (std::int64_t p = 0; p < dataset.size() * channels; ++p) {
      std::int64_t* h = histogram.data() + (p % channels) * 256;
      for (std::int64_t i = p * plane; i < (p + 1) * plane; ++i) ++h[src[i]];
    }
    for (std::int64_t c = 0; c < channels; ++c)
      for (int v = 0; v < 256; ++v) {
        const double x = v / 255.0;
        sum[c] += x * histogram[c * 256 + v];
        sum_sq[c] += x * x * histogram[c * 256 + v];
      }
    per_channel = dataset.size() * plane;
  } else {
    const float* src = dataset.inputs.data<float>();
    for (std::int64_t i = 0; i < dataset.inputs.numel(); ++i) {
      sum[i % channels] += src[i];
      sum_sq[i % channels] += static_cast<double>(src[i]) * src[i];
    }
    per_channel = dataset.size();
  }
  ACTLAB_CHECK(per_channel > 0, "channel_stats: dataset {} is empty", dataset.name);
  Normalization stats;
  for (std::int64_t c = 0; c < channels; ++c) {
    const double mean = sum[c] / per_channel;
    stats.mean.push_back(static_cast<float>(mean));
    stats.std.push_back(static_cast<float>(std::sqrt(std::max(0.0, sum_sq[c] / per_channel - mean * mean))));
  }
  return stats;
}

std::vector<std::int64_t> class_counts(const Dataset& dataset) {
  ACTLAB_CHECK(dataset.labels.dtype() == kInt64, "class_counts: dataset {} has real-valued targets, not classes",
               dataset.name);
  std::vector<std::int64_t> counts(dataset.num_classes(), 0);
  const std::int64_t* labels = dataset.labels.data<std::int64_t>();
  for (std::int64_t i = 0; i < dataset.labels.numel(); ++i) ++counts.at(labels[i]);
  return counts;
}

TrainValidation split_validation(const Dataset& train, std::int64_t validation_size) {
  ACTLAB_CHECK(validation_size >= 0 && validation_size < train.size(),
               "split_validation: validation size {} must be in [0, {}) for {}", validation_size, train.size(),
               train.name);
  const std::int64_t cut = train.size() - validation_size;
  TrainValidation split{train.narrow(0, cut), train.narrow(cut, train.size())};
  split.validation.name = train.name + "[validation]";
  return split;
}

}  // namespace actlab::data
