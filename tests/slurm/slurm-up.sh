#!/usr/bin/env bash
# Starts a private one-node Slurm cluster on localhost, for tests and for
# trying the job scripts in jobs/ without a real cluster.
#
#   eval "$(tests/slurm/slurm-up.sh [DIR])"      # exports SLURM_CONF, FEDHPC_SLURM_DIR
#   sbatch ...; squeue; sacct -c                  # talk to the private cluster
#   tests/slurm/slurm-down.sh "$FEDHPC_SLURM_DIR" # stops exactly what was started
#
# Everything lives in DIR (default: a new mktemp directory): a fresh munge key,
# slurm.conf, state and spool directories, logs, and the file `pids` with the
# PIDs of the munged, slurmctld and slurmd started here (no systemd, no
# cgroups: proctrack/linuxproc, task/none). The ports are a free pair from
# 16817-17817 (FEDHPC_SLURM_PORT picks the first one tried), and clients find the cluster only
# through SLURM_CONF, so it cannot clash with a system Slurm. Runs as root
# (SlurmUser=SlurmdUser=root). The node declares FEDHPC_SLURM_CPUS CPUs
# (default 4, more than the cores if need be: SlurmdParameters=config_overrides).
# Open MPI needs srun --mpi=pmix, so MpiDefault=pmix. No slurmdbd: finished
# jobs go to a job-completion log, read with `sacct -c`.
#
# stdout: export lines for eval (also written to DIR/env); progress on stderr.
# Exit 0 when the node is idle and accepts jobs; 77 if Slurm or munge is not
# installed (scripts/install-deps.sh installs them); 1 on any other failure,
# after stopping whatever it had started.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
t0=${EPOCHREALTIME/./}
now_us() { echo "${EPOCHREALTIME/./}"; }
elapsed() { local us=$(( $(now_us) - t0 )); printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000)); }
log() { echo "slurm-up: [$(elapsed)s] $*" >&2; }

missing=()
for c in munged mungekey munge slurmctld slurmd sbatch srun squeue scontrol sinfo sacct; do
  command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "not installed: ${missing[*]} (apt-get install slurm-wlm munge; scripts/install-deps.sh does it)"
  exit 77
fi
[ "$(id -u)" -eq 0 ] || { log "must run as root (SlurmUser=root, SlurmdUser=root)"; exit 1; }

node="fedhpc-node0"
dir="${1:-}"
if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/fedhpc-slurm.XXXXXX")"
else
  mkdir -p "$dir"
fi
dir="$(cd "$dir" && pwd)"
chmod 700 "$dir"
[ ! -s "$dir/pids" ] || { log "$dir/pids exists: a cluster may be running there (slurm-down.sh $dir)"; exit 1; }
mkdir -p "$dir"/{etc,munge,state,log,run,tmp} "$dir/spool/$node"
chmod 700 "$dir/munge"
: > "$dir/pids"

ok=0
cleanup() { [ "$ok" = 1 ] || { log "failed; logs in $dir/log; stopping what was started"; FEDHPC_SLURM_KEEP=1 bash "$here/slurm-down.sh" "$dir" >&2 || true; }; }
trap cleanup EXIT
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

