// What the verdicts need to know about a run besides its snapshots (diagnostics::RunFacts):
// its loss history, budget, classes and settings.
#pragma once

#include <cstdint>

#include "actlab/diagnostics/verdicts.h"
#include "actlab/experiment/results.h"
#include "actlab/experiment/settings.h"

namespace actlab::experiment {

// The facts of `run` trained with `settings` (one arm) on `classes` classes: `planned_steps`
// optimizer steps planned, `steps_done` taken. The settings list is every key with the value in
// effect and its default; "seeds" is the run's own seed, so the remedies' commands rerun it.
diagnostics::RunFacts verdict_facts(const Settings& settings, const RunResult& run, std::int64_t classes,
                                    std::int64_t planned_steps, std::int64_t steps_done);

}  // namespace actlab::experiment
