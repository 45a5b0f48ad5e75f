#!/usr/bin/env bash
# A/B comparison of two fedhpc builds in one run (the machines are noisy:
# alternate the two, report medians and their ratio).
#   bench/ab_compare.sh BUILD_A BUILD_B [REPS] [-- fedhpc args]
# BUILD_* are build directories holding fedhpc and bench/bench_client. Runs
# bench_client (client updates/s/core) and the default experiment at np 2
# (wall seconds from /execution/wall_seconds), alternating A and B REPS times.
set -euo pipefail
A=$1; B=$2; REPS=${3:-3}; shift 3 || true
[ "${1:-}" = "--" ] && shift
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for r in $(seq 1 "$REPS"); do
  for side in A B; do
    dir=$A; [ $side = B ] && dir=$B
    "$dir/bench/bench_client" | awk '/client updates\/s\/core/ {print $NF; exit}' >> "$tmp/client_$side"
    mpirun -np 2 "$dir/fedhpc" --config configs/default.ini --run.output "$tmp/$side.h5" \
      --run.overwrite true --run.progress false "$@" > /dev/null
    /usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1],'r')['/execution/wall_seconds'][-1])" \
      "$tmp/$side.h5" >> "$tmp/wall_$side"
  done
done
for m in client wall; do
  a=$(median < "$tmp/${m}_A"); b=$(median < "$tmp/${m}_B")
  echo "$m: A $(tr '\n' ' ' < "$tmp/${m}_A")| B $(tr '\n' ' ' < "$tmp/${m}_B")| median A $a B $b | B/A $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", b/a}')"
done
