#!/usr/bin/env bash
# FedDIP sweep (docs/feddip.md): every configs/feddip_*.ini over seeds 1 2 3,
# plus the composition variants (each method alone), then the table of
# mean ± std over seeds (analysis/feddip_table.py). Runs with the same seed
# see the same clients and batches (keyed streams), so they are paired.
#   jobs/feddip-sweep.sh [-n RANKS] [-o DIR] [-s "SEEDS"] [--server.rounds R ...]
# Existing results files are skipped, so an interrupted sweep continues.
set -euo pipefail
. "$(dirname "$0")/sweep-common.sh"
sweep_parse "$here/results/feddip" "$@"
one() {  # name config seed [overrides...]
  sweep_one "$out/${1}_seed$3.h5" "$2" "$3" "${@:4}" ${extra[@]+"${extra[@]}"}
}
for seed in $seeds; do
  for cfg in "$here"/configs/feddip_*.ini; do
    name="$(basename "$cfg" .ini)"
    one "$name" "$name" "$seed"
  done
  # Composition: each ingredient of feddip_omc_topk alone.
  one feddip_s90_int8 feddip_s90 "$seed" --storage.codec int --storage.bits 8 --storage.weights_only true
  one feddip_s90_topk feddip_s90 "$seed" --uplink.codec topk --uplink.ratio 0.02 \
    --uplink.error_feedback client --uplink.residual int8
  one feddip_dense_int8 feddip_dense "$seed" --storage.codec int --storage.bits 8 --storage.weights_only true
  one feddip_dense_topk feddip_dense "$seed" --uplink.codec topk --uplink.ratio 0.02 \
    --uplink.error_feedback client --uplink.residual int8
done
# Training length: the dense baseline and FedDIP at 0.9 and 0.95 over 200 rounds.
for seed in $seeds; do
  one feddip_dense_r200 feddip_dense "$seed" --server.rounds 200
  one feddip_s90_r200 feddip_s90 "$seed" --server.rounds 200
  one feddip_s95_r200 feddip_s95 "$seed" --server.rounds 200
done
/usr/bin/python3 "$here/analysis/feddip_table.py" "$out"
