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
# FEDHPC_SLURM_NODES=N (N >= 2) starts N nodes instead, each in its own
# network and UTS namespace (hostname fedhpc-node<i>, address 10.213.0.<i+1>)
# with its own slurmd, and slurmctld in a namespace of its own (10.213.0.254)
# holding the bridge the nodes' veth pairs plug into: real TCP between nodes,
# nothing added to the host's network (the addresses exist only inside the
# namespaces made here, named fedhpc-<port>-{ctl,n<i>}, listed in DIR/netns).
# Client commands must run in the controller's namespace: DIR/bin holds
# wrappers (sbatch, srun, squeue, scontrol, scancel, sinfo, sacct) that do so
# when called from outside the cluster's namespaces, and the export lines
# put DIR/bin first in PATH. Needs iproute2 (ip netns) and util-linux.
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
nodes="${FEDHPC_SLURM_NODES:-1}"
tools=(munged mungekey munge slurmctld slurmd sbatch srun squeue scontrol sinfo sacct)
[ "$nodes" -lt 2 ] || tools+=(ip unshare)
for c in "${tools[@]}"; do
  command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "not installed: ${missing[*]} (apt-get install slurm-wlm munge; scripts/install-deps.sh does it)"
  exit 77
fi
[ "$(id -u)" -eq 0 ] || { log "must run as root (SlurmUser=root, SlurmdUser=root)"; exit 1; }

node_names=()
for ((i = 0; i < nodes; i++)); do node_names+=("fedhpc-node$i"); done
dir="${1:-}"
if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/fedhpc-slurm.XXXXXX")"
else
  mkdir -p "$dir"
fi
dir="$(cd "$dir" && pwd)"
chmod 700 "$dir"
[ ! -s "$dir/pids" ] || { log "$dir/pids exists: a cluster may be running there (slurm-down.sh $dir)"; exit 1; }
mkdir -p "$dir"/{etc,munge,state,log,run,tmp}
for n in "${node_names[@]}"; do mkdir -p "$dir/spool/$n"; done
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
ctld_addr=127.0.0.1
if [ "$nodes" -ge 2 ]; then
  # The network: a bridge in the controller's namespace, one veth pair per node.
  ns="fedhpc-$ctld_port"
  host="fedhpc-ctl"
  ctld_addr=10.213.0.254
  : > "$dir/netns"
  ip netns add "$ns-ctl" && echo "$ns-ctl" >> "$dir/netns"
  ip -n "$ns-ctl" link set lo up
  ip -n "$ns-ctl" link add br0 type bridge
  ip -n "$ns-ctl" addr add "$ctld_addr/24" dev br0
  ip -n "$ns-ctl" link set br0 up
  for ((i = 0; i < nodes; i++)); do
    ip netns add "$ns-n$i" && echo "$ns-n$i" >> "$dir/netns"
    ip -n "$ns-n$i" link set lo up
    ip -n "$ns-n$i" link add eth0 type veth peer name "p$i" netns "$ns-ctl"
    ip -n "$ns-n$i" addr add "10.213.0.$((i + 1))/24" dev eth0
    ip -n "$ns-n$i" link set eth0 up
    ip -n "$ns-ctl" link set "p$i" master br0 up
  done
  # Client commands: into the controller's namespace unless already in one of ours.
  mkdir -p "$dir/bin"
  for c in sbatch srun squeue scontrol scancel sinfo sacct; do
    real="$(command -v "$c")"
    cat > "$dir/bin/$c" <<EOF
#!/bin/sh
# $c of the namespaced test cluster in $dir (tests/slurm/slurm-up.sh)
case "\$(ip netns identify \$\$ 2>/dev/null)" in
  $ns-*) exec $real "\$@" ;;
  *) exec nsenter --net=/run/netns/$ns-ctl $real "\$@" ;;
esac
EOF
    chmod +x "$dir/bin/$c"
  done
  log "network: namespaces $ns-ctl (bridge, $ctld_addr) and $ns-n0..$((nodes - 1)) (10.213.0.1-$nodes)"
fi
read -r _ mem_kb _ < /proc/meminfo   # first line: MemTotal
mem_mb=$(( mem_kb / 1024 / 2 ))
sock="$dir/munge/munge.socket"
conf="$dir/etc/slurm.conf"
: > "$dir/etc/plugstack.conf"

cat > "$conf" <<EOF
# Private one-node test cluster written by tests/slurm/slurm-up.sh
ClusterName=fedhpc-test
SlurmctldHost=${host}(${ctld_addr})
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
SlurmdPidFile=${dir}/run/slurmd-%n.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd-%n.log
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
# A lost node is DOWN (and its jobs requeued) after SlurmdTimeout.
SlurmdTimeout=${FEDHPC_SLURMD_TIMEOUT:-30}
MessageTimeout=10
# No slurmdbd: completed jobs go to a text log that 'sacct -c' reads.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=${dir}/log/jobcomp.txt
$(if [ "$nodes" -ge 2 ]; then
    for ((i = 0; i < nodes; i++)); do
      echo "NodeName=fedhpc-node$i NodeAddr=10.213.0.$((i + 1)) NodeHostname=fedhpc-node$i CPUs=${cpus} RealMemory=$((mem_mb / nodes)) State=UNKNOWN"
    done
  else
    echo "NodeName=fedhpc-node0 NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN"
  fi)
PartitionName=debug Nodes=fedhpc-node[0-$((nodes - 1))] Default=YES MaxTime=INFINITE State=UP
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
[ "$nodes" -lt 2 ] || export PATH="$dir/bin:$PATH"
if [ "$nodes" -ge 2 ]; then
  start slurmctld nsenter --net="/run/netns/$ns-ctl" unshare --uts sh -c "hostname $host && exec slurmctld -D -c -f $conf"
else
  start slurmctld slurmctld -D -c -f "$conf"
fi
ctld_ok() { scontrol ping | grep -q 'is UP'; }
wait_for 20 slurmctld slurmctld ctld_ok || { tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmctld.out" >&2 2>/dev/null || true; exit 1; }

for ((i = 0; i < nodes; i++)); do
  n="fedhpc-node$i"
  if [ "$nodes" -ge 2 ]; then
    # Its own network, hostname and TmpFS (a node-local directory mounted
    # over DIR/tmp in its own mount namespace): Open MPI and PMIx see distinct hosts.
    mkdir -p "$dir/node-tmp/$n"
    start "slurmd-$n" nsenter --net="/run/netns/$ns-n$i" unshare --uts --mount --propagation private \
      sh -c "hostname $n && mount --bind $dir/node-tmp/$n $dir/tmp && exec slurmd -D -N $n -f $conf"
  else
    start "slurmd-$n" slurmd -D -N "$n" -f "$conf"
  fi
done
for n in "${node_names[@]}"; do
  node_ok() { [ "$(sinfo -h -n "$n" -o %t)" = idle ]; }
  wait_for 20 "slurmd-$n" "node $n to be idle" node_ok || { tail -n 20 "$dir/log/slurmd-$n.log" "$dir/log/slurmd-$n.out" >&2 2>/dev/null || true; exit 1; }
done

{
  echo "export SLURM_CONF=$conf"
  echo "export FEDHPC_SLURM_DIR=$dir"
  [ "$nodes" -lt 2 ] || echo "export PATH=$PATH"
} | tee "$dir/env"
ok=1
log "cluster fedhpc-test up:" \
    "node(s) ${node_names[*]} ($cpus CPUs each), ports $ctld_port/$slurmd_port, dir $dir"
