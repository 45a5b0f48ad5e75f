#!/usr/bin/env bash
# Workstation launcher: mpirun over this machine's cores.
#   jobs/run-local.sh [-n RANKS] [-c CONFIG] [--section.key value ...]
# RANKS defaults to the number of cores; runs as root and oversubscription are allowed.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
ranks="$(nproc)"
config=""
while getopts "n:c:" opt; do
  case "$opt" in
    n) ranks="$OPTARG" ;;
    c) config="$OPTARG" ;;
    *) echo "usage: $0 [-n RANKS] [-c CONFIG] [--section.key value ...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
bin="${FEDHPC_BIN:-$here/build/fedhpc}"
[ -x "$bin" ] || { echo "fedhpc binary not found at $bin (build first: cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
args=()
[ -n "$config" ] && args+=(--config "$config")
exec mpirun -np "$ranks" --bind-to none "$bin" "${args[@]}" "$@"
