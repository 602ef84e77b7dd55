#!/usr/bin/env bash
# Installs what is missing, builds actlab, and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
build/xor
