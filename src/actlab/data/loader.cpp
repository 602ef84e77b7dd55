#include "actlab/data/loader.h"

#include <algorithm>
#include <numeric>

#include "actlab/core/generator.h"

namespace actlab::data {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Independent streams per (seed, epoch, purpose).
Generator epoch_generator(std::uint64_t seed, std::int64_t epoch, std::uint64_t purpose) {
  return Generator(splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(epoch) ^ (purpose << 56))));
}
constexpr std::uint64_t kShuffleStream = 1;
constexpr std::uint64_t kAugmentStream = 2;
constexpr std::int64_t kCropPadding = 4;

std::vector<std::int64_t> epoch_order(std::int64_t n, bool shuffle, std::uint64_t seed, std::int64_t epoch) {
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (!shuffle) return order;
  const Generator gen = epoch_generator(seed, epoch, kShuffleStream);
  // Fisher-Yates; swap i draws its 64 random bits from block i.
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto w = gen.block(static_cast<std::uint64_t>(i));
    const std::uint64_t bits = (static_cast<std::uint64_t>(w[0]) << 32) | w[1];
    std::swap(order[i], order[bounded(bits, static_cast<std::uint64_t>(i + 1))]);
  }
  return order;
}

}  // namespace

DataLoader::DataLoader(Dataset dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  validate(dataset_);
  ACTLAB_CHECK(options_.batch_size_ >= 1, "DataLoader: batch_size must be >= 1, got {}", options_.batch_size_);
  ACTLAB_CHECK(!options_.augment_ || dataset_.is_image(),
               "DataLoader: augmentation (random crop + flip) needs image data; {} holds features of shape {}",
               dataset_.name, shape_str(dataset_.inputs.shape()));
  // Validates the normalization for images and features alike.
  pixel_table_ = pixel_table(options_.normalize_, dataset_.channels());
  if (options_.prefetch_) worker_ = std::thread([this] { worker_loop(); });
}

DataLoader::~DataLoader() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

std::int64_t DataLoader::batches_per_epoch() const {
  const std::int64_t n = dataset_.size(), b = options_.batch_size_;
  return options_.drop_last_ ? n / b : (n + b - 1) / b;
}

LoaderPosition DataLoader::position() const {
  if (next_batch_ >= batches_per_epoch()) return {epoch_ + 1, 0};
  return {epoch_, next_batch_};
}

void DataLoader::set_position(LoaderPosition position) {
  ACTLAB_CHECK(position.epoch >= 0 && position.batch >= 0 && position.batch <= batches_per_epoch(),
               "DataLoader::set_position: ({}, {}) is outside epochs >= 0 and batches [0, {}]", position.epoch,
               position.batch, batches_per_epoch());
  start_epoch(position.epoch);
  next_batch_ = position.batch;
}

void DataLoader::start_epoch(std::int64_t epoch) {
  {
    // The worker reads order_: let it finish, then drop what it built for the old position.
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !requested_; });
    ready_index_.reset();
  }
  epoch_ = epoch;
  if (permutation_epoch_ != epoch) {
    order_ = epoch_order(dataset_.size(), options_.shuffle_, options_.seed_, epoch);
    permutation_epoch_ = epoch;
  }
}

DataLoader::Iterator DataLoader::begin() {
  if (next_batch_ >= batches_per_epoch()) {
    start_epoch(epoch_ + 1);
    next_batch_ = 0;
  } else {
    start_epoch(epoch_);
  }
  return Iterator(this, advance());
}

bool DataLoader::advance() {
  if (next_batch_ >= batches_per_epoch()) return false;
  current_ = take(next_batch_);
  ++next_batch_;
  if (options_.prefetch_ && next_batch_ < batches_per_epoch()) request(next_batch_);
  return true;
}

void DataLoader::request(std::int64_t index) {
  {
    std::lock_guard lock(mutex_);
    requested_ = index;
  }
  cv_.notify_all();
}

Batch DataLoader::take(std::int64_t index) {
  if (!options_.prefetch_) return build_batch(order_, epoch_, index);
  std::unique_lock lock(mutex_);
  if (ready_index_ != index && requested_ != index) {
    cv_.wait(lock, [&] { return !requested_; });
    requested_ = index;
    cv_.notify_all();
  }
  cv_.wait(lock, [&] { return ready_index_ == index; });
  ready_index_.reset();
  return std::move(ready_);
}

