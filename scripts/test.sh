#!/usr/bin/env bash
# One command: install dependencies (apt), then three stages, each timed
# ("== stage NAME: N s"). .ci/run calls it.
#   suite     Release with warnings as errors, every test (unit, MPI at np
#             1/2/4, integration, analysis, Slurm); arguments go to this ctest
#   sanitize  scripts/test-sanitize.sh: ASan + UBSan build, unit, MPI at np
#             1/2/4 and an integration subset, any report fails
#   fuzz      scripts/test-fuzz.sh: libFuzzer harnesses of the INI/CLI, IDX,
#             HDF5 dataset and checkpoint readers, a fixed number of inputs
#             each, plus the committed regression inputs
# Each stage script also runs alone (docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

stage() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "== stage $name: $((SECONDS - start)) s"
}
suite() {
  cmake --preset ci >/dev/null
  cmake --build --preset ci
  ctest --preset ci "$@"
}
stage suite suite "$@"
stage sanitize bash scripts/test-sanitize.sh
stage fuzz bash scripts/test-fuzz.sh
