#!/usr/bin/env bash
# Cross-compiles actlab's numerical core for aarch64 (NEON) into build-aarch64/ and runs its tests
# under qemu-aarch64 (ACTLAB_CORE_ONLY: tensors, autograd, ops, activations, layers, optimizers;
# see cmake/core_only.cmake). Needs the cross toolchain and the arm64 packages:
#   ACTLAB_WITH_ARM=1 scripts/install-deps.sh
# Extra arguments go to cmake's configure step; ACTLAB_ARM_BUILD_DIR names another build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${ACTLAB_ARM_BUILD_DIR:-build-aarch64}"
ACTLAB_WITH_ARM=1 scripts/install-deps.sh
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
  -DACTLAB_CORE_ONLY=ON -DACTLAB_BUILD_TESTS=ON -DACTLAB_BUILD_BENCHMARKS=OFF -DACTLAB_PYTHON=OFF -DACTLAB_MPI=OFF \
  "${launcher[@]}" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
# Waiting threads sleep instead of spinning: emulated spinning costs the other threads' time.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
ctest --test-dir "$build" --output-on-failure -V -j"$(nproc)"
