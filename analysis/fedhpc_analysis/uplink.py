"""Uplink / downlink compression sweeps (jobs/uplink-sweep.sh): one row per
configuration with mean ± std over seeds, the paired difference to the
uncompressed baseline with the same server optimizer, total bytes and the
client-state diagnostics.

    import fedhpc_analysis as fa
    sweep = fa.load_dir("results/uplink")
    fa.uplink_summary(sweep)
"""
from typing import Optional

import numpy as np
import pandas as pd

from .results import Sweep
from .seeds import paired_difference, seed_groups, seed_summary


def uplink_baseline(group: str, groups) -> Optional[str]:
    """The uncompressed run with the same server: ``uplink_none`` (FedAvg) or
    ``uplink_none_fedavgm`` for groups ending in ``_fedavgm``; None for the
    baseline itself or when the sweep lacks it."""
    ref = "uplink_none_fedavgm" if group.endswith("_fedavgm") else "uplink_none"
    return ref if ref in set(groups) and ref != group else None


def _diagnostics(runs, last_rounds: int = 10):
    """Mean residual norm ratio and residual age over the completed clients of
    the last rounds, averaged over the runs (NaN without client state)."""
    ratios, ages = [], []
    for run in runs:
        c = run.clients
        if "residual_norm_ratio" not in c:
            continue
        last = c[(c["round"] > c["round"].max() - last_rounds) & (c["status"] == 0)]
        r = last["residual_norm_ratio"].to_numpy(dtype=float)
        a = last["residual_age"].to_numpy()
        if np.isfinite(r).any():
            ratios.append(np.nanmean(r))
        if (a >= 0).any():
            ages.append(a[a >= 0].mean())
    return (float(np.mean(ratios)) if ratios else np.nan), (float(np.mean(ages)) if ages else np.nan)


def uplink_summary(sweep: Sweep) -> pd.DataFrame:
    """seed_summary plus: ``baseline``, the paired accuracy difference to it
    (``diff_mean``, ``diff_std``, ``pairs``), uplink and total byte reduction
    against it (``up_factor``, ``total_factor``), the server optimizer, and the
    last 10 rounds' mean ``residual_ratio`` and ``residual_age``."""
    s = seed_summary(sweep)
    groups = seed_groups(sweep)
    rows = []
    for r in s.itertuples():
        ref = uplink_baseline(r.group, s["group"])
        row = {"group": r.group, "baseline": ref, "diff_mean": np.nan, "diff_std": np.nan, "pairs": 0,
               "up_factor": np.nan, "total_factor": np.nan,
               "optimizer": groups[r.group][0].config["server"]["optimizer"]}
        if ref:
            d = paired_difference(sweep, r.group, ref)
            b = s.set_index("group").loc[ref]
            row.update(diff_mean=d["mean"], diff_std=d["std"], pairs=int(d["pairs"]),
                       up_factor=b.bytes_up / r.bytes_up, total_factor=b.bytes_total / r.bytes_total)
        row["residual_ratio"], row["residual_age"] = _diagnostics(groups[r.group])
        rows.append(row)
    return s.merge(pd.DataFrame(rows), on="group")
