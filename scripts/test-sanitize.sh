#!/usr/bin/env bash
# Sanitizer stage: builds preset debug (ASan + UBSan, -O1, recovery off) and
# runs test preset sanitize: unit tests, MPI tests at np 1/2/4, the
# integration tests Output and BadInput, and the single tests registered in
# tests/sanitizers/CMakeLists.txt (Determinism at np 1/2/4, the HDF5 dataset
# reader). Any ASan,
# LSan or UBSan report fails its test; the only suppressions are Open MPI's
# own leaks (tests/sanitizers/lsan.supp). Arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset debug >/dev/null
cmake --build --preset debug
ctest --preset sanitize "$@"
