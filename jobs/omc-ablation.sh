#!/usr/bin/env bash
# OMC ablation sweep: every configs/omc_*.ini for the given models and
# partitions, then the table (analysis/omc_table.py).
#   jobs/omc-ablation.sh [-n RANKS] [-m "lenet5 mlp"] [-p "dirichlet iid"] [-o DIR] [--server.rounds R ...]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
ranks="$(nproc)"; models="lenet5 mlp"; parts="dirichlet iid"; out="$here/results/omc"
while [ $# -gt 0 ]; do
  case "$1" in
    -n) ranks="$2"; shift 2 ;;
    -m) models="$2"; shift 2 ;;
    -p) parts="$2"; shift 2 ;;
    -o) out="$2"; shift 2 ;;
    *) break ;;
  esac
done
mkdir -p "$out"
for cfg in "$here"/configs/omc_*.ini; do
  name="$(basename "$cfg" .ini)"
  for m in $models; do
    for p in $parts; do
      file="$out/${name}_${m}_${p}.h5"
      [ -e "$file" ] && { echo "exists, skipped: $file"; continue; }
      echo "== $name $m $p"
      "$here/jobs/run-local.sh" -n "$ranks" -c "$cfg" --model.arch "$m" --data.partition "$p" \
        --run.output "$file" --run.progress false "$@"
    done
  done
done
/usr/bin/python3 "$here/analysis/omc_table.py" "$out"
