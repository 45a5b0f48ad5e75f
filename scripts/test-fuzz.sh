#!/usr/bin/env bash
# Fuzz stage: builds preset fuzz (clang, libFuzzer + ASan + UBSan, only the
# harnesses and the sources they need) and runs ctest -L fuzz: the seed corpus
# is written, then each harness runs FEDHPC_FUZZ_RUNS inputs from a fixed seed
# over it and replays tests/fuzz/regressions/<harness>/. A crash, sanitizer
# report, leak, uncaught non-fedhpc exception, allocation above 2 GiB or input
# slower than 10 s fails. Arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
ctest --preset fuzz "$@"
