// The activation registry: spec-string parsing, lookup by name or alias, and the built-in list.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>
#include <mutex>
#include <numbers>

#include "actlab/activations/builtin.h"
#include "actlab/activations/pointwise.h"
#include "actlab/autograd/grad_mode.h"
#include "actlab/core/parse.h"

namespace actlab {
namespace {

struct Registry {
  std::deque<ActivationDefinition> definitions;  // a deque keeps info addresses stable
  std::mutex mutex;

  const ActivationDefinition* find(std::string_view name) {
    for (const auto& d : definitions) {
      if (d.info.name == name) return &d;
      if (std::find(d.info.aliases.begin(), d.info.aliases.end(), name) != d.info.aliases.end()) return &d;
    }
    return nullptr;
  }
};

Registry& registry() {
  static Registry* instance = [] {
    auto* r = new Registry;  // never destroyed: registrations may run from other static objects
    for (auto family : {activations::classic_activations, activations::modern_activations,
                        activations::softmax_activations, activations::learnable_activations})
      for (auto& d : family()) r->definitions.push_back(std::move(d));
    return r;
  }();
  return *instance;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string known_names(Registry& r) {
  std::string out;
  for (const auto& d : r.definitions) {
    if (!out.empty()) out += ", ";
    out += d.info.name;
    for (const auto& alias : d.info.aliases) out += " (" + alias + ")";
  }
  return out;
}

std::string param_list(const ActivationInfo& info) {
  if (info.params.empty()) return info.name + " takes no parameters";
  std::string out = info.name + " takes";
  for (const auto& p : info.params) out += fmt::format(" {}={} ({}),", p.name, p.default_value, p.doc);
  out.pop_back();
  return out;
}

double parse_value(const ActivationInfo& info, const ActivationParam& param, std::string_view text) {
  const std::optional<double> parsed = parse_number(text);
  ACTLAB_CHECK(parsed.has_value(), "activation {}: {}='{}' is not a number; {}", info.name, param.name, text,
               param_list(info));
  const double value = *parsed;
  ACTLAB_CHECK(std::isfinite(value), "activation {}: {}='{}' must be a finite number; {}", info.name, param.name, text,
               param_list(info));
  ACTLAB_CHECK(!param.integer || value == std::floor(value), "activation {}: {} must be an integer, got {}",
               info.name, param.name, text);
  ACTLAB_CHECK(value >= param.min && value <= param.max, "activation {}: {}={} is outside [{}, {}]; {}", info.name,
               param.name, text, param.min, param.max, param_list(info));
  return value;
}

}  // namespace

void register_activation(ActivationDefinition definition) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> names = definition.info.aliases;
  names.push_back(definition.info.name);
  for (const auto& name : names)
    ACTLAB_CHECK(r.find(name) == nullptr, "register_activation: the name '{}' is already registered", name);
  ACTLAB_CHECK(definition.make != nullptr, "register_activation: {} has no factory", definition.info.name);
  r.definitions.push_back(std::move(definition));
}

std::vector<const ActivationInfo*> registered_activations() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<const ActivationInfo*> out;
  for (const auto& d : r.definitions) out.push_back(&d.info);
  return out;
}

std::unique_ptr<ActivationFunction> make_activation(std::string_view spec) {
  const std::size_t colon = spec.find(':');
  std::string name(trim(spec.substr(0, colon)));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  Registry& r = registry();
  const ActivationDefinition* definition = nullptr;
  {
    std::lock_guard lock(r.mutex);
    definition = r.find(name);
    ACTLAB_CHECK(definition != nullptr, "unknown activation '{}'; available: {}", name, known_names(r));
  }
  const ActivationInfo& info = definition->info;
  std::vector<double> values;
  for (const auto& p : info.params) values.push_back(p.default_value);
  std::vector<bool> given(values.size(), false);
  if (colon != std::string_view::npos) {
    std::string_view rest = spec.substr(colon + 1);
    std::size_t position = 0;
    while (true) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      ACTLAB_CHECK(!item.empty(), "activation {}: empty parameter in '{}'; {}", info.name, spec, param_list(info));
      const std::size_t eq = item.find('=');
      std::size_t index = position++;
      if (eq != std::string_view::npos) {
        const std::string_view key = trim(item.substr(0, eq));
        auto it = std::find_if(info.params.begin(), info.params.end(), [&](const auto& p) { return p.name == key; });
        ACTLAB_CHECK(it != info.params.end(), "activation {}: unknown parameter '{}'; {}", info.name, key,
                     param_list(info));
        index = static_cast<std::size_t>(it - info.params.begin());
      } else {
        ACTLAB_CHECK(index < info.params.size(), "activation {}: too many values in '{}'; {}", info.name, spec,
                     param_list(info));
      }
      ACTLAB_CHECK(!given[index], "activation {}: {} is given twice in '{}'", info.name, info.params[index].name,
                   spec);
      given[index] = true;
      values[index] = parse_value(info, info.params[index], trim(eq == std::string_view::npos ? item : item.substr(eq + 1)));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return definition->make(info, std::move(values));
}

// ---- ActivationBase ----

std::string ActivationBase::spec() const {
  std::string out = info_.name;
  for (std::size_t i = 0; i < values_.size(); ++i)
    out += fmt::format("{}{}={}", i == 0 ? ":" : ",", info_.params[i].name, values_[i]);
  return out;
}

double ActivationBase::gain() const {
  // E[f(z)^2] for z ~ N(0, 1) by the trapezoid rule on [-10, 10]; the tails beyond add < 1e-20.
  NoGradGuard no_grad;
  const double step = 0.005;
  const Tensor z = arange(-10.0, 10.0 + step / 2, step, kFloat64);
  const Tensor y = const_cast<ActivationBase*>(this)->forward(z);
  const Tensor density = (z.square() * -0.5).exp() * (step / std::sqrt(2 * std::numbers::pi));
  const double second_moment = (y.square() * density).sum().item();
  return second_moment > 0 ? 1.0 / std::sqrt(second_moment) : 1.0;
}

// ---- reference kernels ----

namespace {
thread_local bool reference_kernels = false;
}

ReferenceKernelsGuard::ReferenceKernelsGuard() : previous_(reference_kernels) { reference_kernels = true; }
ReferenceKernelsGuard::~ReferenceKernelsGuard() { reference_kernels = previous_; }
bool reference_kernels_enabled() { return reference_kernels; }

}  // namespace actlab
