#!/usr/bin/env bash
# Configures and builds actlab into build/ (Release). Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B "${ACTLAB_BUILD_DIR:-build}" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "${ACTLAB_BUILD_DIR:-build}" -j"$(nproc)"