# A free port pair: nothing listening on either (from /proc/net/tcp{,6}).
declare -A listening=()
for f in /proc/net/tcp /proc/net/tcp6; do
  [ -r "$f" ] || continue
  while read -r _ local _ state _; do
    [ "$state" = 0A ] && listening[$((16#${local##*:}))]=1
  done < <(tail -n +2 "$f")
done
port="${FEDHPC_SLURM_PORT:-$((16817 + 2 * ($$ % 500)))}"   # spread: clusters started together
while [ -n "${listening[$port]:-}" ] || [ -n "${listening[$((port + 1))]:-}" ]; do port=$((port + 2)); done
ctld_port=$port
slurmd_port=$((port + 1))
# Job ids unique among the clusters running at once (their ports differ): Open
# MPI names its shared-memory segments after the PMIx namespace, which is
# slurm.pmix.<job id>.<step id>, so two clusters' job 1 would crash each other.
first_job_id=$(( port / 2 % 500 * 10000 + 1 ))

cpus="${FEDHPC_SLURM_CPUS:-4}"
host="$(hostname -s)"
read -r _ mem_kb _ < /proc/meminfo   # first line: MemTotal
mem_mb=$(( mem_kb / 1024 / 2 ))
sock="$dir/munge/munge.socket"
conf="$dir/etc/slurm.conf"
: > "$dir/etc/plugstack.conf"

cat > "$conf" <<EOF
# Private one-node test cluster written by tests/slurm/slurm-up.sh
ClusterName=fedhpc-test
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${ctld_port}
SlurmdPort=${slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also sets how long a requeued job waits before it may start again
# (default 120 s); 5 s keeps the preemption test short.
AuthInfo=socket=${sock},cred_expire=5
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool/%n
# Also PMIx's per-step directories (else /tmp/spmix_appdir_<uid>_<job>.<step>,
# shared with any other test cluster).
TmpFS=${dir}/tmp
SlurmctldPidFile=${dir}/run/slurmctld.pid
SlurmdPidFile=${dir}/run/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=${dir}/etc/plugstack.conf
MailProg=/bin/true
# No cgroups: track processes through /proc, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# Debian's Open MPI starts under srun only through PMIx.
MpiDefault=pmix
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# The node may declare more CPUs than the machine has cores.
SlurmdParameters=config_overrides
JobRequeue=1
FirstJobId=${first_job_id}
KillWait=5
InactiveLimit=0
MinJobAge=600
SlurmdTimeout=30
MessageTimeout=10
# No slurmdbd: completed jobs go to a text log that 'sacct -c' reads.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=${dir}/log/jobcomp.txt
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP
EOF

declare -A pid=()
start() {  # start NAME CMD...: runs CMD in the background (own session), records its PID
  local name=$1; shift
  setsid "$@" </dev/null >"$dir/log/$name.out" 2>&1 &
  pid[$name]=$!
  echo "$name $!" >> "$dir/pids"
}

alive() { kill -0 "${pid[$1]}" 2>/dev/null; }  # alive NAME: the process started as NAME runs

wait_for() {  # wait_for SECONDS NAME WHAT CMD...: polls CMD every 20 ms while daemon NAME runs
  local limit=$1 name=$2 what=$3; shift 3
  local end=$(( $(now_us) + limit * 1000000 ))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then log "$name exited while waiting for $what"; return 1; fi
    if [ "$(now_us)" -gt "$end" ]; then log "timed out after ${limit}s waiting for $what"; return 1; fi
    sleep 0.02
  done
}

mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
chmod 400 "$dir/munge/munge.key"
start munged munged --foreground --force --key-file="$dir/munge/munge.key" --socket="$sock" \
  --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed" \
  --log-file="$dir/log/munged.log"
munge_ok() { munge -n -S "$sock" | unmunge -S "$sock"; }
wait_for 10 munged munged munge_ok || { cat "$dir/log/munged.out" "$dir/log/munged.log" >&2 2>/dev/null || true; exit 1; }

export SLURM_CONF="$conf"
start slurmctld slurmctld -D -c -f "$conf"
ctld_ok() { scontrol ping | grep -q 'is UP'; }
wait_for 20 slurmctld slurmctld ctld_ok || { tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmctld.out" >&2 2>/dev/null || true; exit 1; }

start slurmd slurmd -D -N "$node" -f "$conf"
node_ok() { [ "$(sinfo -h -n "$node" -o %t)" = idle ]; }
wait_for 20 slurmd "node $node to be idle" node_ok || { tail -n 20 "$dir/log/slurmd.log" "$dir/log/slurmd.out" >&2 2>/dev/null || true; exit 1; }

{
  echo "export SLURM_CONF=$conf"
  echo "export FEDHPC_SLURM_DIR=$dir"
} | tee "$dir/env"
ok=1
log "cluster fedhpc-test up:" \
    "node $node ($cpus CPUs), ports $ctld_port/$slurmd_port, dir $dir"
