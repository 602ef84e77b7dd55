#include "actlab/distributed/world.h"

#include <sched.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "actlab/core/error.h"
#include "actlab/core/parallel.h"

namespace actlab::distributed {
namespace {

const World* the_world = nullptr;

// Open MPI's mpirun, PMIx (srun, mpirun 4.x) and PMI-1/2 launchers each set one of these.
bool launched_by_mpi() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(variable) != nullptr) return true;
  return false;
}

int bound_cpu_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

}  // namespace

World::World() {
  ACTLAB_CHECK(the_world == nullptr, "distributed::World: a process has one MPI world; one exists already");
  cores_ = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  bound_cpus_ = bound_cpu_count();
  launched_ = launched_by_mpi();
  if (launched_) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    ACTLAB_CHECK(provided >= MPI_THREAD_SERIALIZED,
                 "MPI provides thread level {}, but actlab needs MPI_THREAD_SERIALIZED ({}); use an MPI built with "
                 "thread support (Debian's Open MPI is)", provided, MPI_THREAD_SERIALIZED);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &node_rank_);
    MPI_Comm_size(node, &node_ranks_);
    MPI_Comm_free(&node);
  }
  threads_ = std::max(1, std::min(bound_cpus_, cores_ / node_ranks_));
  if (launched_ && std::getenv("OMP_NUM_THREADS") == nullptr) set_num_threads(threads_);
  the_world = this;
}

World::~World() {
  the_world = nullptr;
  if (launched_) MPI_Finalize();
}

std::string World::describe() const {
  if (!launched_) return "not started by mpirun or srun (one process)";
  return fmt::format("rank {} of {}; {} rank(s) on this node of {} cores; this rank is bound to {} CPU(s); "
                     "threads per rank chosen: {}{}",
                     rank_, size_, node_ranks_, cores_, bound_cpus_, threads_,
                     std::getenv("OMP_NUM_THREADS") ? " (OMP_NUM_THREADS overrides it)" : "");
}

void World::abort_job(const std::exception& error) const {
  std::cerr << "actlab: error on rank " << rank_ << ": " << error.what()
            << "\nactlab: stopping every rank; finish the sweep with actlab compare --resume OUT\n";
  MPI_Abort(MPI_COMM_WORLD, 2);
  std::abort();
}

const World* current_world() { return the_world; }

}  // namespace actlab::distributed
