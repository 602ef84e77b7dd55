"""The runner every PyTorch peer script shares.

A peer script maps workload names (the same names as its C++ family's benchmarks) to setup
functions; a setup function builds the inputs and returns the callable to time. `main` runs one
workload the way Google Benchmark does (growing iteration counts until a batch lasts --min-time
seconds) and prints {"name", "seconds", "iterations"} as JSON, seconds
being the time per iteration.

    core_peer.py --list
    core_peer.py --workload matmul/512 --threads 2 --min-time 0.5

--threads 0 leaves torch's thread count as it is (the out-of-the-box configuration).
"""
import argparse
import json
import sys
import time

import torch


def time_per_iteration(fn, min_time):
    """Times growing batches until one lasts min_time, as Google Benchmark does: the shorter batches
    before it are the warm-up, and a single call that lasts min_time is the measurement itself."""
    iterations = 1
    while True:
        start = time.perf_counter()
        for _ in range(iterations):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / iterations, iterations
        # Aim 40% past min_time, growing at most 10x, as Google Benchmark does.
        iterations = int(max(iterations + 1, min(10 * iterations, iterations * 1.4 * min_time / max(elapsed, 1e-9))))


def main(workloads):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="print the workload names and exit")
    parser.add_argument("--workload", help="the workload to time")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave as is)")
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds the timed batch lasts at least")
    args = parser.parse_args()
    if args.list:
        print("\n".join(workloads))
        return
    if args.workload not in workloads:
        sys.exit(f"unknown workload {args.workload!r}; --list shows the {len(workloads)} known ones")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    fn = workloads[args.workload]()
    seconds, iterations = time_per_iteration(fn, args.min_time)
    print(json.dumps({"name": args.workload, "seconds": seconds, "iterations": iterations,
                      "threads": torch.get_num_threads()}))
