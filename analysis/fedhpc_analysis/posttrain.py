"""Post-training compression runs (``/compression``, docs/output.md) as tables.

A compression run's file holds the group ``/compression`` (attribute
``method``; scalars ``ratio``, ``ratio_without_codebooks``,
``bits_per_weight`` = 32 / ratio with codebooks counted, test accuracy
``accuracy_before``/``accuracy_after`` of the model before and after
compression, ``validation_accuracy_before/after``, ``evaluations``). Files
without it are training-only runs and are skipped. Only the root
configuration and ``/compression`` are read, so files written with
``posttrain.input`` (compressing another run's model) need no rounds.

    import fedhpc_analysis as fa
    table = fa.posttrain_table("results/posttrain")   # one row per compression run
    fa.posttrain_summary(table)                       # per (arch, label): mean ± std over seeds
"""
from pathlib import Path
from typing import Iterable, Union

import h5py
import numpy as np
import pandas as pd

from .results import NotAFedhpcFile, PathLike, parse_config, result_paths

#: Label of the uncompressed model's rows in :func:`posttrain_summary`.
UNCOMPRESSED = "uncompressed (fp32)"
# Plot/table order of the methods.
_METHOD_ORDER = {"binquant": 0, "binquant_grad": 1, "gwk": 2}
_SCALARS = ["bits_per_weight", "ratio", "ratio_without_codebooks", "accuracy_before", "accuracy_after",
            "validation_accuracy_before", "validation_accuracy_after", "evaluations"]
TABLE_COLUMNS = ["run", "arch", "method", "bits", "label", "seed"] + _SCALARS + ["drop", "path"]


def method_label(method: str, bits=None) -> str:
    """``gwk`` with its bits (``"gwk 5 bit"``); any other method as named."""
    return f"{method} {bits} bit" if method == "gwk" else method


def _row(path: Path):
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise NotAFedhpcFile(f"{path}: not a fedhpc results file (not readable as HDF5: {e})") from e
    with f:
        if "config" not in f.attrs:
            raise NotAFedhpcFile(f"{path}: not a fedhpc results file (no root attribute 'config')")
        if "compression" not in f:
            return None  # a training-only run
        text = f.attrs["config"]
        cfg = parse_config(text.decode() if isinstance(text, bytes) else text, source=str(path))
        c = f["compression"]
        method = c.attrs["method"]
        method = method.decode() if isinstance(method, bytes) else str(method)
        missing = [k for k in _SCALARS if k not in c]
        if missing:
            raise NotAFedhpcFile(f"{path}: /compression lacks {missing}")
        values = {k: c[k][()].item() for k in _SCALARS}
    bits = cfg.get("posttrain", {}).get("bits") if method == "gwk" else None
    return {"run": path.stem, "arch": cfg["model"]["arch"], "method": method,
            "bits": np.nan if bits is None else float(bits), "label": method_label(method, bits),
            "seed": int(cfg["run"]["seed"]), **values,
            "drop": 100.0 * (values["accuracy_before"] - values["accuracy_after"]), "path": str(path)}


def posttrain_table(source: Union[PathLike, Iterable[PathLike]], pattern: str = "*.h5") -> pd.DataFrame:
    """One row per compression run in ``source`` (a directory, glob, file or
    list of files, as :func:`fedhpc_analysis.load_dir`); training-only files
    are skipped.

    Columns: ``run`` (file stem), ``arch`` (``model.arch``), ``method``,
    ``bits`` (``posttrain.bits`` for gwk, NaN otherwise), ``label`` (the
    method, gwk with its bits: ``"gwk 5 bit"``), ``seed`` (``run.seed``),
    ``bits_per_weight``, ``ratio``, ``ratio_without_codebooks``,
    ``accuracy_before``, ``accuracy_after`` (test accuracy, fractions),
    ``validation_accuracy_before/after``, ``evaluations``, ``drop`` (test
    accuracy lost, points: 100 (before - after)) and ``path``. Sorted by arch,
    method, bits and seed; empty (with these columns) if no file is a
    compression run.

    Raises FileNotFoundError if ``source`` matches no file and
    :class:`NotAFedhpcFile` (naming it) for a file that is not a fedhpc
    results file or whose ``/compression`` is incomplete.
    """
    rows = [r for r in (_row(p) for p in result_paths(source, pattern)) if r is not None]
    df = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    order = df["method"].map(lambda m: _METHOD_ORDER.get(m, len(_METHOD_ORDER)))
    df = df.assign(_order=order).sort_values(["arch", "_order", "method", "bits", "seed"])
    return df.drop(columns="_order").reset_index(drop=True)


