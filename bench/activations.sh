#!/usr/bin/env bash
# Activation kernels beside PyTorch and STREAM's copy, on [256, 256, 256] float32 with 2 threads:
# the "activations" family of bench/run.py (ROUNDS timed rounds, default 3), optionally only some
# activations. Usage: bench/activations.sh [build-dir [activation...]]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
shift $(($# > 0 ? 1 : 0))
filter="."
if [[ $# -gt 0 ]]; then filter="/($(IFS='|'; echo "$*"))\$"; fi
exec /usr/bin/python3 bench/run.py activations --build-dir "$build" --filter "$filter" --threads 2 \
  --rounds "${ROUNDS:-3}" --min-time 0.3
