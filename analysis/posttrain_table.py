#!/usr/bin/env python3
"""Table of a post-training compression sweep (jobs/posttrain-sweep.sh):
one row per (architecture, method), mean ± std over seeds of the test
accuracy before and after, the paired drop (after - before of the same
trained model, per seed), the compression ratio with and without codebooks,
bits per weight, federated validation passes and seconds.

    /usr/bin/python3 analysis/posttrain_table.py results/posttrain
"""
import configparser
import glob
import os
import sys

import h5py
import numpy as np


def rows(directory):
    out = []
    for path in sorted(glob.glob(os.path.join(directory, "*.h5"))):
        with h5py.File(path, "r") as f:
            if "compression" not in f:
                continue
            cfg = configparser.ConfigParser()
            cfg.read_string(f.attrs["config"])
            c = f["compression"]
            method = c.attrs["method"]
            if method == "gwk":
                method += f" {cfg['posttrain']['bits']} bit"
            out.append(dict(
                arch=cfg["model"]["arch"], method=method, seed=int(cfg["run"]["seed"]),
                before=100 * c["accuracy_before"][()], after=100 * c["accuracy_after"][()],
                ratio=c["ratio"][()], ratio_nocb=c["ratio_without_codebooks"][()],
                bpw=c["bits_per_weight"][()], evals=int(c["evaluations"][()]),
                seconds=f["execution/compression_seconds"][()]))
    return out


def pm(values, digits=2):
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1) if v.size > 1 else 0.0:.{digits}f}"


def main(directory):
    table = rows(directory)
    if not table:
        sys.exit(f"no compression runs in {directory}")
    print("| model | method | seeds | accuracy before (%) | after (%) | drop (points, paired) "
          "| ratio | ratio w/o codebooks | bits/weight | evaluations | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted({(r["arch"], r["method"]) for r in table})
    for arch, method in keys:
        g = [r for r in table if r["arch"] == arch and r["method"] == method]
        print(f"| {arch} | {method} | {len(g)} | {pm([r['before'] for r in g])} | "
              f"{pm([r['after'] for r in g])} | {pm([r['before'] - r['after'] for r in g])} | "
              f"{pm([r['ratio'] for r in g], 1)} | {pm([r['ratio_nocb'] for r in g], 1)} | "
              f"{pm([r['bpw'] for r in g])} | {pm([r['evals'] for r in g], 0)} | "
              f"{pm([r['seconds'] for r in g], 1)} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/posttrain")
