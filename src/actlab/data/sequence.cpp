#include "actlab/data/sequence.h"

#include <cmath>
#include <numeric>

#include "actlab/core/generator.h"

namespace actlab::data {
namespace {

constexpr std::int64_t kCopySymbols = 10;  // data symbols to recall
constexpr std::int64_t kCopyBlank = 0, kCopyDelimiter = 9;

// The random 32-bit words of one sample: word k of sample i is block(i * stride + k / 4)[k % 4],
// so a sample's draws never depend on the others.
class SampleWords {
 public:
  SampleWords(std::uint64_t seed, std::int64_t words_per_sample)
      : gen_(seed), stride_(static_cast<std::uint64_t>((words_per_sample + 3) / 4)) {}
  std::uint32_t word(std::int64_t sample, std::int64_t k) const {
    return gen_.block(static_cast<std::uint64_t>(sample) * stride_ + static_cast<std::uint64_t>(k / 4))[k % 4];
  }
  float uniform(std::int64_t sample, std::int64_t k) const { return uniform_float(word(sample, k)); }
  // Uniform in [low, high).
  std::int64_t integer(std::int64_t sample, std::int64_t k, std::int64_t low, std::int64_t high) const {
    return low + static_cast<std::int64_t>(bounded(std::uint64_t{word(sample, k)} << 32,
                                                   static_cast<std::uint64_t>(high - low)));
  }

