#include "actlab/diagnostics/dead_units.h"

#include <algorithm>

#include "actlab/autograd/grad_mode.h"
#include "actlab/diagnostics/probe_mode.h"
#include "actlab/nn/activation.h"

namespace actlab::diagnostics {

std::vector<DeadUnits> count_dead_units(nn::Module& model, const Tensor& images, std::int64_t chunk) {
  ACTLAB_CHECK(images.defined() && images.dim() >= 1 && images.size(0) > 0 && chunk > 0,
               "count_dead_units: needs at least one sample and a positive chunk size");
  struct Counted {
    std::string name;
    std::shared_ptr<nn::Module> module;
    std::vector<bool> alive;
  };
  std::vector<Counted> layers;
  for (auto& [name, module] : model.named_modules())
    if (module->named_children().empty() && dynamic_cast<nn::Activation*>(module.get())) layers.push_back({name, module, {}});

  const ProbeMode probe_mode(model);
  NoGradGuard no_grad;
  std::vector<nn::HookHandle> hooks;
  for (auto& layer : layers)
    hooks.push_back(layer.module->register_forward_hook([&layer](nn::Module&, const nn::Call& call) {
      const Tensor& out = call.outputs.front();
      const std::int64_t samples = out.size(0), units = out.numel() / std::max<std::int64_t>(samples, 1);
      if (layer.alive.empty()) layer.alive.assign(static_cast<std::size_t>(units), false);
      const std::vector<float> values = out.contiguous().to_vector<float>();
      for (std::int64_t s = 0; s < samples; ++s)
        for (std::int64_t u = 0; u < units; ++u)
          if (values[static_cast<std::size_t>(s * units + u)] != 0.0f) layer.alive[static_cast<std::size_t>(u)] = true;
    }));
  const std::int64_t n = images.size(0);
  for (std::int64_t start = 0; start < n; start += chunk) model(images.narrow(0, start, std::min(chunk, n - start)));
  for (auto& hook : hooks) hook.remove();

  std::vector<DeadUnits> out;
  for (const auto& layer : layers)
    out.push_back({layer.name, static_cast<std::int64_t>(layer.alive.size()),
                   static_cast<std::int64_t>(std::count(layer.alive.begin(), layer.alive.end(), false)), n});
  return out;
}

Tensor dead_unit_samples(const data::Dataset& dataset, const data::Normalization& normalization) {
  return probe_batch(dataset, normalization, kDeadUnitSamples).images;
}

}  // namespace actlab::diagnostics
