#!/usr/bin/env python3
"""Alpha-beta model of a round, calibrated on this machine, projected to 1,024 ranks
(issue 13; docs/performance.md, "Cluster scale on paper").

    bench/alpha_beta.py --measure [--bin-dir build]     # runs bench_collectives at np 2 and 4
    bench/alpha_beta.py --calibration DIR --run RESULTS.h5 [--figure PNG]

Calibration: bench_collectives times fedhpc's aggregation collectives at np 2
and 4 (CSV in DIR/collectives_np{2,4}.csv). Per family a latency alpha and an
inverse bandwidth beta are fitted by least squares to
    dense, quantized (allreduce, Rabenseifner):  t = 2 log2(p) alpha + 2 (p-1)/p m beta
    sparse (allgatherv of every rank's records): t = 2 log2(p) alpha + (p-1) m beta
with m the bytes each rank contributes.

The round (weak scaling, 50 clients per rank, the default experiment): from a
results file of the default experiment at np 1 (/execution per-rank rows and
/client_info), per round
    T(p) = max over p ranks of their clients' training time      (imbalance)
         + server + write (replicated, constant)
         + eval(1) / p   (the test set is split)  + aggregation(p, path)
A client's training time is proportional to its examples (fitted on the run's
rounds); the expected maximum over p ranks of 50 clients drawn from the run's
client sizes is estimated by Monte Carlo, as the ranks' own clients
(run.balance = shard) and after the per-round balance (run.balance = round:
the greedy of sim::balance_round, at most 8 clients sent and 8 taken per
rank), which adds the exchange of the moved clients' examples (an
all-to-all: (p - 1) alpha + bytes beta with the dense family's alpha/beta,
pessimistic in its latency term). Efficiency E(p) = T(1) / T(p).
Projected for this machine's fitted alpha/beta and for an assumed cluster
network (--net-alpha, --net-beta; default 2 us and 1/(12 GB/s), an HDR
InfiniBand-class fabric: an assumption, not a measurement).
"""
import argparse
import csv
import math
import os
import subprocess
import sys

import h5py
import numpy as np

CLIENTS_PER_RANK = 50
RANKS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]


def measure(bin_dir, out_dir, reps):
    os.makedirs(out_dir, exist_ok=True)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    for p in (2, 4):
        out = subprocess.run(["mpirun", "-np", str(p), "--oversubscribe", "--bind-to", "none",
                              os.path.join(bin_dir, "bench", "bench_collectives"), "--reps", str(reps)],
                             capture_output=True, text=True, check=True, env=env).stdout
        with open(os.path.join(out_dir, f"collectives_np{p}.csv"), "w") as f:
            f.write(out)
        print(f"wrote {out_dir}/collectives_np{p}.csv", file=sys.stderr)


def regressors(family, p, m):
    lat = 2 * math.log2(p)
    bw = 2 * (p - 1) / p * m if family in ("dense", "quantized") else (p - 1) * m
    return lat, bw


def fit(calib_dir):
    rows = []
    for p in (2, 4):
        with open(os.path.join(calib_dir, f"collectives_np{p}.csv")) as f:
            rows += list(csv.DictReader(f))
    params = {}
    for family in ("dense", "quantized", "sparse"):
        a, y = [], []
        for r in rows:
            if r["op"] != family:
                continue
            lat, bw = regressors(family, int(r["ranks"]), float(r["bytes_per_rank"]))
            # Relative least squares: every size weighs the same.
            t = float(r["seconds"])
            a.append([lat / t, bw / t])
            y.append(1.0)
        (alpha, beta), *_ = np.linalg.lstsq(np.array(a), np.array(y), rcond=None)
        params[family] = (max(alpha, 0.0), max(beta, 0.0))
    return params


def agg_time(family, p, m, alpha, beta):
    if p == 1:
        return 0.0
    lat, bw = regressors(family, p, m)
    return lat * alpha + bw * beta


