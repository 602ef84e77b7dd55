#include "actlab/experiment/verdict_facts.h"

#include <cmath>

namespace actlab::experiment {

diagnostics::RunFacts verdict_facts(const Settings& settings, const RunResult& run, std::int64_t classes,
                                    std::int64_t planned_steps, std::int64_t steps_done) {
  diagnostics::RunFacts facts;
  facts.classes = classes;
  facts.planned_steps = planned_steps;
  facts.steps_done = steps_done;
  facts.diverged_at_step = run.diverged_at_step;
  for (const auto& e : run.epochs)
    if (std::isfinite(e.train_loss)) facts.epoch_train_losses.push_back(e.train_loss);
  for (const auto& m : run.steps) facts.step_losses.emplace_back(m.step, m.loss);
  const Settings defaults;
  for (const auto& key : setting_keys()) {
    const std::string value = key.key == "seeds" ? std::to_string(run.seed) : get_setting(settings, key.key);
    facts.settings.push_back({key.key, value, get_setting(defaults, key.key)});
  }
  return facts;
}

}  // namespace actlab::experiment
