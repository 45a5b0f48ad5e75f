"""Markdown table of an OMC ablation directory (jobs/omc-ablation.sh).

    /usr/bin/python3 analysis/omc_table.py results/omc
"""
import configparser
import pathlib
import sys

import h5py
import numpy as np


def row(path):
    with h5py.File(path, "r") as f:
        cfg = configparser.ConfigParser()
        text = f.attrs["config"]
        cfg.read_string(text.decode() if isinstance(text, bytes) else text)
        r = f["rounds"]
        acc = r["test_accuracy"][:]
        P = int(f.attrs["num_params"])
        k = int(r["clients_sampled"][-1])
        return {
            "run": path.stem,
            "model": cfg["model"]["arch"],
            "partition": cfg["data"]["partition"],
            "acc": float(acc[np.isfinite(acc)][-1]),
            "param": float(r["param_memory_ratio"][-1]),
            "down": float(r["bytes_down"][-1]) / (k * 4 * P),
            "up_total": int(r["bytes_up"][:].sum()),
        }


def main(directory):
    rows = [row(p) for p in sorted(pathlib.Path(directory).glob("*.h5"))]
    if not rows:
        sys.exit(f"no results files in {directory}")
    ref = {(x["model"], x["partition"]): x for x in rows if x["run"].startswith("omc_fp32")}
    print("| run | model | partition | final acc | Δ vs fp32 | param memory vs fp32 | downlink vs fp32 | uplink total |")
    print("|---|---|---|---|---|---|---|---|")
    for x in rows:
        base = ref.get((x["model"], x["partition"]))
        delta = f"{100 * (x['acc'] - base['acc']):+.2f}" if base else "-"
        print(f"| {x['run']} | {x['model']} | {x['partition']} | {100 * x['acc']:.2f}% | {delta} | "
              f"{100 * x['param']:.1f}% | {100 * x['down']:.1f}% | {x['up_total'] / 1e6:.1f} MB |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/omc")