 private:
  Generator gen_;
  std::uint64_t stride_;
};

std::vector<std::string> numbered(std::int64_t classes) {
  std::vector<std::string> names;
  for (std::int64_t c = 0; c < classes; ++c) names.push_back(std::to_string(c));
  return names;
}

Dataset adding(std::int64_t steps, std::int64_t samples, std::uint64_t seed) {
  const SampleWords words(seed, steps + 2);
  Tensor inputs = zeros({samples, steps, 2}, kFloat32);
  Tensor targets = Tensor::empty({samples}, kFloat32);
  float* x = inputs.data<float>();
  float* y = targets.data<float>();
  const std::int64_t half = steps / 2;
  for (std::int64_t i = 0; i < samples; ++i) {
    float* row = x + i * steps * 2;
    for (std::int64_t t = 0; t < steps; ++t) row[2 * t] = words.uniform(i, t);
    const std::int64_t first = words.integer(i, steps, 0, half);
    const std::int64_t second = words.integer(i, steps + 1, half, steps);
    row[2 * first + 1] = row[2 * second + 1] = 1.0f;
    y[i] = row[2 * first] + row[2 * second];
  }
  return {"adding", inputs, targets, {"sum"}};
}

Dataset temporal_order(std::int64_t steps, std::int64_t samples, std::uint64_t seed) {
  constexpr std::int64_t kSymbols = 6, kX = 4;  // a, b, c, d, X, Y
  const SampleWords words(seed, steps + 4);
  Tensor inputs = zeros({samples, steps, kSymbols}, kFloat32);
  Tensor labels = Tensor::empty({samples}, kInt64);
  float* x = inputs.data<float>();
  const auto at = [steps](double fraction) { return static_cast<std::int64_t>(std::floor(fraction * steps)); };
  for (std::int64_t i = 0; i < samples; ++i) {
    float* row = x + i * steps * kSymbols;
    std::vector<std::int64_t> symbol(steps);
    for (std::int64_t t = 0; t < steps; ++t) symbol[t] = words.integer(i, t, 0, 4);
    const std::int64_t first = words.integer(i, steps, at(0.1), at(0.2));
    const std::int64_t second = words.integer(i, steps + 1, at(0.5), at(0.6));
    const std::int64_t first_y = words.integer(i, steps + 2, 0, 2), second_y = words.integer(i, steps + 3, 0, 2);
    symbol[first] = kX + first_y;
    symbol[second] = kX + second_y;
    for (std::int64_t t = 0; t < steps; ++t) row[t * kSymbols + symbol[t]] = 1.0f;
    labels.data<std::int64_t>()[i] = 2 * first_y + second_y;
  }
  return {"temporal-order", inputs, labels, {"XX", "XY", "YX", "YY"}};
}

Dataset copy_memory(std::int64_t length, std::int64_t samples, std::uint64_t seed) {
  const std::int64_t steps = length + 20;
  const SampleWords words(seed, kCopySymbols);
  Tensor inputs = zeros({samples, steps, kCopySymbols}, kFloat32);
  Tensor labels = Tensor::empty({samples, steps}, kInt64);
  float* x = inputs.data<float>();
  std::int64_t* y = labels.data<std::int64_t>();
  for (std::int64_t i = 0; i < samples; ++i) {
    float* row = x + i * steps * kCopySymbols;
    std::int64_t* target = y + i * steps;
    std::vector<std::int64_t> symbol(steps, kCopyBlank);
    std::fill_n(target, steps, kCopyBlank);
    for (std::int64_t k = 0; k < kCopySymbols; ++k) {
      symbol[k] = words.integer(i, k, 1, 9);
      target[length + 10 + k] = symbol[k];
    }
    symbol[length + 9] = kCopyDelimiter;
    for (std::int64_t t = 0; t < steps; ++t) row[t * kCopySymbols + symbol[t]] = 1.0f;
  }
  return {"copy", inputs, labels, numbered(kCopySymbols)};
}

}  // namespace

const std::vector<SequenceTaskInfo>& sequence_tasks() {
  static const std::vector<SequenceTaskInfo> tasks{
      {"adding", 2, 2, 0, false}, {"temporal-order", 10, 6, 4, false}, {"copy", 1, kCopySymbols, kCopySymbols, true}};
  return tasks;
}

const SequenceTaskInfo& sequence_task(std::string_view name) {
  for (const SequenceTaskInfo& task : sequence_tasks())
    if (task.name == name) return task;
  fail("unknown sequence task '{}'; known: adding, temporal-order, copy", name);
}

Dataset make_sequence_task(std::string_view name, std::int64_t length, std::int64_t samples, std::uint64_t seed) {
  const SequenceTaskInfo& task = sequence_task(name);
  ACTLAB_CHECK(length >= task.min_length, "{}:{}: the length must be at least {}, e.g. {}:100", name, length,
               task.min_length, name);
  ACTLAB_CHECK(samples >= 1, "{}:{}: samples must be >= 1, got {}", name, length, samples);
  if (name == "adding") return adding(length, samples, seed);
  if (name == "temporal-order") return temporal_order(length, samples, seed);
  return copy_memory(length, samples, seed);
}

double sequence_baseline(std::string_view name, std::int64_t length) {
  if (sequence_task(name).name == "adding") return 1.0 / 6.0;
  if (name == "temporal-order") return std::log(4.0);
  return static_cast<double>(kCopySymbols) * std::log(8.0) / static_cast<double>(length + 20);
}

std::vector<std::int64_t> pixel_permutation(std::int64_t pixels) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(pixels));
  std::iota(order.begin(), order.end(), 0);
  Generator gen(kPermutationSeed);
  for (std::int64_t i = pixels - 1; i > 0; --i) std::swap(order[i], order[gen.randint(0, i + 1)]);
  return order;
}

Dataset as_pixel_sequence(const Dataset& images, const std::vector<std::int64_t>& order) {
  const std::int64_t n = images.size(), pixels = numel_of(images.sample_shape());
  Dataset out = images;
  if (order.empty()) {
    out.inputs = images.inputs.contiguous().reshape({n, 1, pixels, 1});
    return out;
  }
  ACTLAB_CHECK(static_cast<std::int64_t>(order.size()) == pixels, "as_pixel_sequence: {} pixels but an order of {}",
               pixels, order.size());
  const Tensor source = images.inputs.contiguous();
  out.inputs = Tensor::empty({n, 1, pixels, 1}, kUInt8);
  const std::uint8_t* src = source.data<std::uint8_t>();
  std::uint8_t* dst = out.inputs.data<std::uint8_t>();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t p = 0; p < pixels; ++p) dst[i * pixels + p] = src[i * pixels + order[p]];
  return out;
}

}  // namespace actlab::data
