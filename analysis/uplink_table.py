"""Markdown table of an uplink sweep directory (jobs/uplink-sweep.sh).

    /usr/bin/python3 analysis/uplink_table.py results/uplink

Columns: final test accuracy and its difference to the uncompressed run
(uplink_none), uplink bytes over the whole run and the reduction factor
against uncompressed, error-feedback state at the end (all clients, and per
stateful client), and the aggregation paths the run used.
"""
import configparser
import pathlib
import sys

import h5py
import numpy as np

PATHS = {0: "dense", 1: "sparse", 2: "quantized"}


def row(path):
    with h5py.File(path, "r") as f:
        cfg = configparser.ConfigParser()
        text = f.attrs["config"]
        cfg.read_string(text.decode() if isinstance(text, bytes) else text)
        r, e = f["rounds"], f["execution"]
        acc = r["test_accuracy"][:]
        stateful = int(r["stateful_clients"][-1])
        used = sorted({PATHS[int(p)] for p in e["aggregate_path"][:]})
        return {
            "run": path.stem,
            "codec": cfg["uplink"]["codec"],
            "ef": cfg["uplink"]["error_feedback"],
            "residual": cfg["uplink"]["residual"] if cfg["uplink"]["error_feedback"] in ("client", "both") else "-",
            "acc": float(acc[np.isfinite(acc)][-1]),
            "up": int(r["bytes_up"][:].sum()),
            "resid": int(r["residual_bytes"][-1]),
            "per_client": int(r["residual_bytes"][-1]) / stateful if stateful else 0.0,
            "paths": "+".join(used),
            "mpi": int(e["mpi_bytes_sent"][:].sum()),
        }


def main(directory):
    rows = [row(p) for p in sorted(pathlib.Path(directory).glob("*.h5"))]
    if not rows:
        sys.exit(f"no results files in {directory}")
    base = next((x for x in rows if x["run"] == "uplink_none"), None)
    print("| run | codec | EF | residual | final acc | Δ vs none | uplink total | fewer bytes | "
          "EF state (all / per client) | path | MPI bytes sent |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for x in rows:
        delta = f"{100 * (x['acc'] - base['acc']):+.2f}" if base else "-"
        factor = f"{base['up'] / x['up']:.1f}x" if base and x["up"] else "-"
        state = f"{x['resid'] / 1e6:.1f} MB / {x['per_client'] / 1e3:.1f} KB" if x["resid"] else "-"
        print(f"| {x['run']} | {x['codec']} | {x['ef']} | {x['residual']} | {100 * x['acc']:.2f}% | "
              f"{delta} | {x['up'] / 1e6:.1f} MB | {factor} | {state} | {x['paths']} | "
              f"{x['mpi'] / 1e6:.1f} MB |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/uplink")
