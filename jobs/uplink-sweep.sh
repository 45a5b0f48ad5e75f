#!/usr/bin/env bash
# Uplink compression sweep (issues 4 and 14): every configs/uplink_*.ini plus
# the variants below, each over seeds (default 1 2 3), then the tables of
# docs/uplink.md (analysis/uplink_table.py: mean ± std over seeds, paired
# differences against the uncompressed baseline with the same server, uplink /
# downlink / total bytes).
#   jobs/uplink-sweep.sh [-n RANKS] [-o DIR] [-s "1 2 3"] [--only NAME ...] [--section.key value ...]
# Runs are named <variant>_seed<N>; existing results files are skipped, so an
# interrupted sweep continues where it stopped. --only NAME (repeatable) runs
# only the named variants. FEDHPC_BIN selects the binary (jobs/run-local.sh).
set -euo pipefail
source "$(dirname "$0")/sweep-common.sh"
only=()
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only+=("${2:?--only needs a variant name}"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
sweep_parse "$here/results/uplink" "${args[@]+"${args[@]}"}"
one() {  # name config [overrides...]
  local name="$1" cfg="$2"; shift 2
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " =~ " $name " ]]; then return; fi
  for seed in $seeds; do
    sweep_one "$out/${name}_seed$seed.h5" "$cfg" "$seed" "$@" "${extra[@]+"${extra[@]}"}"
  done
}
# The configs as they are.
for cfg in "$here"/configs/uplink_*.ini; do
  name="$(basename "$cfg" .ini)"
  one "$name" "$name"
done
# Error feedback and residual storage.
one uplink_topk_no_ef uplink_topk --uplink.error_feedback none
one uplink_topk_int8_residual uplink_topk --uplink.residual int8
one uplink_topk_server_ef uplink_topk --uplink.error_feedback server
# Remedies for top-1 % (issue 14), each against uplink_topk (top-1 %, fp32
# values, client EF): same bytes (>= 50x) spent differently, stale residuals,
# density warm-up, EF21, per-variable top-k.
one uplink_topk2_q8 uplink_topk --uplink.ratio 0.02 --uplink.quantize_bits 8 --uplink.value_grid sign_magnitude
one uplink_topk3_q4 uplink_topk --uplink.ratio 0.03 --uplink.quantize_bits 4 --uplink.value_grid sign_magnitude
one uplink_topk3_q4_range uplink_topk --uplink.ratio 0.03 --uplink.quantize_bits 4
one uplink_topk5_q4_rice uplink_topk --uplink.ratio 0.05 --uplink.quantize_bits 4 --uplink.value_grid sign_magnitude --uplink.index_coding rice
one uplink_topk_decay uplink_topk --uplink.residual_decay 0.95
one uplink_topk_maxage uplink_topk --uplink.residual_max_age 20
one uplink_topk_warmup uplink_topk --uplink.warmup_rounds 5 --uplink.warmup_ratio 0.1
one uplink_topk_ef21 uplink_topk --uplink.error_feedback ef21
one uplink_topk_layer uplink_topk --uplink.topk_scope layer
# Server momentum (FedAvgM): the uncompressed FedAvgM baseline and top-1 % under it.
one uplink_none_fedavgm uplink_none --server.optimizer fedavgm
one uplink_topk_fedavgm uplink_topk --server.optimizer fedavgm
one uplink_topk5_q4_rice_fedavgm uplink_topk --uplink.ratio 0.05 --uplink.quantize_bits 4 --uplink.value_grid sign_magnitude --uplink.index_coding rice --server.optimizer fedavgm
one uplink_qsgd_8bit uplink_qsgd --uplink.levels 127
one uplink_sign_no_ef uplink_sign --uplink.error_feedback none
/usr/bin/python3 "$here/analysis/uplink_table.py" "$out"