def run_inputs(path):
    with h5py.File(path) as f:
        x = f["/execution"]
        ranks = int(x.attrs["num_ranks"])
        if ranks != 1:
            sys.exit(f"{path}: a run at np 1 is needed (it has {ranks} ranks)")
        train = x["train_seconds"][:]
        examples = f["/rounds/examples"][:].astype(float)
        per_example = float(np.sum(train[1:]) / np.sum(examples[1:]))  # round 0 warms up
        sizes = f["/client_info/num_samples"][:].astype(float)
        epochs_examples = float(np.sum(examples) / np.sum(f["/clients/num_samples"][:]))
        return {
            "per_example": per_example * epochs_examples,  # seconds per training example of a client
            "sizes": sizes,
            "eval": float(np.mean(x["eval_seconds"][:][f["/rounds/test_accuracy"][:] == f["/rounds/test_accuracy"][:]])),
            "eval_every": int(round(len(train) / max(1, np.sum(np.isfinite(f["/rounds/test_accuracy"][:]))))),
            "server": float(np.median(x["server_seconds"][:])),
            "write": float(np.median(x["write_seconds"][:])),
            "P": int(f.attrs["num_params"]),
            "support": float(np.median(x["gathered_nnz"][:])) if "gathered_nnz" in x else 0.0,
        }


def expected_max_load(sizes, p, rng, trials=400):
    """E[max over p ranks of the sum of 50 client sizes] / E[sum of 50 sizes]."""
    mean = CLIENTS_PER_RANK * sizes.mean()
    if p == 1:
        return 1.0
    draws = rng.choice(sizes, size=(trials, p, CLIENTS_PER_RANK)).sum(axis=2)
    return float(draws.max(axis=1).mean() / mean)


def balanced_max_load(sizes, p, rng, trials, cap=8, tolerance=0.01):
    """As expected_max_load, after the round's balance (a model of sim::balance_round);
    also the mean bytes of examples a rank receives (784 floats + a label per example)."""
    if p == 1:
        return 1.0, 0.0
    mean = CLIENTS_PER_RANK * sizes.mean()
    worst, moved = [], []
    for _ in range(trials):
        cost = rng.choice(sizes, size=(p, CLIENTS_PER_RANK)).astype(float)
        where = [list(range(CLIENTS_PER_RANK)) for _ in range(p)]  # (rank) indices into cost[home]
        items = {r: [(r, i) for i in range(CLIENTS_PER_RANK)] for r in range(p)}
        load = cost.sum(axis=1)
        sent = np.zeros(p, int)
        taken = np.zeros(p, int)
        target = load.mean() * (1 + tolerance)
        bytes_in = 0.0
        for _ in range(2 * cap * p):
            h, w = int(np.argmax(load)), int(np.argmin(load))
            gap = load[h] - load[w]
            if load[h] <= target or gap <= 0:
                break
            best, miss = None, None
            for j, (home, i) in enumerate(items[h]):
                c = cost[home, i]
                if c >= gap or (home == h and sent[h] >= cap) or (home != w and taken[w] >= cap):
                    continue
                d = abs(gap - 2 * c)
                if best is None or d < miss:
                    best, miss = j, d
            if best is None:
                break
            home, i = items[h].pop(best)
            sent[h] += home == h
            taken[h] -= home != h
            sent[w] -= home == w
            taken[w] += home != w
            items[w].append((home, i))
            load[h] -= cost[home, i]
            load[w] += cost[home, i]
            bytes_in += cost[home, i] * (784 * 4 + 4)
        worst.append(load.max())
        moved.append(bytes_in / p)
    return float(np.mean(worst) / mean), float(np.mean(moved))


