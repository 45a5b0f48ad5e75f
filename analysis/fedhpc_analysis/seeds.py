"""Runs that differ only in ``run.seed``, summarised as mean ± std.

Accuracy claims in docs/ are means over seeds; runs of two configurations
with the same seed see the same clients and minibatches (keyed streams), so
their per-seed differences are paired.

    import fedhpc_analysis as fa
    sweep = fa.load_dir("results/feddip")
    fa.seed_summary(sweep)                          # one row per configuration
    fa.paired_difference(sweep, "feddip_s90", "feddip_dense")
"""
import re
from typing import Dict, List

import numpy as np
import pandas as pd

from .results import Run, Sweep, final_accuracy

_SEED_SUFFIX = re.compile(r"_(seed|s)(\d+)$")
# Keys that may differ between the seeds of one configuration.
_PER_RUN_KEYS = {"run.seed", "run.output", "run.overwrite", "run.progress"}


def group_name(run_name: str) -> str:
    """The run name without its ``_seedN`` suffix."""
    return _SEED_SUFFIX.sub("", run_name)


def seed_groups(sweep: Sweep) -> Dict[str, List[Run]]:
    """Runs grouped by name without the seed suffix; every group's runs must
    share their configuration apart from run.seed (ValueError otherwise; keys
    that only some of the files have, from another fedhpc version, are not
    compared)."""
    groups: Dict[str, List[Run]] = {}
    for run in sweep:
        groups.setdefault(group_name(run.name), []).append(run)
    for name, runs in groups.items():
        ref = {k: v for k, v in runs[0].config_flat().items() if k not in _PER_RUN_KEYS}
        for r in runs[1:]:
            cfg = {k: v for k, v in r.config_flat().items() if k not in _PER_RUN_KEYS}
            # Keys only one file has come from another fedhpc version (a key
            # added later, at its default); every shared key must agree.
            diff = sorted(k for k in set(cfg) & set(ref) if cfg[k] != ref[k])
            if diff:
                raise ValueError(f"group {name}: {r.name} differs from {runs[0].name} in {diff}")
        seeds = [r.config_flat()["run.seed"] for r in runs]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"group {name}: repeated seeds {seeds}")
    return groups


def _run_row(run: Run) -> dict:
    r = run.rounds
    def last(col):
        return float(r[col].iloc[-1]) if col in r else np.nan
    return {
        "seed": run.config_flat()["run.seed"],
        "accuracy": final_accuracy(run),
        "bytes_up": float(r["bytes_up"].sum()),
        "bytes_down": float(r["bytes_down"].sum()),
        "density": last("density") if "density" in r else 1.0,
        "weight_sparsity": last("weight_sparsity") if "weight_sparsity" in r else 0.0,
        "param_memory_bytes": last("param_memory_bytes"),
        "peak_memory_max": last("peak_memory_max"),
    }


def per_seed(sweep: Sweep) -> pd.DataFrame:
    """One row per run: group, seed, final accuracy, total bytes up/down, final
    density and weight sparsity, a client's parameter memory and the largest
    client peak memory of the last round."""
    rows = []
    for name, runs in seed_groups(sweep).items():
        for run in runs:
            rows.append({"group": name, "run": run.name, **_run_row(run)})
    df = pd.DataFrame(rows)
    df["bytes_total"] = df["bytes_up"] + df["bytes_down"]
    return df.sort_values(["group", "seed"]).reset_index(drop=True)


def seed_summary(sweep: Sweep) -> pd.DataFrame:
    """One row per configuration: seeds, accuracy mean and std (sample std,
    ddof 1; NaN with one seed), and the means of the other per-run columns."""
    df = per_seed(sweep)
    g = df.groupby("group")
    out = g[["bytes_up", "bytes_down", "bytes_total", "density", "weight_sparsity",
             "param_memory_bytes", "peak_memory_max"]].mean()
    out.insert(0, "accuracy_std", g["accuracy"].std(ddof=1))
    out.insert(0, "accuracy_mean", g["accuracy"].mean())
    out.insert(0, "seeds", g["seed"].count())
    return out.reset_index()


def paired_difference(sweep: Sweep, group_a: str, group_b: str) -> pd.Series:
    """Per-seed accuracy of a minus b over the seeds both groups ran (paired):
    mean, std (ddof 1) and the number of pairs."""
    df = per_seed(sweep)
    a = df[df["group"] == group_a].set_index("seed")["accuracy"]
    b = df[df["group"] == group_b].set_index("seed")["accuracy"]
    common = a.index.intersection(b.index)
    if len(common) == 0:
        raise ValueError(f"{group_a} and {group_b} share no seed")
    d = a[common] - b[common]
    return pd.Series({"mean": d.mean(), "std": d.std(ddof=1), "pairs": len(common)})
