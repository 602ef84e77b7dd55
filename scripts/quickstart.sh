#!/usr/bin/env bash
# Installs what is missing, builds actlab, and runs the main job: `actlab compare`, the default
# activation experiment (MNIST, seven activations), which writes runs/<timestamp>-default/report.html.
# The real datasets are read from $ACTLAB_DATA, or from ../shared/datasets when that folder exists.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
if [[ -z "${ACTLAB_DATA:-}" && -d ../shared/datasets ]]; then export ACTLAB_DATA="$PWD/../shared/datasets"; fi
build/actlab compare "$@"
