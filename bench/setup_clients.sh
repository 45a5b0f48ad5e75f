#!/usr/bin/env bash
# Set-up cost of many clients (issue 13): FedProx Synthetic data with N
# clients (metadata, budgets, partition, /client_info with every client's
# label histogram, the memory estimate), then one round of 10 clients, at
# np ranks. Prints wall seconds (mpirun start to exit) and the largest rank's
# peak RSS. With two binaries it alternates them (noisy machines) and prints
# the ratio of the medians.
#   bench/setup_clients.sh [-n RANKS] [-r REPS] CLIENTS BIN_A [BIN_B]
set -euo pipefail
np=2; reps=1
while getopts "n:r:" o; do case $o in n) np=$OPTARG ;; r) reps=$OPTARG ;; *) exit 2 ;; esac; done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { sed -n 2,10p "$0" >&2; exit 2; }
clients=$1; shift
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for r in $(seq 1 "$reps"); do
  i=0
  for bin in "$@"; do
    i=$((i + 1))
    start=${EPOCHREALTIME/./}
    mpirun -np "$np" --bind-to none "$bin" --data.source synthetic --data.num_clients "$clients" \
      --server.rounds 1 --server.clients_per_round 10 --model.arch mlp --model.hidden 300,140 \
      --run.output "$tmp/r.h5" --run.overwrite true --run.progress false > /dev/null
    end=${EPOCHREALTIME/./}
    awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f\n", (b - a) / 1e6}' >> "$tmp/wall_$i"
    /usr/bin/python3 -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(f['/execution/peak_rss_bytes'][-1] / int(f['/execution'].attrs['num_ranks']) / 1e6)" \
      "$tmp/r.h5" >> "$tmp/rss_$i"
  done
done
i=0
for bin in "$@"; do
  i=$((i + 1))
  echo "$bin: $clients clients at np $np: wall s $(tr '\n' ' ' < "$tmp/wall_$i")(median $(median < "$tmp/wall_$i")), peak RSS per rank $(median < "$tmp/rss_$i") MB"
done
if [ $# -eq 2 ]; then
  awk -v a="$(median < "$tmp/wall_1")" -v b="$(median < "$tmp/wall_2")" 'BEGIN {printf "wall B/A %.3f\n", b / a}'
fi
