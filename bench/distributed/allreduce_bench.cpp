// MPI_Allreduce of float32 buffers from 4 KiB to 16 MiB, as data-parallel training's gradient
// exchange does it (docs/DISTRIBUTED.md's cost model reads its bandwidth). Run under mpirun:
//   mpirun -np 2 build/allreduce_bench
// Prints, on rank 0, the median seconds per allreduce and the bus bandwidth 2 (N-1)/N x bytes / s
// (what a ring allreduce moves per rank).
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (rank == 0) std::printf("%12s %14s %14s\n", "bytes", "seconds", "bus GB/s");
  for (std::size_t floats = 1024; floats <= (std::size_t{1} << 22); floats *= 4) {
    std::vector<float> values(floats, 1.0f);
    std::vector<double> seconds;
    for (int repeat = 0; repeat < 21; ++repeat) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double start = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(floats), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      seconds.push_back(MPI_Wtime() - start);
    }
    std::nth_element(seconds.begin(), seconds.begin() + 10, seconds.end());
    const double median = seconds[10], bytes = static_cast<double>(floats * sizeof(float));
    if (rank == 0)
      std::printf("%12.0f %14.6f %14.3f\n", bytes, median, 2.0 * (ranks - 1) / ranks * bytes / median / 1e9);
  }
  MPI_Finalize();
  return 0;
}
