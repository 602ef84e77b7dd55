// The MPI world this process belongs to (Open MPI; compiled only when CMake finds MPI,
// ACTLAB_MPI). A program started by mpirun, mpiexec or srun is a rank of a world of N; started
// alone it is a world of one, and MPI is never initialized.
//
//   World world;                  // MPI_Init_thread(MPI_THREAD_SERIALIZED) when launched by MPI
//   world.rank(), world.size()    // 0 / 1 when not launched by MPI
//   world.threads_per_rank()      // the thread count chosen for this rank (below)
//
// Threads per rank: the ranks sharing a node (MPI_Comm_split_type shared) split its cores, and a
// rank never uses more threads than the CPUs it is bound to (mpirun binds each rank to one core
// when there are two ranks or fewer: give `--bind-to none` or `--map-by slot:PE=T` for more).
// The constructor sets that count unless OMP_NUM_THREADS is set; --threads overrides it later.
//
// Guarantees: one World per process (a second throws Error); its destructor finalizes MPI.
// Any MPI error aborts the whole job (MPI_ERRORS_ARE_FATAL), as Open MPI does by default.
#pragma once

#include <mpi.h>

#include <exception>
#include <string>

namespace actlab::distributed {

class World {
 public:
  World();
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  bool launched() const { return launched_; }  // started by an MPI launcher
  int rank() const { return rank_; }
  int size() const { return size_; }
  int node_rank() const { return node_rank_; }    // among the ranks on this node
  int node_ranks() const { return node_ranks_; }  // ranks on this node
  int threads_per_rank() const { return threads_; }
  // One line for `actlab info`: ranks, node, cores, binding and the threads chosen.
  std::string describe() const;
  // Prints `error` and ends every rank of the job (MPI_Abort): for a failure after the ranks
  // began to work together, which the others would wait on forever.
  [[noreturn]] void abort_job(const std::exception& error) const;

 private:
  bool launched_ = false;
  int rank_ = 0, size_ = 1, node_rank_ = 0, node_ranks_ = 1;
  int cores_ = 1, bound_cpus_ = 1, threads_ = 1;
};

// The process's World (null before one is made, or after it is gone).
const World* current_world();

}  // namespace actlab::distributed
