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
# Error feedback and residual storage, on plain top-1 % (uplink_topk1).
one uplink_topk1_no_ef uplink_topk1 --uplink.error_feedback none
one uplink_topk1_int8_residual uplink_topk1 --uplink.residual int8
one uplink_topk1_server_ef uplink_topk1 --uplink.error_feedback server
# Remedies for top-1 % (issue 14), each against uplink_topk1 (top-1 %, fp32
# values, client EF): the same bytes (>= 50x) spent on more coordinates (the
# best of them is configs/uplink_topk.ini: 7 %, 3-bit sign-magnitude values,
# Rice indices), stale residuals, density warm-up, EF21, per-variable top-k.
rice=(--uplink.value_grid sign_magnitude --uplink.index_coding rice)
one uplink_topk2_q8 uplink_topk1 --uplink.ratio 0.02 --uplink.quantize_bits 8 --uplink.value_grid sign_magnitude
one uplink_topk3_q4 uplink_topk1 --uplink.ratio 0.03 --uplink.quantize_bits 4 --uplink.value_grid sign_magnitude
one uplink_topk3_q4_range uplink_topk1 --uplink.ratio 0.03 --uplink.quantize_bits 4
one uplink_topk5_q4_rice uplink_topk1 --uplink.ratio 0.05 --uplink.quantize_bits 4 "${rice[@]}"
one uplink_topk1_decay uplink_topk1 --uplink.residual_decay 0.95
one uplink_topk1_maxage uplink_topk1 --uplink.residual_max_age 20
one uplink_topk1_warmup uplink_topk1 --uplink.warmup_rounds 5 --uplink.warmup_ratio 0.1
one uplink_topk1_ef21 uplink_topk1 --uplink.error_feedback ef21
one uplink_topk1_layer uplink_topk1 --uplink.topk_scope layer
# Both directions: the top-5 % uplink with a compressed downlink (EF21-P; a
# returning client downloads the broadcasts it missed or the model).
down=(--downlink.codec topk --downlink.quantize_bits 4 --downlink.value_grid sign_magnitude --downlink.index_coding rice)
one uplink_topk5_q4_rice_down5 uplink_topk1 --uplink.ratio 0.05 --uplink.quantize_bits 4 "${rice[@]}" "${down[@]}" --downlink.ratio 0.05
one uplink_topk5_q4_rice_down2 uplink_topk1 --uplink.ratio 0.05 --uplink.quantize_bits 4 "${rice[@]}" "${down[@]}" --downlink.ratio 0.02
# Server momentum (FedAvgM): the uncompressed FedAvgM baseline and top-k under it.
one uplink_none_fedavgm uplink_none --server.optimizer fedavgm
one uplink_topk_fedavgm uplink_topk --server.optimizer fedavgm
one uplink_topk1_fedavgm uplink_topk1 --server.optimizer fedavgm
one uplink_topk5_q4_rice_fedavgm uplink_topk1 --uplink.ratio 0.05 --uplink.quantize_bits 4 "${rice[@]}" --server.optimizer fedavgm
one uplink_qsgd_8bit uplink_qsgd --uplink.levels 127
one uplink_sign_no_ef uplink_sign --uplink.error_feedback none
/usr/bin/python3 "$here/analysis/uplink_table.py" "$out"