void DataLoader::worker_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || requested_; });
    if (stopping_) return;
    const std::int64_t index = *requested_;
    const std::int64_t epoch = epoch_;
    lock.unlock();
    Batch batch = build_batch(order_, epoch, index);
    lock.lock();
    ready_ = std::move(batch);
    ready_index_ = index;
    requested_.reset();
    cv_.notify_all();
  }
}

Batch DataLoader::batch_at(std::int64_t epoch, std::int64_t index) const {
  ACTLAB_CHECK(epoch >= 0 && index >= 0 && index < batches_per_epoch(),
               "DataLoader::batch_at: batch {} of epoch {} is outside [0, {})", index, epoch, batches_per_epoch());
  if (epoch == permutation_epoch_) return build_batch(order_, epoch, index);
  return build_batch(epoch_order(dataset_.size(), options_.shuffle_, options_.seed_, epoch), epoch, index);
}

Batch DataLoader::build_batch(const std::vector<std::int64_t>& order, std::int64_t epoch, std::int64_t index) const {
  const std::int64_t first = index * options_.batch_size_;
  const std::int64_t count = std::min(options_.batch_size_, dataset_.size() - first);
  const Shape sample = dataset_.sample_shape();
  const std::int64_t sample_size = numel_of(sample);
  Shape shape{count};
  if (options_.flatten_) shape.push_back(sample_size);
  else shape.insert(shape.end(), sample.begin(), sample.end());
  Shape label_shape = dataset_.labels.shape();
  label_shape[0] = count;
  Batch batch{Tensor::empty(shape, kFloat32), Tensor::empty(label_shape, dataset_.labels.dtype())};
  float* out = batch.images.data<float>();
  // Labels as bytes: one row per sample, whatever their dtype and per-sample shape.
  const std::size_t label_bytes = static_cast<std::size_t>(dataset_.labels.numel() / std::max<std::int64_t>(1, dataset_.size())) *
                                  element_size(dataset_.labels.dtype());
  auto* labels = static_cast<std::byte*>(batch.labels.raw_data());
  const auto* source_labels = static_cast<const std::byte*>(dataset_.labels.raw_data());
  const Generator augment = epoch_generator(options_.seed_, epoch, kAugmentStream);

  for (std::int64_t j = 0; j < count; ++j) {
    const std::int64_t s = order[first + j];
    std::copy_n(source_labels + s * label_bytes, label_bytes, labels + j * label_bytes);
    float* dst = out + j * sample_size;
    if (!dataset_.is_image()) {
      const float* src = dataset_.inputs.data<float>() + s * sample_size;
      const Normalization& norm = options_.normalize_;
      for (std::int64_t i = 0; i < sample_size; ++i)
        dst[i] = norm.enabled() ? (src[i] - norm.mean[i]) / norm.std[i] : src[i];
      continue;
    }
    const std::uint8_t* src = dataset_.inputs.data<std::uint8_t>() + s * sample_size;
    const std::int64_t channels = sample[0], height = sample[1], width = sample[2];
    if (!options_.augment_) {
      for (std::int64_t c = 0; c < channels; ++c) {
        const float* lut = pixel_table_.data() + c * 256;
        for (std::int64_t i = c * height * width; i < (c + 1) * height * width; ++i) dst[i] = lut[src[i]];
      }
      continue;
    }
    // Random crop of the image padded by kCropPadding zeros on each side, then a random flip.
    const auto w = augment.block(static_cast<std::uint64_t>(first + j));
    const std::int64_t dy = static_cast<std::int64_t>(bounded(std::uint64_t{w[0]} << 32, 2 * kCropPadding + 1)) - kCropPadding;
    const std::int64_t dx = static_cast<std::int64_t>(bounded(std::uint64_t{w[1]} << 32, 2 * kCropPadding + 1)) - kCropPadding;
    const bool flip = (w[2] & 1u) != 0;
    for (std::int64_t c = 0; c < channels; ++c) {
      const float* lut = pixel_table_.data() + c * 256;
      const std::uint8_t* plane = src + c * height * width;
      for (std::int64_t y = 0; y < height; ++y) {
        float* row = dst + (c * height + y) * width;
        const std::int64_t sy = y + dy;
        for (std::int64_t x = 0; x < width; ++x) {
          const std::int64_t sx = (flip ? width - 1 - x : x) + dx;
          const bool inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
          row[x] = lut[inside ? plane[sy * width + sx] : 0];
        }
      }
    }
  }
  return batch;
}

}  // namespace actlab::data
