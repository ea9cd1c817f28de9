#!/usr/bin/env bash
# Configures and builds into build/ (or $1 with extra cmake args after it).
# Usage: deploy/build.sh [BUILD_DIR [CMAKE_ARGS...]]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
# The pyenv python on PATH must not leak into the build.
unset PYTHONHOME PYTHONPATH
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
