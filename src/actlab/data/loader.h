// DataLoader: batches of a Dataset, shuffled per epoch from a seed, prefetched on a thread.
//
//   data::DataLoader loader(data::load_dataset("mnist", data::Split::Train),
//                           data::LoaderOptions().batch_size(128).seed(1));
//   for (int epoch = 0; epoch < 10; ++epoch)
//     for (data::Batch& batch : loader) {   // one epoch per loop
//       batch.images;  // float32 [B, C, H, W] ([B, C*H*W] with flatten, [B, D] for features)
//       batch.labels;  // int64 [B]
//     }
//
// Guarantees:
// - Deterministic: batch b of epoch e depends only on (dataset, options, e, b), never on timing
//   or thread count. The order of epoch e is a permutation drawn from (seed, e); augmentation
//   draws come from (seed, e, position in the epoch).
// - Pixels become float32 through the same table as to_float32(), so values match exactly.
// - While the caller works on batch b, a background thread builds batch b + 1 (when prefetch).
// - Per batch: one images and one labels tensor; nothing is allocated per sample.
// - position() / set_position() save and restore where the loader is, for resuming
//   mid-epoch: after set_position({e, b}) the next loop yields epoch e from batch b.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "actlab/core/tensor.h"
#include "actlab/data/dataset.h"

namespace actlab::data {

struct LoaderOptions {
  std::int64_t batch_size_ = 64;
  bool shuffle_ = true;
  bool drop_last_ = false;
  std::uint64_t seed_ = 0;
  bool augment_ = false;  // images only: random crop with zero padding 4, then horizontal flip (p = 0.5)
  bool flatten_ = false;  // images as [B, C*H*W] for MLPs
  bool prefetch_ = true;
  Normalization normalize_;  // empty: pixels in [0, 1]

  LoaderOptions& batch_size(std::int64_t v) { batch_size_ = v; return *this; }
  LoaderOptions& shuffle(bool v) { shuffle_ = v; return *this; }
  LoaderOptions& drop_last(bool v) { drop_last_ = v; return *this; }
  LoaderOptions& seed(std::uint64_t v) { seed_ = v; return *this; }
  LoaderOptions& augment(bool v) { augment_ = v; return *this; }
  LoaderOptions& flatten(bool v) { flatten_ = v; return *this; }
  LoaderOptions& prefetch(bool v) { prefetch_ = v; return *this; }
  LoaderOptions& normalize(Normalization v) { normalize_ = std::move(v); return *this; }
};

struct Batch {
  Tensor images;  // float32
  Tensor labels;  // int64 [B]
};

// Where a loader stands: the epoch being (or about to be) iterated, and the number of its
// batches already handed out.
struct LoaderPosition {
  std::int64_t epoch = 0;
  std::int64_t batch = 0;
  bool operator==(const LoaderPosition&) const = default;
};

class DataLoader {
 public:
  // Throws on an invalid dataset (see validate()), batch_size < 1, augmentation of non-image
  // data, or a normalization with the wrong channel count.
  DataLoader(Dataset dataset, LoaderOptions options = {});
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  const Dataset& dataset() const { return dataset_; }
  const LoaderOptions& options() const { return options_; }
  // Batches per epoch (the last one may be short unless drop_last).
  std::int64_t batches_per_epoch() const;

  LoaderPosition position() const;
  // Throws when batch is outside [0, batches_per_epoch()].
  void set_position(LoaderPosition position);

  // Builds batch `index` of `epoch` directly (no prefetch, position unchanged).
  Batch batch_at(std::int64_t epoch, std::int64_t index) const;

  class Iterator;
  struct Sentinel {};
  // Starts (or resumes) the current epoch; a finished epoch moves on to the next one.
  Iterator begin();
  Sentinel end() const { return {}; }

 private:
  void start_epoch(std::int64_t epoch);
  bool advance();  // hands out the next batch of the epoch; false at its end
  void worker_loop();
  void request(std::int64_t index);
  Batch take(std::int64_t index);
  Batch build_batch(const std::vector<std::int64_t>& order, std::int64_t epoch, std::int64_t index) const;

  Dataset dataset_;
  LoaderOptions options_;
  std::vector<float> pixel_table_;
  std::int64_t epoch_ = 0;
  std::int64_t next_batch_ = 0;
  std::int64_t permutation_epoch_ = -1;
  std::vector<std::int64_t> order_;  // sample order of permutation_epoch_
  Batch current_;

  // Prefetch: the worker builds `requested_` into `ready_`.
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<std::int64_t> requested_;
  std::optional<std::int64_t> ready_index_;
  Batch ready_;
  bool stopping_ = false;

  friend class Iterator;
};

class DataLoader::Iterator {
 public:
  explicit Iterator(DataLoader* loader, bool valid) : loader_(loader), valid_(valid) {}
  Batch& operator*() const { return loader_->current_; }
  Batch* operator->() const { return &loader_->current_; }
  Iterator& operator++() {
    valid_ = loader_->advance();
    return *this;
  }
  bool operator==(Sentinel) const { return !valid_; }

 private:
  DataLoader* loader_;
  bool valid_;
};

}  // namespace actlab::data
