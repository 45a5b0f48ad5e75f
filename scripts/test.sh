#!/usr/bin/env bash
# One command: install dependencies (apt), build (warnings are errors) and run
# the whole test suite (unit, MPI at np 1/2/4, integration). .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset ci >/dev/null
cmake --build --preset ci
ctest --preset ci "$@"
