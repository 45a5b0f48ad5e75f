#!/usr/bin/env bash
# Post-training compression sweep (docs/posttrain.md): for each seed, trains
# the default experiment once per architecture (LeNet-5, MLP), then compresses
# that one trained model with every configs/posttrain_<arch>_*.ini method
# (posttrain.input: paired, no retraining of the base), GWK at 5 and 6 bits,
# and OMC's int8 storage as a reference; then the table of mean ± std over
# seeds (analysis/posttrain_table.py).
#   jobs/posttrain-sweep.sh [-n RANKS] [-o DIR] [-s "SEEDS"]
# Existing results files are skipped, so an interrupted sweep continues.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
ranks="$(nproc)"; out="$here/results/posttrain"; seeds="1 2 3"
while [ $# -gt 0 ]; do
  case "$1" in
    -n) ranks="$2"; shift 2 ;;
    -o) out="$2"; shift 2 ;;
    -s) seeds="$2"; shift 2 ;;
    *) echo "usage: $0 [-n RANKS] [-o DIR] [-s SEEDS]" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
one() {  # file config seed [overrides...]
  local file="$1" cfg="$2" seed="$3"; shift 3
  [ -e "$file" ] && { echo "exists, skipped: $file"; return; }
  echo "== $(basename "$file" .h5)"
  "$here/jobs/run-local.sh" -n "$ranks" -c "$here/configs/$cfg.ini" --run.output "$file" \
    --run.seed "$seed" --run.progress false "$@"
}
for seed in $seeds; do
  for arch in lenet5 mlp; do
    base="$out/${arch}_trained_seed$seed.h5"
    one "$base" "posttrain_${arch}_binquant" "$seed" --posttrain.method none
    for m in binquant binquant_grad; do
      one "$out/${arch}_${m}_seed$seed.h5" "posttrain_${arch}_$m" "$seed" --posttrain.input "$base"
    done
    for bits in 5 6; do
      one "$out/${arch}_gwk${bits}_seed$seed.h5" "posttrain_${arch}_gwk" "$seed" --posttrain.input "$base" \
        --posttrain.bits "$bits"
    done
  done
done
/usr/bin/python3 "$here/analysis/posttrain_table.py" "$out"
