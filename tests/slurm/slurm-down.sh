#!/usr/bin/env bash
# Stops the private cluster started by slurm-up.sh in DIR: cancels its jobs,
# then stops exactly the PIDs recorded in DIR/pids (slurmd(s), slurmctld,
# munged; TERM, then KILL after 5 s; a PID is signalled only while it still
# runs the program recorded for it: the name up to its first '-'), kills what
# is left in the network namespaces listed in DIR/netns and deletes them, and
# removes DIR (kept if FEDHPC_SLURM_KEEP=1).
#
#   tests/slurm/slurm-down.sh DIR
set -uo pipefail
dir="${1:-${FEDHPC_SLURM_DIR:-}}"
[ -n "$dir" ] || { echo "usage: $0 DIR (the directory slurm-up.sh printed)" >&2; exit 2; }
[ -d "$dir" ] || { echo "slurm-down: no such directory: $dir" >&2; exit 0; }
log() { echo "slurm-down: $*" >&2; }

pid_of() { awk -v n="$1" '$1 == n { print $2 }' "$dir/pids" 2>/dev/null; }
names() { awk '{ print $1 }' "$dir/pids" 2>/dev/null; }
running() {  # running NAME PID: PID is alive and still the program we started
  [ -n "$2" ] && [ -r "/proc/$2/comm" ] && [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$1" ]
}

# Jobs first, while slurmctld and slurmd can still end them cleanly.
if [ -f "$dir/etc/slurm.conf" ] && running slurmctld "$(pid_of slurmctld)"; then
  export SLURM_CONF="$dir/etc/slurm.conf"
  jobs=$(squeue -h -o %A 2>/dev/null | sort -u)
  if [ -n "$jobs" ]; then
    log "cancelling jobs: ${jobs//$'\n'/ }"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    for _ in $(seq 100); do
      [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
fi

# Then the daemons, all at once (each takes a second or two to wind down).
declare -A pids=()
for name in $(names); do
  pid=$(pid_of "$name")
  running "${name%%-*}" "$pid" || continue
  pids[$name]=$pid
  kill -TERM "$pid" 2>/dev/null
done
for _ in $(seq 50); do
  left=0
  for name in "${!pids[@]}"; do running "${name%%-*}" "${pids[$name]}" && left=1; done
  [ "$left" = 1 ] || break
  sleep 0.1
done
for name in "${!pids[@]}"; do
  if running "${name%%-*}" "${pids[$name]}"; then
    log "$name (${pids[$name]}) ignored TERM for 5 s; sending KILL"
    kill -KILL "${pids[$name]}" 2>/dev/null
  fi
done
: > "$dir/pids"

# The namespaces of a multi-node cluster: whatever still runs in them (job
# steps of a lost node), then the namespaces (their veths and bridge go too).
if [ -s "$dir/netns" ]; then
  while read -r ns; do
    [ -n "$ns" ] || continue
    # shellcheck disable=SC2046
    kill -KILL $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
    ip netns del "$ns" 2>/dev/null || log "could not delete network namespace $ns"
  done < "$dir/netns"
  : > "$dir/netns"
fi

if [ "${FEDHPC_SLURM_KEEP:-0}" = 1 ]; then
  log "stopped; kept $dir"
else
  rm -rf "$dir"
fi
