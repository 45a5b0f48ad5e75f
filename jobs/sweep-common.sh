# Sourced by the seed sweeps (jobs/feddip-sweep.sh, jobs/posttrain-sweep.sh):
# their common options and one run that skips results already there.
#   sweep_parse DEFAULT_OUT "$@"   sets here, ranks, out, seeds; the other
#                                  arguments are left in the array `extra`
#   sweep_one FILE CONFIG SEED [--section.key value ...]
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sweep_parse() {
  out="$1"; shift
  ranks="$(nproc)"; seeds="1 2 3"; extra=()
  while [ $# -gt 0 ]; do
    case "$1" in
      -n) ranks="${2:?-n needs a rank count}"; shift 2 ;;
      -o) out="${2:?-o needs a directory}"; shift 2 ;;
      -s) seeds="${2:?-s needs seeds}"; shift 2 ;;
      *) extra+=("$1"); shift ;;
    esac
  done
  mkdir -p "$out"
}
sweep_one() {
  local file="$1" cfg="$2" seed="$3"; shift 3
  [ -e "$file" ] && { echo "exists, skipped: $file"; return; }
  echo "== $(basename "$file" .h5)"
  "$here/jobs/run-local.sh" -n "$ranks" -c "$here/configs/$cfg.ini" --run.output "$file" \
    --run.seed "$seed" --run.progress false "$@"
}
