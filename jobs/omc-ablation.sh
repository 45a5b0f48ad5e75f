#!/usr/bin/env bash
# OMC ablation (docs/omc.md): the configs below over seeds 1 2 3, then the
# tables of mean ± std over seeds and paired differences against omc_fp32
# (analysis/omc_table.py). Runs with the same seed see the same clients and
# batches (keyed streams), so differences are paired.
#   jobs/omc-ablation.sh [-n RANKS] [-o DIR] [-s "SEEDS"] [-c "CONFIGS"] [--server.rounds R ...]
# -c replaces the list (names of configs/*.ini, e.g. "omc_fp32 omc_q4_naive").
# Existing results files are skipped, so an interrupted sweep continues.
# docs/omc.md's tables: jobs/omc-ablation.sh -n 2 --server.rounds 30
set -euo pipefail
. "$(dirname "$0")/sweep-common.sh"
configs="omc_fp32 omc_q8_wmoq omc_q8_wmoq_nearest omc_q8_wmoq_pvt_ppq omc_q6_wmoq_pvt omc_q6_wmoq_pvt_nearest omc_q6_wmoq_pvt_ppq
 omc_e4m3_wmoq omc_e4m3_wmoq_pvt omc_e5m2_wmoq omc_e5m2_wmoq_pvt omc_e3m4_wmoq omc_e3m4_wmoq_pvt
 omc_e3m2_wmoq_pvt omc_e2m3_wmoq_pvt"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -c) configs="${2:?-c needs config names}"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
sweep_parse "$here/results/omc" ${args[@]+"${args[@]}"}
for seed in $seeds; do
  for name in $configs; do
    sweep_one "$out/${name}_seed$seed.h5" "$name" "$seed" ${extra[@]+"${extra[@]}"}
  done
done
/usr/bin/python3 "$here/analysis/omc_table.py" "$out"
