// Starting the actlab program under mpirun from a test (tests/distributed/ are compiled with
// ACTLAB_MPIEXEC, mpirun's path, when actlab is built with MPI).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "child_process.h"

namespace actlab::test {

inline constexpr const char* kWithoutMpi =
    "actlab is built without MPI (install libopenmpi-dev and openmpi-bin, then re-run cmake)";

inline bool built_with_mpi() {
#ifdef ACTLAB_MPIEXEC
  return true;
#else
  return false;
#endif
}

// Lets Open MPI run as root (CI containers), keeps a failpoint of the test's own environment out,
// and, in the sanitizer build, leak checks off: Open MPI never frees what MPI_Init allocates.
inline const std::vector<std::string> kAsRoot = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                                                 "ACTLAB_FAILPOINT", "ASAN_OPTIONS=detect_leaks=0"};

// `mpirun -np 2 actlab ARGS`; `rank1_failpoint` (if not empty) goes into rank 1's ACTLAB_FAILPOINT.
// mpirun's own --timeout ends a hung job.
inline int mpirun_two_ranks(const std::vector<std::string>& args, const std::string& rank1_failpoint = "") {
#ifdef ACTLAB_MPIEXEC
  std::vector<std::string> command = {"--oversubscribe", "--timeout", "120", "-np", "1", actlab_program().string()};
  command.insert(command.end(), args.begin(), args.end());
  command.insert(command.end(), {":", "-np", "1"});
  if (!rank1_failpoint.empty()) command.insert(command.end(), {"-x", "ACTLAB_FAILPOINT=" + rank1_failpoint});
  command.push_back(actlab_program().string());
  command.insert(command.end(), args.begin(), args.end());
  return Child(command, "/dev/null", kAsRoot, ACTLAB_MPIEXEC).wait(std::chrono::minutes(3));
#else
  (void)args, (void)rank1_failpoint;
  return -1;
#endif
}

}  // namespace actlab::test
