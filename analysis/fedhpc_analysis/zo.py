"""Backprop-free training sweeps (jobs/ntk-zo-sweep.sh, docs/ntk_zo.md) as tables.

A run is labelled by how its clients train (``client.trainer``: backprop,
zo, fedzo, auto) and by the mask they train under (``prune.method``: dense,
ntk with its ``ntk_input``, random, magnitude, ...; with the density
``1 - prune.sparsity``). Per run: the final test accuracy, a client's peak
memory (median over the clients that trained, all rounds; the model in
docs/memory.md), uplink bytes and FLOPs per trained client.

    import fedhpc_analysis as fa
    sweep = fa.load_dir("results/ntk_zo")
    table = fa.zo_table(sweep)        # one row per run
    fa.zo_summary(table)              # per configuration: mean ± std over seeds
"""
import numpy as np
import pandas as pd

from .results import Run, Sweep, final_accuracy
from .seeds import group_name

TABLE_COLUMNS = ["group", "run", "seed", "label", "trainer", "mask", "density", "directions", "partition",
                 "accuracy", "client_peak_bytes", "uplink_bytes", "flops"]


def zo_label(run: Run) -> dict:
    """Trainer, mask, density, K and partition of a run, and their label
    (``"zo, ntk (noise) 0.2, K=20"``, ``"backprop, dense"``)."""
    c = run.config
    trainer = str(c["client"].get("trainer", "backprop"))
    p = c.get("prune", {})
    method = str(p.get("method", "none"))
    sparsity = float(p.get("sparsity", 0.0)) if method != "none" else 0.0
    if method == "none" or sparsity == 0.0:
        mask = "dense"
    elif method == "ntk":
        mask = f"ntk ({p.get('ntk_input', 'noise')})"
    else:
        mask = method
    density = 1.0 - sparsity
    K = int(c.get("zo", {}).get("directions", 0)) if trainer != "backprop" else 0
    part = str(c["data"]["partition"])
    if part == "dirichlet":
        part += f" {c['data']['alpha']}"
    label = f"{trainer}, {mask}" + (f" {density:g}" if mask != "dense" else "") + (f", K={K}" if K else "")
    return {"label": label, "trainer": trainer, "mask": mask, "density": density, "directions": K,
            "partition": part}


def _row(run: Run) -> dict:
    cl = run.clients
    trained = cl[cl["status"] == 0]
    if trained.empty:
        raise ValueError(f"{run.path}: no client trained")
    return {"group": group_name(run.name), "run": run.name, "seed": int(run.config["run"]["seed"]),
            **zo_label(run), "accuracy": final_accuracy(run),
            "client_peak_bytes": float(trained["peak_memory_bytes"].median()),
            "uplink_bytes": float(trained["bytes_up"].mean()), "flops": float(trained["flops"].mean())}


def zo_table(sweep: Sweep) -> pd.DataFrame:
    """One row per run of ``sweep``: ``group`` (the name without ``_seedN``),
    ``run``, ``seed``, ``label``, ``trainer``, ``mask``, ``density``,
    ``directions`` (K; 0 for backprop), ``partition``, ``accuracy`` (final
    test accuracy, fraction), ``client_peak_bytes`` (median modelled peak of
    the clients that trained), ``uplink_bytes`` and ``flops`` (means per
    trained client). Sorted by trainer, mask, density and seed."""
    df = pd.DataFrame([_row(r) for r in sweep], columns=TABLE_COLUMNS)
    return df.sort_values(["trainer", "mask", "density", "directions", "partition", "seed"]).reset_index(drop=True)


def zo_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per ``group`` of :func:`zo_table`: the label columns, ``seeds``,
    ``accuracy_mean``, ``accuracy_std`` (ddof 1; NaN with one seed) and the
    means of ``client_peak_bytes``, ``uplink_bytes`` and ``flops``. A seed
    that occurs twice in a group raises ValueError."""
    rows = []
    for group, g in table.groupby("group", sort=False):
        dup = g["seed"][g["seed"].duplicated()].tolist()
        if dup:
            raise ValueError(f"{group}: seeds {dup} occur twice")
        first = g.iloc[0]
        rows.append({"group": group, **{k: first[k] for k in ("label", "trainer", "mask", "density", "directions",
                                                               "partition")},
                     "seeds": len(g), "accuracy_mean": g["accuracy"].mean(),
                     "accuracy_std": g["accuracy"].std(ddof=1) if len(g) > 1 else np.nan,
                     "client_peak_bytes": g["client_peak_bytes"].mean(), "uplink_bytes": g["uplink_bytes"].mean(),
                     "flops": g["flops"].mean()})
    return pd.DataFrame(rows)


def zo_reference(summary: pd.DataFrame, group: str, trainer: str, mask: str, density: float = 1.0):
    """The group of ``summary`` with ``trainer`` and ``mask`` (and
    ``density``) that shares ``group``'s partition and, for zo trainers, its
    K: the paired baseline of ``group``; None if there is none (or it is
    ``group`` itself)."""
    row = summary.set_index("group").loc[group]
    m = (summary["trainer"] == trainer) & (summary["mask"] == mask) & (summary["partition"] == row["partition"])
    m &= np.isclose(summary["density"], density)
    if trainer != "backprop":
        m &= summary["directions"] == row["directions"]
    hits = summary[m & (summary["group"] != group)]["group"].tolist()
    return hits[0] if hits else None
