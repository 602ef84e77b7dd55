// Where the runs of a sweep are trained. The runner describes the work (SweepWork); a
// RunDispatcher decides which process trains which run. Without one, this process trains every
// run in sweep order (run_experiment's default). distributed/sweep.h spreads them over MPI ranks.
//
// Runs are numbered in sweep order: run i is arm i / seeds, seed i % seeds.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "actlab/experiment/results.h"

namespace actlab::experiment {

struct SweepWork {
  // On the coordinator only, before any run is handed out: claims the output folder and returns
  // the runs still to train. May throw; the dispatcher then ends every process's share of the sweep.
  std::function<std::vector<std::size_t>()> prepare;
  // Trains run i in this process (or takes its result from a finished checkpoint).
  std::function<RunResult(std::size_t)> train;
  // On the coordinator only: records run i's result (summary, reports, the checkpoint's removal).
  // Returns false when the sweep must stop (the run was interrupted): no further run is handed out.
  std::function<bool(std::size_t, const RunResult&)> record;
};

class RunDispatcher {
 public:
  virtual ~RunDispatcher() = default;
  // This process claims the output folder and writes the experiment's own files.
  virtual bool coordinator() const = 0;
  // Runs may train at the same time in several processes, so each writes its own metrics files.
  virtual bool concurrent() const = 0;
  // Returns once every pending run is recorded, or the sweep was stopped.
  virtual void run(const SweepWork& work) = 0;
};

}  // namespace actlab::experiment
