#!/usr/bin/env bash
# Measured weak scaling of the default experiment (issue 13): 50 clients per
# rank per round (np 1: 50, np 2: 100, np 4: 200), the same data, R rounds,
# np 1/2/4 alternated REPS times in one session. Prints, per rank count, the
# median round time over rounds 1.. (round 0 warms up) of each repetition,
# the efficiency T(1)/T(np) per repetition, and where the time goes (the
# /execution per-rank phase rows: train, wait at the barrier, aggregate,
# server, eval, write; means over rounds and ranks) and the HDF5 share.
# np 4 on a 2-core machine is oversubscribed: its numbers are noise.
#   bench/weak_scaling.sh [-r ROUNDS] [-k REPS] [-o DIR] [--section.key value ...]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
rounds=20; reps=2; out="$(mktemp -d /tmp/fedhpc_weak.XXXX)"
while [ $# -gt 0 ]; do
  case "$1" in
    -r) rounds="$2"; shift 2 ;;
    -k) reps="$2"; shift 2 ;;
    -o) out="$2"; shift 2 ;;
    *) break ;;
  esac
done
mkdir -p "$out"
for k in $(seq 1 "$reps"); do
  for np in 1 2 4; do
    "$here/jobs/run-local.sh" -n "$np" -c "$here/configs/default.ini" --server.rounds "$rounds" \
      --server.clients_per_round $((50 * np)) --run.progress false --run.overwrite true \
      --run.output "$out/np${np}_rep$k.h5" "$@" > /dev/null
  done
done
/usr/bin/python3 - "$out" "$reps" <<'PY'
import sys, h5py, numpy as np
out, reps = sys.argv[1], int(sys.argv[2])
def load(np_, k):
    with h5py.File(f"{out}/np{np_}_rep{k}.h5") as f:
        e = f["/execution"]
        rt = e["round_seconds"][1:]
        phases = {p: e[f"{p}_seconds"][:] for p in ("train", "wait", "aggregate", "server", "eval", "write")}
        rr = e["rank_round"][:]
        keep = rr >= 1
        return float(np.median(rt)), {p: float(v[keep].mean()) for p, v in phases.items()}, float(rt.sum())
print("| ranks | clients/round | median round s (per rep) | efficiency T(1)/T(np) (per rep) | "
      "train | wait | aggregate | server | eval | write | write / round |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
base = [load(1, k)[0] for k in range(1, reps + 1)]
for np_ in (1, 2, 4):
    rows = [load(np_, k) for k in range(1, reps + 1)]
    t = [r[0] for r in rows]
    eff = [b / x for b, x in zip(base, t)]
    ph = {p: np.mean([r[1][p] for r in rows]) for p in rows[0][1]}
    share = ph["write"] / np.mean(t)
    print(f"| {np_}{' (oversubscribed)' if np_ > 2 else ''} | {50 * np_} | {', '.join(f'{x:.3f}' for x in t)} | "
          f"{', '.join(f'{x:.2f}' for x in eff)} | " + " | ".join(f"{ph[p]:.3f}" for p in
          ("train", "wait", "aggregate", "server", "eval", "write")) + f" | {100 * share:.1f} % |")
PY
