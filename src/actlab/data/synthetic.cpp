#include "actlab/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "actlab/core/generator.h"

namespace actlab::data {
namespace {

struct Point {
  float x, y;
};

// The random draws for one sample: two uniforms in [0, 1) and two standard normals.
struct Draws {
  float u, v;
  float n0, n1;
};

Draws draws(const Generator& gen, std::int64_t sample) {
  const auto w = gen.block(static_cast<std::uint64_t>(sample));
  // Box-Muller; the first uniform lies in (0, 1] so its log is finite.
  const float radius = std::sqrt(-2.0f * std::log(static_cast<float>((w[2] >> 8) + 1) * 0x1.0p-24f));
  const float angle = 2.0f * std::numbers::pi_v<float> * uniform_float(w[3]);
  return {uniform_float(w[0]), uniform_float(w[1]), radius * std::cos(angle), radius * std::sin(angle)};
}

constexpr float kTwoPi = 2.0f * std::numbers::pi_v<float>;

Point xor_point(std::int64_t label, const Draws& d) {
  const bool flip = d.v < 0.5f;  // which of the class's two quadrants
  const float sx = flip ? -1.0f : 1.0f;
  const float sy = (label == 0) == flip ? -1.0f : 1.0f;
  return {sx * (0.05f + d.u), sy * (0.05f + std::fmod(d.v * 2.0f, 1.0f))};
}

Point circle_point(std::int64_t label, const Draws& d) {
  const float r = label == 0 ? 1.0f : 0.5f;
  return {r * std::cos(kTwoPi * d.u), r * std::sin(kTwoPi * d.u)};
}

Point moon_point(std::int64_t label, const Draws& d) {
  const float t = std::numbers::pi_v<float> * d.u;
  if (label == 0) return {std::cos(t), std::sin(t)};
  return {1.0f - std::cos(t), 0.5f - std::sin(t)};
}

Point spiral_point(std::int64_t label, std::int64_t classes, const Draws& d) {
  const float angle = kTwoPi * static_cast<float>(label) / static_cast<float>(classes) + 1.5f * kTwoPi * d.u;
  return {d.u * std::cos(angle), d.u * std::sin(angle)};
}

Point blob_point(std::int64_t label, std::int64_t classes, const Draws&) {
  const float angle = kTwoPi * static_cast<float>(label) / static_cast<float>(classes);
  return {2.0f * std::cos(angle), 2.0f * std::sin(angle)};
}

Point linear_point(std::int64_t label, const Draws& d) {
  Point p{2.0f * d.u - 1.0f, 2.0f * d.v - 1.0f};
  if ((p.x + p.y > 0.0f) != (label == 1)) p = {-p.x, -p.y};
  return p;
}

}  // namespace

const std::vector<std::string>& synthetic_names() {
  static const std::vector<std::string> names{"xor", "circles", "moons", "spirals", "blobs", "linear"};
  return names;
}

bool is_synthetic(std::string_view name) {
  const auto& names = synthetic_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

Dataset make_synthetic(std::string_view name, const SyntheticOptions& options) {
  ACTLAB_CHECK(is_synthetic(name), "make_synthetic: unknown set '{}'; choose one of {}", name,
               fmt::join(synthetic_names(), ", "));
  ACTLAB_CHECK(options.samples >= 1, "make_synthetic({}): samples must be >= 1, got {}", name, options.samples);
  ACTLAB_CHECK(options.noise >= 0.0, "make_synthetic({}): noise must be >= 0, got {}", name, options.noise);
  const bool multiclass = name == "spirals" || name == "blobs";
  const std::int64_t classes = multiclass ? options.classes : 2;
  ACTLAB_CHECK(classes >= 2, "make_synthetic({}): classes must be >= 2, got {}", name, classes);

  const Generator gen(options.seed);
  Tensor inputs = Tensor::empty({options.samples, 2}, kFloat32);
  Tensor labels = Tensor::empty({options.samples}, kInt64);
  float* xy = inputs.data<float>();
  std::int64_t* label = labels.data<std::int64_t>();
  const auto noise = static_cast<float>(options.noise);
  for (std::int64_t i = 0; i < options.samples; ++i) {
    const std::int64_t c = i % classes;
    const Draws d = draws(gen, i);
    Point p;
    if (name == "xor") p = xor_point(c, d);
    else if (name == "circles") p = circle_point(c, d);
    else if (name == "moons") p = moon_point(c, d);
    else if (name == "spirals") p = spiral_point(c, classes, d);
    else if (name == "blobs") p = blob_point(c, classes, d);
    else p = linear_point(c, d);
    xy[2 * i] = p.x + noise * d.n0;
    xy[2 * i + 1] = p.y + noise * d.n1;
    label[i] = c;
  }
  std::vector<std::string> class_names;
  for (std::int64_t c = 0; c < classes; ++c) class_names.push_back(std::to_string(c));
  return {std::string(name), inputs, labels, std::move(class_names)};
}

}  // namespace actlab::data
