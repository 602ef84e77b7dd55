// Dataset: a labelled set of samples held in memory, and its conversion to float32 batches.
//
// Image sets keep their pixels as one contiguous uint8 tensor [N, C, H, W] (4 bytes per pixel
// less than float32; MNIST train is 47 MB) and convert on the fly. Synthetic sets hold float32
// features [N, D] (sequences [N, T, D]). Labels are int64 [N] in [0, classes().size()), int64
// [N, T] for a class per time step, or float32 [N] for a real-valued target (then classes()
// names the one output, e.g. {"sum"}).
//
// Subsets (narrow, train/validation split) are views: they share the parent's buffers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actlab/core/tensor.h"

namespace actlab::data {

// Per-channel affine map applied after scaling pixels to [0, 1]: x -> (x - mean[c]) / std[c].
// Empty vectors mean "leave values in [0, 1]" (or unchanged, for float features).
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;

  bool enabled() const { return !mean.empty(); }
};

// The two splits every upstream dataset ships.
enum class Split { Train, Test };
std::string_view split_name(Split split);  // "train" / "test"

struct Dataset {
  std::string name;                      // e.g. "mnist/train"
  Tensor inputs;                         // uint8 [N, C, H, W] or float32 [N, D] / [N, T, D]
  Tensor labels;                         // int64 [N] / [N, T] or float32 [N]
  std::vector<std::string> class_names;  // one per class

  std::int64_t size() const { return labels.numel() == 0 ? 0 : labels.size(0); }
  std::int64_t num_classes() const { return static_cast<std::int64_t>(class_names.size()); }
  bool is_image() const { return inputs.dtype() == kUInt8; }
  // Shape of one sample: [C, H, W] or [D].
  Shape sample_shape() const { return Shape(inputs.shape().begin() + 1, inputs.shape().end()); }
  // Channels: C for images, D for features (normalization is per channel / per feature).
  std::int64_t channels() const { return inputs.size(1); }

  // Samples [begin, end) as a view. Throws when the range is outside [0, size()].
  Dataset narrow(std::int64_t begin, std::int64_t end) const;
};

// Checks the invariants above (shapes, dtypes, contiguity, label range) and throws Error naming
// `dataset.name` and the first violation.
void validate(const Dataset& dataset);

// Every sample converted to float32, shaped [N, C, H, W] (or [N, D]): pixels scaled to [0, 1],
// then normalized when `norm` is enabled. Throws when norm has the wrong channel count or a
// non-positive std.
Tensor to_float32(const Dataset& dataset, const Normalization& norm = {});

// Per-channel mean and population std of the values to_float32 would produce without
// normalization; feed the result back as a Normalization.
Normalization channel_stats(const Dataset& dataset);

// Number of samples of each class, indexed by label.
std::vector<std::int64_t> class_counts(const Dataset& dataset);

// A fixed train/validation split: the last `validation_size` samples of `train` become the
// validation set, so every arm of an experiment sees the same split whatever its seed.
struct TrainValidation {
  Dataset train;
  Dataset validation;
};
// Throws when validation_size is negative or not smaller than train.size().
TrainValidation split_validation(const Dataset& train, std::int64_t validation_size);

// 256-entry table mapping a pixel byte to its float32 value for channel c (scaled, normalized).
// Used by to_float32 and the loader so both produce identical values.
std::vector<float> pixel_table(const Normalization& norm, std::int64_t channels);

}  // namespace actlab::data