def posttrain_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std (ddof 1; NaN with one seed) over seeds per (arch, label) of
    :func:`posttrain_table`, plus per arch one row ``UNCOMPRESSED`` for the
    model before compression: 32 bits per weight, ratio 1, its test accuracy
    (``accuracy_before``, once per seed) as ``accuracy_after_mean/std``.

    Columns: ``arch``, ``label``, ``method``, ``bits``, ``seeds``,
    ``bits_per_weight`` (mean), ``bits_per_weight_std``, ``ratio``,
    ``ratio_without_codebooks`` (means), ``accuracy_before_mean``,
    ``accuracy_after_mean``, ``accuracy_after_std``, ``drop_mean``,
    ``drop_std`` (points), ``evaluations`` (mean). A seed that occurs twice
    in one (arch, label) raises ValueError (two runs that the label does not
    tell apart). The runs of one seed compress the same trained model, so
    their ``accuracy_before`` must agree (ValueError otherwise).
    """
    rows = []
    for arch, a in table.groupby("arch", sort=False):
        before = a.groupby("seed")["accuracy_before"]
        spread = (before.max() - before.min()).max()
        if spread > 1e-9:
            raise ValueError(f"{arch}: runs of one seed report different accuracy_before "
                             f"(up to {100 * spread:.3f} points apart): not the same trained model")
        b = before.first()
        rows.append({"arch": arch, "label": UNCOMPRESSED, "method": "none", "bits": np.nan,
                     "seeds": len(b), "bits_per_weight": 32.0, "bits_per_weight_std": 0.0, "ratio": 1.0,
                     "ratio_without_codebooks": 1.0, "accuracy_before_mean": b.mean(),
                     "accuracy_after_mean": b.mean(), "accuracy_after_std": b.std(ddof=1),
                     "drop_mean": 0.0, "drop_std": 0.0, "evaluations": 0.0})
        for label, g in a.groupby("label", sort=False):
            dup = g["seed"][g["seed"].duplicated()].tolist()
            if dup:
                raise ValueError(f"{arch}, {label}: seeds {dup} occur in several runs "
                                 f"({', '.join(g['run'])})")
            rows.append({"arch": arch, "label": label, "method": g["method"].iloc[0],
                         "bits": g["bits"].iloc[0], "seeds": len(g),
                         "bits_per_weight": g["bits_per_weight"].mean(),
                         "bits_per_weight_std": g["bits_per_weight"].std(ddof=1),
                         "ratio": g["ratio"].mean(),
                         "ratio_without_codebooks": g["ratio_without_codebooks"].mean(),
                         "accuracy_before_mean": g["accuracy_before"].mean(),
                         "accuracy_after_mean": g["accuracy_after"].mean(),
                         "accuracy_after_std": g["accuracy_after"].std(ddof=1),
                         "drop_mean": g["drop"].mean(), "drop_std": g["drop"].std(ddof=1),
                         "evaluations": g["evaluations"].mean()})
    return pd.DataFrame(rows, columns=["arch", "label", "method", "bits", "seeds", "bits_per_weight",
                                       "bits_per_weight_std", "ratio", "ratio_without_codebooks",
                                       "accuracy_before_mean", "accuracy_after_mean",
                                       "accuracy_after_std", "drop_mean", "drop_std", "evaluations"])
