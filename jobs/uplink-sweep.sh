#!/usr/bin/env bash
# Uplink compression sweep (issue 4): every configs/uplink_*.ini plus the
# variants below, then the accuracy / bytes / residual-memory table
# (analysis/uplink_table.py, reproduced in docs/uplink.md).
#   jobs/uplink-sweep.sh [-n RANKS] [-o DIR] [--server.rounds R ...]
# Extra arguments go to every run. Existing results files are skipped, so an
# interrupted sweep continues where it stopped.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
ranks="$(nproc)"; out="$here/results/uplink"
while [ $# -gt 0 ]; do
  case "$1" in
    -n) ranks="$2"; shift 2 ;;
    -o) out="$2"; shift 2 ;;
    *) break ;;
  esac
done
mkdir -p "$out"
one() {  # name config [overrides...]
  local name="$1" cfg="$2"; shift 2
  local file="$out/$name.h5"
  [ -e "$file" ] && { echo "exists, skipped: $file"; return; }
  echo "== $name"
  "$here/jobs/run-local.sh" -n "$ranks" -c "$here/configs/$cfg.ini" --run.output "$file" \
    --run.progress false "$@" "${extra[@]}"
}
extra=("$@")
for cfg in "$here"/configs/uplink_*.ini; do
  name="$(basename "$cfg" .ini)"
  one "$name" "$name"
done
# Variants: error feedback off, compressed residuals, quantized kept values, server EF.
one uplink_topk_no_ef uplink_topk --uplink.error_feedback none
one uplink_topk_int8_residual uplink_topk --uplink.residual int8
one uplink_topk_sparse_residual uplink_topk --uplink.residual sparse
one uplink_topk_q8 uplink_topk --uplink.quantize_bits 8 --uplink.residual int8
one uplink_topk_server_ef uplink_topk --uplink.error_feedback server
one uplink_topk_both_ef uplink_topk --uplink.error_feedback both
# Server momentum (FedAvgM), with and without compression.
one uplink_none_fedavgm uplink_none --server.optimizer fedavgm
one uplink_topk_fedavgm uplink_topk --server.optimizer fedavgm
one uplink_qsgd_8bit uplink_qsgd --uplink.levels 127
one uplink_sign_no_ef uplink_sign --uplink.error_feedback none
/usr/bin/python3 "$here/analysis/uplink_table.py" "$out"
