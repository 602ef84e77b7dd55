// A sweep spread over the ranks of an MPI world (`mpirun -np N actlab compare ...`).
//
// Rank 0 is the coordinator: it claims the output folder, then hands out runs (experiment/
// dispatch.h) in sweep order to whichever rank asks first, trains runs itself between answering
// (the answering is done by a thread of its own, which sleeps while no rank asks), and alone
// writes summary.json and the reports, once per finished run, in sweep order. Every rank writes
// its own runs' checkpoints, model files and metrics files (OUT/run-metrics/, joined into
// metrics.jsonl and metrics.csv when the sweep is complete), so OUT must be one folder that
// every node sees (a shared file system). A run is trained exactly as in one process: its
// model, metrics and summary entry are bit-identical with the same thread count.
//
// Failures: an exception on any rank aborts the job (MPI_Abort), as Open MPI does when a rank
// dies; every run keeps its last checkpoint, and `actlab compare --resume OUT`, with any number
// of ranks or without mpirun, completes the sweep with the same results (docs/DISTRIBUTED.md).
//
// Requires a World of two ranks or more (world.h).
#pragma once

#include "actlab/distributed/world.h"
#include "actlab/experiment/dispatch.h"

namespace actlab::distributed {

class SweepOverRanks final : public experiment::RunDispatcher {
 public:
  explicit SweepOverRanks(const World& world);
  bool coordinator() const override { return world_.rank() == 0; }
  bool concurrent() const override { return true; }
  void run(const experiment::SweepWork& work) override;

 private:
  void coordinate(const experiment::SweepWork& work);
  void work_for_coordinator(const experiment::SweepWork& work);
  const World& world_;
};

}  // namespace actlab::distributed
