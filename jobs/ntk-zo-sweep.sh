#!/usr/bin/env bash
# NTK foresight pruning + zeroth-order training sweep (docs/ntk_zo.md): every
# configs/ntk_zo_*.ini over seeds, densities, K and partitions (runs of one
# seed are paired: same clients and batches). The full grid of the issue is
# -d "0.1 0.2 0.3" -k "20 100" -p "iid dir0.1 dir0.5"; the defaults are one
# point of it. Existing results files are skipped.
#   jobs/ntk-zo-sweep.sh [-n RANKS] [-o DIR] [-s SEEDS] [-d DENSITIES] [-k KS] [-p PARTITIONS]
set -euo pipefail
. "$(dirname "$0")/sweep-common.sh"
densities="0.2"; ks="20"; parts="dir0.5"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -d) densities="${2:?-d needs densities}"; shift 2 ;;
    -k) ks="${2:?-k needs directions}"; shift 2 ;;
    -p) parts="${2:?-p needs partitions}"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
sweep_parse "$here/results/ntk_zo" ${args[@]+"${args[@]}"}
partition() {  # iid | dirA -> overrides
  case "$1" in
    iid) echo "--data.partition iid" ;;
    dir*) echo "--data.partition dirichlet --data.alpha ${1#dir}" ;;
    *) echo "unknown partition '$1' (iid | dirA)" >&2; exit 2 ;;
  esac
}
for seed in $seeds; do
  for p in $parts; do
    # shellcheck disable=SC2046
    sweep_one "$out/ntk_zo_backprop_${p}_seed$seed.h5" ntk_zo_backprop "$seed" $(partition "$p")
    for k in $ks; do
      sweep_one "$out/ntk_zo_dense_k${k}_${p}_seed$seed.h5" ntk_zo_dense "$seed" --zo.directions "$k" $(partition "$p")
      for d in $densities; do
        s="$(awk -v d="$d" 'BEGIN { printf "%g", 1 - d }')"
        for m in ntk_noise ntk_data random magnitude; do
          sweep_one "$out/ntk_zo_${m}_d${d}_k${k}_${p}_seed$seed.h5" "ntk_zo_$m" "$seed" --zo.directions "$k" \
            --prune.sparsity "$s" --prune.initial_sparsity "$s" $(partition "$p")
        done
      done
    done
  done
done
