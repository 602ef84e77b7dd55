#!/usr/bin/env bash
# Builds actlab with its Python module and runs the whole test suite, the Python tests included.
# Real datasets are read from $ACTLAB_DATA, or from ../shared/datasets when that folder exists;
# tests that need them say so and skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
ACTLAB_WITH_BROWSER=1 scripts/build.sh -DACTLAB_PYTHON=ON "$@"
if [[ -z "${ACTLAB_DATA:-}" && -d ../shared/datasets ]]; then export ACTLAB_DATA="$PWD/../shared/datasets"; fi
# Parallel test processes share the cores: waiting threads sleep instead of spinning.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
ctest --test-dir "${ACTLAB_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)"
