#!/usr/bin/env bash
# Workstation launcher: mpirun over this machine's cores.
#   jobs/run-local.sh [-n RANKS] [-c CONFIG] [--section.key value ...]
# RANKS defaults to the number of cores; runs as root and oversubscription are allowed.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
ranks="$(nproc)"
config=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) ranks="${2:?-n needs a rank count}"; shift 2 ;;
    -c) config="${2:?-c needs a config file}"; shift 2 ;;
    -h) echo "usage: $0 [-n RANKS] [-c CONFIG] [--section.key value ...]"; exit 0 ;;
    *) break ;;
  esac
done
bin="${FEDHPC_BIN:-$here/build/fedhpc}"
[ -x "$bin" ] || { echo "fedhpc binary not found at $bin (build first: cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
args=()
[ -n "$config" ] && args+=(--config "$config")
exec mpirun -np "$ranks" --bind-to none "$bin" "${args[@]}" "$@"
