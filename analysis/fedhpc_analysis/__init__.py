"""Load fedhpc results files (HDF5, docs/output.md) into pandas DataFrames.

Typical use (with ``PYTHONPATH=analysis`` from the repository root)::

    import fedhpc_analysis as fa

    run = fa.load("results/default.h5")
    run.rounds            # one row per round (NaN test metrics in rounds without evaluation)
    run.clients           # one row per (round, sampled client)
    run.client_info       # one row per client, label histogram as label_0 .. label_{C-1}
    run.config["client"]["lr"]
    fa.final_accuracy(run), fa.rounds_to_accuracy(run, 0.8), fa.cumulative_bytes(run)

    sweep = fa.load_dir("results/sweep")      # a directory, a glob or a list of files
    sweep.rounds          # every run's rows, with a ``run`` column (the file stem)
    sweep.table           # one row per run: the attributes/config keys that differ
    sweep.summary(target=0.8)
    fa.seed_summary(sweep)  # runs named <config>_seed<N>: mean ± std over seeds

    table = fa.posttrain_table("results/posttrain")  # one row per compression run (/compression)
    fa.posttrain_summary(table)                      # per (arch, method label): mean ± std over seeds

    zo = fa.zo_table(fa.load_dir("results/ntk_zo"))  # backprop-free sweeps: one row per run
    fa.zo_summary(zo)                                # per configuration: mean ± std over seeds

    fa.uplink_summary(fa.load_dir("results/uplink"))  # uplink sweeps: paired vs uncompressed, total bytes
"""

from .results import (
    NotAFedhpcFile,
    Execution,
    Run,
    Sweep,
    STATUS_NAMES,
    load,
    load_dir,
    result_paths,
    parse_config,
    final_accuracy,
    rounds_to_accuracy,
    bytes_to_accuracy,
    cumulative_bytes,
)
from .seeds import group_name, seed_groups, per_seed, seed_summary, paired_difference
from .posttrain import UNCOMPRESSED, method_label, posttrain_table, posttrain_summary
from .zo import zo_label, zo_table, zo_summary, zo_reference
from .uplink import uplink_baseline, uplink_summary
from . import notebook

__all__ = [
    "NotAFedhpcFile",
    "Execution",
    "Run",
    "Sweep",
    "STATUS_NAMES",
    "load",
    "load_dir",
    "result_paths",
    "parse_config",
    "final_accuracy",
    "rounds_to_accuracy",
    "bytes_to_accuracy",
    "cumulative_bytes",
    "group_name",
    "seed_groups",
    "per_seed",
    "seed_summary",
    "paired_difference",
    "UNCOMPRESSED",
    "method_label",
    "posttrain_table",
    "posttrain_summary",
    "zo_label",
    "zo_table",
    "zo_summary",
    "zo_reference",
    "uplink_baseline",
    "uplink_summary",
    "notebook",
]
