#!/usr/bin/env bash
# Post-training compression sweep (docs/posttrain.md): for each seed, trains
# the default experiment once per architecture (LeNet-5, MLP), then compresses
# that one trained model with every configs/posttrain_<arch>_*.ini method
# (posttrain.input: paired, no retraining of the base) and GWK at 5 and 6
# bits; then the table of mean ± std over seeds (analysis/posttrain_table.py).
#   jobs/posttrain-sweep.sh [-n RANKS] [-o DIR] [-s "SEEDS"]
# Existing results files are skipped, so an interrupted sweep continues.
set -euo pipefail
. "$(dirname "$0")/sweep-common.sh"
sweep_parse "$here/results/posttrain" "$@"
for seed in $seeds; do
  for arch in lenet5 mlp; do
    base="$out/${arch}_trained_seed$seed.h5"
    sweep_one "$base" "posttrain_${arch}_binquant" "$seed" --posttrain.method none
    for m in binquant binquant_grad; do
      sweep_one "$out/${arch}_${m}_seed$seed.h5" "posttrain_${arch}_$m" "$seed" --posttrain.input "$base"
    done
    for bits in 5 6; do
      sweep_one "$out/${arch}_gwk${bits}_seed$seed.h5" "posttrain_${arch}_gwk" "$seed" \
        --posttrain.input "$base" --posttrain.bits "$bits"
    done
  done
done
/usr/bin/python3 "$here/analysis/posttrain_table.py" "$out"
