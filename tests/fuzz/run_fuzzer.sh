#!/usr/bin/env bash
# Runs one libFuzzer harness for a bounded number of inputs, repeatably:
#   run_fuzzer.sh HARNESS WORK_DIR RUNS CORPUS_DIR...
# RUNS 0: no fuzzing, every file of the corpus directories is run once.
# WORK_DIR is emptied; new inputs and any crash artifact go there. Corpus
# directories that do not exist (no regression inputs yet) are skipped. The
# harness runs in a fresh directory on tmpfs (fuzz_checkpoint's writer
# fsyncs) and writes its input files to ./scratch there, so the same seed
# gives the same run. Exit status is the harness's: non-zero on a crash, leak,
# sanitizer report, timeout (10 s per input) or allocation above 2 GiB.
set -euo pipefail
harness=$1 work=$2 runs=$3
shift 3
rm -rf "$work"
mkdir -p "$work/corpus"
dirs=()
for d in "$@"; do [ -d "$d" ] && dirs+=("$(cd "$d" && pwd)"); done
work=$(cd "$work" && pwd)
base=/tmp
if [ -d /dev/shm ] && [ -w /dev/shm ]; then base=/dev/shm; fi
run_dir=$(mktemp -d "$base/fedhpc-fuzz-XXXXXX")
trap 'rm -rf "$run_dir"' EXIT
cd "$run_dir"
status=0
export FEDHPC_FUZZ_SCRATCH=scratch
if [ "$runs" = 0 ]; then
  files=()
  for d in "${dirs[@]}"; do
    for f in "$d"/*; do [ -f "$f" ] && files+=("$f"); done
  done
  "$harness" -timeout=10 -rss_limit_mb=2048 "${files[@]}" || status=$?
  exit $status
fi
"$harness" -seed=1 -runs="$runs" -max_total_time=240 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "${dirs[@]}" || status=$?
exit $status