def project(inp, params, net, rng, balanced=False):
    P = inp["P"]
    k = max(1, round(0.01 * P))  # top-1 % uplink: records per client
    union = min(P, CLIENTS_PER_RANK * k)  # support of a rank's 50 clients (no overlap: upper bound)
    m = {"dense": 16 * P, "quantized": 4 * P, "sparse": 20 * union}
    compute = CLIENTS_PER_RANK * inp["sizes"].mean() * inp["per_example"]
    out = {}
    for path in ("dense", "quantized", "sparse", "auto"):
        ts = []
        for p in RANKS:
            if balanced:
                imb, moved_bytes = balanced_max_load(inp["sizes"], p, rng, trials=max(4, 400 // p))
                a0, b0 = net if net is not None else params["dense"]
                exchange = 0.0 if p == 1 else (p - 1) * a0 + moved_bytes * b0
            else:
                imb, exchange = expected_max_load(inp["sizes"], p, rng), 0.0
            if path == "auto":  # sparse until the gathered support passes the default threshold (0.25 n)
                fam = "sparse" if p * union <= 0.25 * P else "dense"
            else:
                fam = path
            a, b = net if net is not None else params[fam]
            t = (compute * imb + exchange + inp["server"] + inp["write"] + inp["eval"] / inp["eval_every"] / p
                 + agg_time(fam, p, m[fam], a, b))
            ts.append(t)
        out[path] = ts
    return out, compute


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--measure", action="store_true")
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--calibration", default="bench/calibration")
    ap.add_argument("--run")
    ap.add_argument("--figure")
    ap.add_argument("--net-alpha", type=float, default=2e-6)
    ap.add_argument("--net-beta", type=float, default=1 / 12e9)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.measure:
        measure(a.bin_dir, a.calibration, a.reps)
        if not a.run:
            return 0
    params = fit(a.calibration)
    print("| collective | alpha (us) | beta (ns/byte) | bandwidth (GB/s) |\n|---|---|---|---|")
    for fam, (al, be) in params.items():
        print(f"| {fam} | {al * 1e6:.2f} | {be * 1e9:.3f} | {1 / be / 1e9 if be > 0 else float('inf'):.2f} |")
    if not a.run:
        return 0
    inp = run_inputs(a.run)
    rng = np.random.default_rng(a.seed)
    print(f"\ninputs from {a.run}: {inp['per_example'] * 1e6:.1f} us per client example, "
          f"mean client {inp['sizes'].mean():.0f} examples, eval {inp['eval']:.3f} s every {inp['eval_every']} rounds, "
          f"server {inp['server'] * 1e3:.2f} ms, write {inp['write'] * 1e3:.2f} ms, P = {inp['P']}")
    results = {}
    for name, net in (("this machine (fitted)", None), (f"cluster (alpha {a.net_alpha * 1e6:g} us, "
                                                        f"{1 / a.net_beta / 1e9:g} GB/s, assumed)", (a.net_alpha, a.net_beta))):
        ts, compute = project(inp, params, net, np.random.default_rng(a.seed), balanced=True)
        shard, _ = project(inp, params, net, np.random.default_rng(a.seed))
        ts["auto, balance = shard"] = shard["auto"]
        results[name] = ts
        print(f"\n{name}: round time (s) and weak-scaling efficiency T(1)/T(p), 50 clients per rank, "
              "run.balance = round unless named")
        print("| ranks | " + " | ".join(ts) + " |\n|---|" + "---|" * len(ts))
        for i, p in enumerate(RANKS):
            print(f"| {p} | " + " | ".join(f"{ts[k][i]:.3f} ({ts[k][0] / ts[k][i]:.2f})" for k in ts) + " |")
    # The imbalance alone (no communication at all).
    imb = [expected_max_load(inp["sizes"], p, np.random.default_rng(a.seed)) for p in RANKS]
    bal = [balanced_max_load(inp["sizes"], p, np.random.default_rng(a.seed), trials=max(4, 400 // p))
           for p in RANKS]
    print("\nimbalance alone, E[max rank load] / mean load, balance = shard: " +
          ", ".join(f"{p}: {x:.3f}" for p, x in zip(RANKS, imb)))
    print("balance = round: " + ", ".join(f"{p}: {x:.3f} ({m / 1e6:.2f} MB in)" for p, (x, m) in zip(RANKS, bal)))
    if a.figure:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for ax, (name, ts) in zip(axes, results.items()):
            for path, t in ts.items():
                ax.plot(RANKS, [t[0] / x for x in t], marker="o", label=path)
            ax.plot(RANKS, [1 / x for x in imb], "k--", label="imbalance only, shard")
            ax.plot(RANKS, [1 / x for x, _ in bal], "k:", label="imbalance only, round")
            ax.axhline(0.8, color="grey", lw=0.5)
            ax.set_xscale("log", base=2)
            ax.set_xlabel("ranks (50 clients each)")
            ax.set_title(name, fontsize=9)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("weak-scaling efficiency T(1)/T(p)")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(a.figure, dpi=120)
        print(f"\nfigure: {a.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
