#!/usr/bin/env bash
# Builds actlab (Release) and runs its benchmarks side by side with PyTorch, printing one table.
#   scripts/bench.sh                      every family, 2 threads, 3 timed rounds
#   scripts/bench.sh core --filter matmul families and a workload regex
#   scripts/bench.sh --quick              one short round: checks that everything runs
#   scripts/bench.sh --threads 1,2 --save docs/PERFORMANCE.md
# Arguments go to bench/run.py (--help lists them all).
set -euo pipefail
cd "$(dirname "$0")/.."
ACTLAB_WITH_PEER=1 scripts/build.sh -DACTLAB_BUILD_BENCHMARKS=ON
exec /usr/bin/python3 bench/run.py "$@"
