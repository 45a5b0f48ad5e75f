#!/usr/bin/python3
"""Writes the analysis notebooks (the .ipynb files next to this script).

The notebooks are generated so that their code lives in one reviewable place;
edit this file, then run

    /usr/bin/python3 analysis/notebooks/generate.py          # rewrite the notebooks
    /usr/bin/python3 analysis/notebooks/generate.py --check  # exit 1 if any is stale

Notebooks are written without outputs, with stable cell ids, for the system
``python3`` kernel. The ctest ``analysis`` tests run ``--check`` and execute
every notebook with nbconvert.
"""

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

# First code cell of every notebook: headless matplotlib, the analysis package
# (found from the repository root when PYTHONPATH does not provide it).
SETUP = '''
import importlib.util
import os
import sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")  # headless: figures are written to files
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd

if importlib.util.find_spec("fedhpc_analysis") is None:
    root = Path(os.environ.get("FEDHPC_ROOT") or Path.cwd()).resolve()
    for candidate in (root, *root.parents):
        if (candidate / "analysis" / "fedhpc_analysis").is_dir():
            sys.path.insert(0, str(candidate / "analysis"))
            break
    else:
        raise ImportError(f"fedhpc_analysis not found above {root}; set PYTHONPATH=analysis or FEDHPC_ROOT")
import fedhpc_analysis as fa
from fedhpc_analysis import notebook as nb

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 40)
FIGURES = nb.figures_dir()
print("figures ->", FIGURES)
'''

INPUTS_DOC = """
Inputs and outputs are environment variables (relative paths are relative to
the repository root):

{rows}
- `FEDHPC_FIGURES`: where the PNG figures go (default `analysis/figures/`).

Run headless from the repository root with

    {example} jupyter nbconvert --to notebook --execute --output-dir /tmp analysis/notebooks/{name}.ipynb
"""

FILE_ROW = "- `FEDHPC_RESULTS`: the results file (default: the newest `results/*.h5`)."
DIR_ROW = "- `FEDHPC_RESULTS_DIR`: a directory or glob of results files (default `results/`)."
TARGET_ROW = "- `FEDHPC_TARGET_ACCURACY`: target test accuracy as a fraction (default `0.8`)."
POSTTRAIN_DIR_ROW = ("- `FEDHPC_RESULTS_DIR`: a directory or glob of results files "
                     "(default `results/posttrain/`).")
ZO_DIR_ROW = ("- `FEDHPC_RESULTS_DIR`: a directory or glob of results files "
              "(default `results/ntk_zo/`).")
UPLINK_DIR_ROW = ("- `FEDHPC_RESULTS_DIR`: a directory or glob of results files "
                  "(default `results/uplink/`).")


def header(title, intro, name, rows, example):
    return new_markdown_cell(f"# {title}\n\n{textwrap.dedent(intro).strip()}\n"
                             + INPUTS_DOC.format(rows="\n".join(rows), name=name,
                                                 example=example).rstrip())


def md(text):
    return new_markdown_cell(textwrap.dedent(text).strip())


def code(text):
    return new_code_cell(textwrap.dedent(text).strip())


# --------------------------------------------------------------------------- notebooks


def training_curves():
    name = "training_curves"
    return name, [
        header("Training curves",
               """
               Test accuracy, test loss and training loss of one run, against the
               round and against wall-clock time. Test metrics exist only in
               evaluated rounds (`run.eval_every`); the other rounds are NaN in
               the file and are skipped here.
               """, name, [FILE_ROW, TARGET_ROW], "FEDHPC_RESULTS=results/default.h5"),
        code(SETUP),
        code('''
            run = fa.load(nb.results_file())
            target = nb.target_accuracy()
            cfg = run.config
            print(run)
            print(f"model {cfg['model']['arch']}, {cfg['data']['num_clients']} clients "
                  f"({cfg['data']['partition']}), {run.attrs['clients_per_round']}/round, "
                  f"optimizer {cfg['server']['optimizer']}, {len(run.rounds)} rounds on "
                  f"{run.execution.num_ranks} ranks in {run.execution.total_seconds:.1f} s")
            run.rounds.head()
        '''),
        md("## Outcome"),
        code('''
            reached = fa.rounds_to_accuracy(run, target)
            print(f"final test accuracy  {fa.final_accuracy(run):.2%}")
            print(f"best test accuracy   {run.rounds['test_accuracy'].max():.2%}")
            print(f"{target:.0%} reached after  " + (f"{reached} rounds" if reached else "never"))
            run.evaluated[["round", "test_accuracy", "test_loss", "train_loss", "wall_seconds"]].tail(10)
        '''),
        md("## Curves"),
        code('''
            ev = run.evaluated
            tr = run.rounds.dropna(subset=["train_loss"])
            rounds_x = lambda d: d["round"] + 1  # rounds completed
            fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), sharey="col")
            for row, (x, xlabel) in enumerate([(rounds_x, "rounds completed"),
                                               (lambda d: d["wall_seconds"], "wall time (s)")]):
                ax = axes[row, 0]
                ax.plot(x(ev), 100 * ev["test_accuracy"], "o-", ms=3, label="test accuracy")
                ax.axhline(100 * target, color="grey", ls=":", lw=1, label=f"target {target:.0%}")
                ax.set_xlabel(xlabel)
                ax.set_ylabel("test accuracy (%)")
                ax.legend(loc="lower right")
                ax = axes[row, 1]
                ax.plot(x(tr), tr["train_loss"], "-", lw=1, color="tab:orange", label="train loss (clients)")
                ax.plot(x(ev), ev["test_loss"], "o-", ms=3, color="tab:blue", label="test loss")
                ax.set_xlabel(xlabel)
                ax.set_ylabel("loss")
                ax.legend(loc="best")
            for ax in axes[0]:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            for ax in axes.flat:
                ax.grid(alpha=0.3)
            fig.suptitle(f"{run.name}: {cfg['model']['arch']} {cfg['server']['optimizer']}, "
                         f"{cfg['data']['num_clients']} clients ({cfg['data']['partition']}), "
                         f"{run.attrs['clients_per_round']}/round, {run.execution.num_ranks} ranks")
            fig.tight_layout()
            nb.save_figure(fig, "training_curves.png")
        '''),
    ]


def accuracy_vs_bytes():
    name = "accuracy_vs_bytes"
    return name, [
        header("Accuracy vs communicated bytes",
               """
               Test accuracy of several runs against the bytes communicated so
               far (simulated uplink + downlink, cumulated over rounds), to compare
               runs by communication cost rather than by rounds.
               """, name, [DIR_ROW, TARGET_ROW], "FEDHPC_RESULTS_DIR=results/sweep"),
        code(SETUP),
        code('''
            sweep = fa.load_dir(nb.results_dir())
            target = nb.target_accuracy()
            print(sweep)
            r = sweep.rounds.assign(cum_bytes=fa.cumulative_bytes(sweep),
                                    cum_up=fa.cumulative_bytes(sweep, "up"))
            div, unit = nb.bytes_scale(r["cum_bytes"].max())
            sweep.table
        '''),
        md("## Bytes to reach the target"),
        code('''
            s = sweep.summary(target)
            s[["final_accuracy", "rounds_to_target", "bytes_to_target", "total_bytes"]].assign(
                **{f"to_target_{unit}": s["bytes_to_target"].astype("Float64") / div,
                   f"total_{unit}": s["total_bytes"] / div})
        '''),
        md("## Curves"),
        code('''
            fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
            for run_name, d in r.groupby("run", sort=False):
                ev = d[d["test_accuracy"].notna()]
                label = sweep.label(run_name)
                axes[0].plot(ev["cum_bytes"] / div, 100 * ev["test_accuracy"], "o-", ms=3, label=label)
                axes[1].plot(ev["cum_up"] / div, 100 * ev["test_accuracy"], "o-", ms=3, label=label)
            axes[0].set_xlabel(f"cumulative bytes up + down ({unit})")
            axes[1].set_xlabel(f"cumulative uplink bytes ({unit})")
            axes[0].set_ylabel("test accuracy (%)")
            for ax in axes:
                ax.axhline(100 * target, color="grey", ls=":", lw=1)
                ax.grid(alpha=0.3)
            axes[0].legend(fontsize="small", loc="lower right")
            fig.suptitle(f"test accuracy vs communication ({len(sweep)} runs)")
            fig.tight_layout()
            nb.save_figure(fig, "accuracy_vs_bytes.png")
        '''),
    ]


def client_distributions():
    name = "client_distributions"
    return name, [
        header("Client distributions",
               """
               Per-client outcomes of one run: how sampled clients ended
               (completed, dropped out, skipped over their memory budget,
               diverged), modelled peak memory against budget, communicated
               bytes and local training loss, as histograms and as box plots per
               round, and the clients' label distributions.
               """, name, [FILE_ROW], "FEDHPC_RESULTS=results/default.h5"),
        code(SETUP),
        code('''
            run = fa.load(nb.results_file())
            c = run.clients
            MiB = 2**20
            print(run)
            print(f"{len(c)} client rows over {c['round'].nunique()} rounds, "
                  f"{c['client_id'].nunique()} distinct clients of {len(run.client_info)}")
            c.head()
        '''),
        md("## Status counts"),
        code('''
            status = pd.crosstab(c["round"], c["status_name"], dropna=False)
            print(c["status_name"].value_counts().to_string())
            fig, ax = plt.subplots(figsize=(9, 3.5))
            bottom = np.zeros(len(status))
            for col, color in zip(status.columns, ["tab:green", "tab:grey", "tab:red", "tab:purple"]):
                ax.bar(status.index, status[col], bottom=bottom, width=1.0, color=color, label=col)
                bottom += status[col].to_numpy()
            ax.set_xlabel("round")
            ax.set_ylabel("sampled clients")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(f"{run.name}: outcome of sampled clients per round")
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
            fig.tight_layout()
            nb.save_figure(fig, "client_status.png")
            status.tail()
        '''),
        md("""
           ## Memory: modelled peak vs budget

           Points above the diagonal are over budget (`client.over_budget` decides
           whether they are skipped or only flagged).
           """),
        code('''
            fig, axes = plt.subplots(1, 2, figsize=(11, 4))
            ax = axes[0]
            for s, d in c.groupby("status_name", observed=True):
                ax.scatter(d["memory_budget_bytes"] / MiB, d["peak_memory_bytes"] / MiB, s=10, alpha=0.6, label=s)
            lim = max(c["memory_budget_bytes"].max(), c["peak_memory_bytes"].max()) / MiB * 1.05
            ax.plot([0, lim], [0, lim], color="grey", ls=":", lw=1, label="peak = budget")
            ax.set_xlabel("memory budget (MiB)")
            ax.set_ylabel("modelled peak memory (MiB)")
            ax.legend(fontsize="small")
            ax = axes[1]
            ratio = c["peak_memory_bytes"] / c["memory_budget_bytes"]
            ax.hist(ratio, bins=30, color="tab:blue")
            ax.axvline(1.0, color="tab:red", ls="--", lw=1)
            ax.set_xlabel("peak memory / budget (sampled clients)")
            ax.set_ylabel("client rows")
            fig.suptitle(f"{run.name}: memory of sampled clients "
                         f"({int(c['over_budget'].sum())} of {len(c)} over budget)")
            fig.tight_layout()
            nb.save_figure(fig, "client_memory.png")
        '''),
        md("## Histograms"),
        code('''
            trained = c[c["status_name"] == "completed"]
            fig, axes = plt.subplots(2, 2, figsize=(10, 6.5))
            axes[0, 0].hist(trained["train_loss"].dropna(), bins=30, color="tab:orange")
            axes[0, 0].set_xlabel("local train loss (completed clients)")
            axes[0, 1].hist((c["bytes_up"] + c["bytes_down"]) / MiB, bins=30, color="tab:blue")
            axes[0, 1].set_xlabel("bytes up + down per sampled client (MiB)")
            axes[1, 0].hist(c["peak_memory_bytes"] / MiB, bins=30, color="tab:green")
            axes[1, 0].set_xlabel("modelled peak memory (MiB)")
            axes[1, 1].hist(run.client_info["num_samples"], bins=30, color="tab:purple")
            axes[1, 1].set_xlabel("training examples per client (all clients)")
            for ax in axes.flat:
                ax.set_ylabel("count")
                ax.grid(alpha=0.3)
            fig.suptitle(f"{run.name}: per-client distributions")
            fig.tight_layout()
            nb.save_figure(fig, "client_histograms.png")
        '''),
        md("""
           ## Box plots per round

           At most 25 rounds, evenly spaced, are shown; rounds without a value
           (e.g. no client completed) are left out of that panel.
           """),
        code('''
            rounds = np.unique(c["round"])
            shown = rounds[np.unique(np.linspace(0, len(rounds) - 1, min(25, len(rounds))).round().astype(int))]
            c_ratio = c.assign(memory_ratio=c["peak_memory_bytes"] / c["memory_budget_bytes"])
            panels = [("train_loss", trained, 1, "local train loss\\n(completed)"),
                      ("bytes_up", c, MiB, "uplink bytes\\nper client (MiB)"),
                      ("memory_ratio", c_ratio, 1, "peak memory / budget\\n(sampled clients)")]
            fig, axes = plt.subplots(len(panels), 1, figsize=(10, 8), sharex=True)
            for ax, (col, d, scale, label) in zip(axes, panels):
                groups = [(rnd, d.loc[d["round"] == rnd, col].dropna().to_numpy() / scale) for rnd in shown]
                groups = [(rnd, v) for rnd, v in groups if len(v)]
                ax.boxplot([v for _, v in groups], positions=[rnd for rnd, _ in groups],
                           widths=0.6 * max(1, (shown[-1] - shown[0]) / max(1, len(shown))), manage_ticks=False)
                ax.set_ylabel(label)
                ax.grid(alpha=0.3)
            axes[-1].axhline(1.0, color="tab:red", ls="--", lw=1)
            axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
            axes[-1].set_xlabel("round")
            fig.suptitle(f"{run.name}: per-client values by round")
            fig.tight_layout()
            nb.save_figure(fig, "client_boxplots.png")
        '''),
        md("## Label distribution of the clients"),
        code('''
            hist = run.label_histogram
            share = hist.div(hist.sum(axis=1), axis=0)
            shown_clients = share.iloc[:min(60, len(share))]
            fig, ax = plt.subplots(figsize=(10, 3.5))
            im = ax.imshow(shown_clients.T.to_numpy(), aspect="auto", cmap="viridis", interpolation="nearest")
            ax.set_xlabel(f"client id (first {len(shown_clients)})")
            ax.set_ylabel("label")
            fig.colorbar(im, ax=ax, label="share of the client's examples")
            ax.set_title(f"{run.name}: label share per client "
                         f"({run.config['data']['partition']} partition)")
            fig.tight_layout()
            nb.save_figure(fig, "client_labels.png")
        '''),
    ]


def sweep_comparison():
    name = "sweep_comparison"
    return name, [
        header("Sweep comparison",
               """
               A directory of runs compared by the configuration keys that differ
               between them. Runs that differ only in `run.seed` are replicates:
               they are averaged (mean ± standard deviation) per configuration.
               The summary table is also written as `sweep_summary.csv`.
               """, name, [DIR_ROW, TARGET_ROW], "FEDHPC_RESULTS_DIR=results/sweep"),
        code(SETUP),
        code('''
            sweep = fa.load_dir(nb.results_dir())
            target = nb.target_accuracy()
            print(sweep)
            # Configuration keys that define a configuration; the seed only makes replicates.
            keys = [k for k in sweep.varying if "." in k and k != "run.seed"]
            print("compared by:", keys or "(nothing differs but the seed: one configuration)")
            summary = sweep.summary(target)
            summary.to_csv(FIGURES / "sweep_summary.csv")
            summary
        '''),
        md("## By configuration"),
        code('''
            s = summary.assign(rounds_to_target=summary["rounds_to_target"].astype("float64"),
                               reached=summary["rounds_to_target"].notna())
            s["config"] = [sweep.label(n, keys) if keys else "all runs" for n in s.index]
            order = (s.sort_values(keys) if keys else s)["config"].drop_duplicates().tolist()
            by_config = (s.groupby("config", sort=False)
                          .agg(runs=("final_accuracy", "size"),
                               final_accuracy=("final_accuracy", "mean"),
                               final_accuracy_std=("final_accuracy", "std"),
                               reached=("reached", "sum"),
                               rounds_to_target=("rounds_to_target", "mean"),
                               wall_seconds=("wall_seconds", "mean"))
                          .reindex(order))
            by_config
        '''),
        code('''
            x = np.arange(len(by_config))
            fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
            ax = axes[0]
            ax.bar(x, 100 * by_config["final_accuracy"], yerr=100 * by_config["final_accuracy_std"].fillna(0),
                   color="tab:blue", alpha=0.6, capsize=3)
            pos = {c: i for i, c in enumerate(order)}
            ax.scatter([pos[c] for c in s["config"]], 100 * s["final_accuracy"], color="k", s=12, zorder=3,
                       label="runs")
            lo = 100 * s["final_accuracy"].min()
            ax.set_ylim(max(0, lo - 10), min(100, 100 * s["final_accuracy"].max() + 5))
            ax.set_ylabel("final test accuracy (%)")
            ax.legend(fontsize="small")
            ax = axes[1]
            ax.bar(x, by_config["rounds_to_target"].fillna(0), color="tab:orange", alpha=0.7)
            for i, (n, reached) in enumerate(zip(by_config["runs"], by_config["reached"])):
                ax.annotate(f"{int(reached)}/{int(n)} reached", (i, 0), xytext=(0, 3),
                            textcoords="offset points", ha="center", fontsize="small")
            ax.set_ylabel(f"rounds to {target:.0%} (mean of runs reaching it)")
            for ax in axes:
                ax.set_xticks(x)
                ax.set_xticklabels(order, rotation=20, ha="right", fontsize="small")
                ax.grid(alpha=0.3, axis="y")
            fig.suptitle(f"{len(sweep)} runs compared by {', '.join(keys) if keys else 'seed only'}")
            fig.tight_layout()
            nb.save_figure(fig, "sweep_comparison.png")
        '''),
        md("## Test accuracy of every run"),
        code('''
            colors = {c: f"C{i % 10}" for i, c in enumerate(order)}
            fig, ax = plt.subplots(figsize=(8, 4.2))
            seen = set()
            for run_name, d in sweep.rounds.groupby("run", sort=False):
                ev = d[d["test_accuracy"].notna()]
                config = s.at[run_name, "config"]
                ax.plot(ev["round"] + 1, 100 * ev["test_accuracy"], "o-", ms=3, color=colors[config],
                        label=None if config in seen else config)
                seen.add(config)
            ax.axhline(100 * target, color="grey", ls=":", lw=1)
            ax.set_xlabel("rounds completed")
            ax.set_ylabel("test accuracy (%)")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small", loc="lower right")
            fig.tight_layout()
            nb.save_figure(fig, "sweep_curves.png")
        '''),
    ]


def pruning_tradeoff():
    name = "pruning_tradeoff"
    return name, [
        header("Pruning: accuracy vs sparsity vs bytes",
               """
               Runs of a pruning sweep (`jobs/feddip-sweep.sh`, files named
               `<config>_seed<N>.h5`) grouped by configuration: final test
               accuracy as mean ± std over seeds against the final weight
               sparsity and against the total bytes of the run (uplink +
               downlink), one curve per pruning method (`prune.method`, with
               `prune.mode`) and setting; unpruned runs (sparsity 0) with the
               same data, rounds and compression join a curve as its dense end
               point. Runs with the same seed are paired (same clients
               and minibatches).
               """, name, [DIR_ROW], "FEDHPC_RESULTS_DIR=results/feddip"),
        code(SETUP),
        code('''
            sweep = fa.load_dir(nb.results_dir())
            per_seed = fa.per_seed(sweep)
            summary = fa.seed_summary(sweep)
            groups = fa.seed_groups(sweep)
            def cfg(group):
                return groups[group][0].config
            def curve(group):
                # One curve per method and setting; only prune.sparsity varies along it.
                c = cfg(group)
                p = c["prune"]
                label = f"{p['method']} ({p['mode']})" if p["method"] == "feddip" else p["method"]
                label += f", {c['data']['partition']}, {c['server']['rounds']} rounds"
                for key, default in (("scope", "global"), ("schedule_end", 1), ("initial_sparsity", 0.5)):
                    if key in p and p[key] != default:
                        label += f", {key} {p[key]}"
                if c["storage"]["codec"] != "fp32":
                    label += f", storage {c['storage']['codec']}{c['storage']['bits']}"
                if c["uplink"]["codec"] != "none":
                    label += f", uplink {c['uplink']['codec']}"
                return label
            def dense_key(group):
                c = cfg(group)
                return (c["data"]["partition"], c["server"]["rounds"], c["storage"]["codec"], c["uplink"]["codec"])
            summary["curve"] = summary["group"].map(curve)
            summary["dense_key"] = summary["group"].map(dense_key)
            div, unit = nb.bytes_scale(summary["bytes_total"].max())
            summary[["group", "curve", "seeds", "accuracy_mean", "accuracy_std", "weight_sparsity", "bytes_total"]]
        '''),
        md("## Accuracy against sparsity and bytes"),
        code('''
            fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
            dense = summary[summary["weight_sparsity"] == 0]
            pruned = summary[summary["weight_sparsity"] > 0]
            for label, d in pruned.groupby("curve"):
                if len(d) < 2:
                    continue  # one sparsity only (a remedy): in the table above, not a curve
                d = pd.concat([dense[dense["dense_key"] == d["dense_key"].iloc[0]], d]).sort_values("weight_sparsity")
                for ax, x in ((axes[0], 100 * d["weight_sparsity"]), (axes[1], d["bytes_total"] / div)):
                    ax.errorbar(x, 100 * d["accuracy_mean"], yerr=100 * d["accuracy_std"].fillna(0),
                                fmt="o-", ms=4, capsize=3, label=label)
            axes[0].set_xlabel("final weight sparsity (%)")
            axes[1].set_xlabel(f"total bytes up + down ({unit})")
            axes[0].set_ylabel("final test accuracy (%), mean ± std over seeds")
            for ax in axes:
                ax.grid(alpha=0.3)
            axes[0].legend(fontsize="small", loc="lower left")
            fig.suptitle(f"pruning trade-off ({len(summary)} configurations, {len(per_seed)} runs)")
            fig.tight_layout()
            nb.save_figure(fig, "pruning_tradeoff.png")
        '''),
        md("## Per seed"),
        code('''
            per_seed.pivot(index="group", columns="seed", values="accuracy")
        '''),
    ]


def compression_tradeoff():
    name = "compression_tradeoff"
    return name, [
        header("Post-training compression: accuracy vs bits per weight",
               """
               Runs of a post-training compression sweep (`jobs/posttrain-sweep.sh`:
               every method compresses the same trained model per seed, files
               `<arch>_<method>_seed<N>.h5`) grouped by architecture and method
               (gwk with its bits): test accuracy after compression, mean ± std
               over seeds, against bits per weight (mean; codebooks counted,
               = 32 / ratio). The uncompressed model is the point at 32 bits
               (test accuracy before compression). OMC's int8 storage is drawn at
               8 bits per weight and the uncompressed accuracy as a **reference
               only**: it is not measured here (docs/omc.md has its own runs).
               Training-only files in the directory are skipped.
               """, name, [POSTTRAIN_DIR_ROW], "FEDHPC_RESULTS_DIR=results/posttrain"),
        code(SETUP),
        code('''
            source = nb.results_dir(default="results/posttrain")
            table = fa.posttrain_table(source)
            if table.empty:
                raise FileNotFoundError(f"{source}: no compression runs (files with /compression)")
            summary = fa.posttrain_summary(table)
            print(f"{len(table)} compression runs from {source}: "
                  + ", ".join(f"{a} {l} ({n})" for (a, l), n in table.groupby(["arch", "label"], sort=False).size().items()))
            table.drop(columns="path")
        '''),
        md("## Mean ± std over seeds"),
        code('''
            summary.assign(**{"accuracy after (%)": 100 * summary["accuracy_after_mean"],
                              "± (points)": 100 * summary["accuracy_after_std"]})
        '''),
        md("""
           ## Accuracy against bits per weight

           Error bars: standard deviation over seeds (none with one seed); n is
           the number of seeds. The numbers next to the points are the
           compression ratios (codebooks counted).
           """),
        code('''
            OMC_LABEL = "OMC int8 storage (8 bit/weight, see docs/omc.md)"
            archs = list(summary["arch"].drop_duplicates())
            # one colour per method label in every panel
            colors = {l: f"C{i}" for i, l in enumerate(table.sort_values(["method", "bits"])["label"].drop_duplicates())}
            fig, axes = plt.subplots(1, len(archs), figsize=(6 * len(archs), 5.2), squeeze=False)
            for ax, arch in zip(axes[0], archs):
                s = summary[summary["arch"] == arch]
                ref = s[s["label"] == fa.UNCOMPRESSED].iloc[0]
                ref_acc, ref_std = 100 * ref["accuracy_after_mean"], 100 * np.nan_to_num(ref["accuracy_after_std"])
                ax.axhline(ref_acc, color="k", ls=":", lw=1)
                ax.errorbar([32], [ref_acc], yerr=[ref_std], fmt="s", color="k", ms=6, capsize=3,
                            label=f"{fa.UNCOMPRESSED} (n={int(ref['seeds'])})")
                ax.plot([8], [ref_acc], "D", ms=8, mfc="none", mec="grey", mew=1.5, ls="none",
                        label=OMC_LABEL + ": reference, not measured here")
                ax.annotate("reference,\\nnot measured here", (8, ref_acc), xytext=(0, -26), textcoords="offset points",
                            ha="center", fontsize="x-small", color="grey")
                for _, r in s[s["label"] != fa.UNCOMPRESSED].iterrows():
                    ax.errorbar([r["bits_per_weight"]], [100 * r["accuracy_after_mean"]],
                                yerr=[100 * np.nan_to_num(r["accuracy_after_std"])], fmt="o", ms=6, capsize=3,
                                color=colors[r["label"]], label=f"{r['label']} (n={int(r['seeds'])})")
                    ax.annotate(f"{r['ratio']:.1f}x", (r["bits_per_weight"], 100 * r["accuracy_after_mean"]),
                                xytext=(6, 4), textcoords="offset points", fontsize="x-small", color=colors[r["label"]])
                ax.set_xscale("log", base=2)
                ax.set_xticks([1, 2, 4, 8, 16, 32])
                ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
                ax.set_xlim(left=min(0.8, 0.8 * s["bits_per_weight"].min()), right=45)
                ax.set_xlabel("bits per weight (mean over seeds, codebooks counted)")
                ax.set_ylabel("test accuracy (%), mean ± std over seeds")
                ax.set_title(arch)
                ax.margins(y=0.15)
                ax.grid(alpha=0.3)
                ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.2))
            fig.suptitle(f"post-training compression: accuracy vs bits per weight ({len(table)} runs)")
            fig.tight_layout()
            nb.save_figure(fig, "compression_tradeoff.png")
        '''),
        md("## Per seed: test accuracy after compression (%)"),
        code('''
            (100 * table.pivot_table(index=["arch", "label"], columns="seed", values="accuracy_after", sort=False)).round(2)
        '''),
    ]


def zo_tradeoff():
    name = "zo_tradeoff"
    return name, [
        header("Backprop-free training: accuracy vs client peak memory",
               """
               Runs of a backprop-free training sweep (`jobs/ntk-zo-sweep.sh`,
               files `<config>_seed<N>.h5`) grouped by configuration: final test
               accuracy, mean ± std over seeds, against a trained client's
               modelled peak memory (median over the clients that trained,
               docs/memory.md), one point per method (trainer and mask, with
               its density and K). Runs with the same seed are paired (same
               clients and minibatches); the table gives the paired
               differences to dense zo and to a random mask of the same
               density.
               """, name, [ZO_DIR_ROW], "FEDHPC_RESULTS_DIR=results/ntk_zo"),
        code(SETUP),
        code('''
            sweep = fa.load_dir(nb.results_dir(default="results/ntk_zo"))
            table = fa.zo_table(sweep)
            summary = fa.zo_summary(table)
            def paired(group, trainer, mask, density=1.0):
                ref = fa.zo_reference(summary, group, trainer, mask, density)
                if ref is None:
                    return np.nan
                return 100 * fa.paired_difference(sweep, group, ref)["mean"]
            summary["vs dense zo (points)"] = [
                paired(r.group, r.trainer, "dense") if r.trainer != "backprop" else np.nan for r in summary.itertuples()]
            summary["vs random (points)"] = [
                paired(r.group, r.trainer, "random", r.density) if r.mask != "dense" else np.nan
                for r in summary.itertuples()]
            summary.assign(**{"accuracy (%)": 100 * summary["accuracy_mean"], "± (points)": 100 * summary["accuracy_std"],
                              "client peak KiB": summary["client_peak_bytes"] / 1024}).drop(
                columns=["accuracy_mean", "accuracy_std", "client_peak_bytes"])
        '''),
        md("""
           ## Accuracy against client peak memory

           Error bars: standard deviation over seeds (none with one seed); n is
           the number of seeds.
           """),
        code('''
            fig, ax = plt.subplots(figsize=(9, 5.2))
            # marker: the mask (backprop: a square); colour: the density; hollow: IID; runs of one memory side by side
            markers = {"dense": "o", "ntk (noise)": "*", "ntk (data)": "P", "random": "X", "magnitude": "D"}
            densities = sorted(summary["density"].unique())
            shade = {d: plt.cm.viridis(0.15 + 0.7 * i / max(1, len(densities) - 1)) for i, d in enumerate(densities)}
            rows = summary.sort_values(["trainer", "density", "mask"]).reset_index(drop=True)
            slot = rows.groupby(rows["client_peak_bytes"].round(-3)).cumcount()
            for (_, r), k in zip(rows.iterrows(), slot):
                x = r.client_peak_bytes / 1024 * (1 + 0.025 * k)
                backprop = r.trainer == "backprop"
                ax.errorbar([x], [100 * r.accuracy_mean], yerr=[100 * np.nan_to_num(r.accuracy_std)],
                            fmt="s" if backprop else markers.get(r["mask"], "o"), ms=9 if r["mask"] == "ntk (noise)" else 7,
                            capsize=3, color="k" if backprop else shade[r.density],
                            mfc="none" if r.partition == "iid" else None,  # IID: hollow
                            label=f"{r.label}, {r.partition} (n={r.seeds})")
            ax.set_xscale("log")
            ax.set_xlabel("client peak memory (KiB, median over trained clients, modelled)")
            ax.set_ylabel("final test accuracy (%), mean ± std over seeds")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
            fig.suptitle(f"backprop-free training: accuracy vs client memory ({len(table)} runs; "
                         f"marker: mask, colour: density)")
            fig.tight_layout()
            nb.save_figure(fig, "zo_tradeoff.png")
        '''),
        md("## Per seed: final test accuracy (%)"),
        code('''
            (100 * table.pivot_table(index="label", columns="seed", values="accuracy", sort=False)).round(2)
        '''),
    ]


def uplink_tradeoff():
    name = "uplink_tradeoff"
    return name, [
        header("Update compression: accuracy vs total bytes",
               """
               Runs of an uplink sweep (`jobs/uplink-sweep.sh`, files
               `<config>_seed<N>.h5`) grouped by configuration: final test
               accuracy, mean ± std over seeds, against the total traffic of the
               run (uplink + downlink bytes, all rounds). Runs with the same seed
               see the same clients and batches (keyed streams), so the table's
               differences to the uncompressed run with the same server
               optimizer (`uplink_none`, `uplink_none_fedavgm`) are paired.
               """, name, [UPLINK_DIR_ROW], "FEDHPC_RESULTS_DIR=results/uplink"),
        code(SETUP),
        code('''
            sweep = fa.load_dir(nb.results_dir(default="results/uplink"))
            summary = fa.uplink_summary(sweep)
            summary.assign(**{"accuracy (%)": 100 * summary["accuracy_mean"], "± (points)": 100 * summary["accuracy_std"],
                              "vs baseline (points)": 100 * summary["diff_mean"],
                              "± paired (points)": 100 * summary["diff_std"],
                              "total MB": summary["bytes_total"] / 1e6, "up MB": summary["bytes_up"] / 1e6})[
                ["group", "optimizer", "seeds", "accuracy (%)", "± (points)", "baseline", "vs baseline (points)",
                 "± paired (points)", "up MB", "total MB", "up_factor", "total_factor", "residual_ratio", "residual_age"]]
        '''),
        md("""
           ## Accuracy against total bytes

           Error bars: standard deviation over seeds (none with one seed); n is
           the number of seeds. Marker: server optimizer (circle FedAvg, square
           FedAvgM); filled star: the uncompressed baseline. Runs with the same
           total bytes are drawn side by side (the x offset is only for
           legibility; their bytes are in the table above).
           """),
        code('''
            fig, ax = plt.subplots(figsize=(9, 7))
            rows = summary.sort_values("accuracy_mean", ascending=False).reset_index(drop=True)
            colours = plt.cm.tab20(np.linspace(0, 1, max(20, len(rows))))
            slot = rows.groupby(rows["bytes_total"].round(-7)).cumcount()
            for (i, r), k in zip(rows.iterrows(), slot):
                marker = "*" if r.baseline is None else ("s" if r.optimizer == "fedavgm" else "o")
                ax.errorbar([r.bytes_total / 1e6 * (1 + 0.012 * k)], [100 * r.accuracy_mean],
                            yerr=[100 * np.nan_to_num(r.accuracy_std)], fmt=marker, ms=10 if marker == "*" else 6,
                            capsize=3, color=colours[i % len(colours)], label=f"{r.group} (n={r.seeds})")
            ax.set_xscale("log")
            ax.set_xlabel("total bytes of the run, uplink + downlink (MB)")
            ax.set_ylabel("final test accuracy (%), mean ± std over seeds")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
            fig.suptitle(f"update compression: accuracy vs total traffic ({len(sweep)} runs)")
            fig.tight_layout()
            nb.save_figure(fig, "uplink_tradeoff.png")
        '''),
        md("## Per seed: final test accuracy (%)"),
        code('''
            (100 * fa.per_seed(sweep).pivot_table(index="group", columns="seed", values="accuracy")).round(2)
        '''),
    ]


NOTEBOOKS = [training_curves, accuracy_vs_bytes, client_distributions, sweep_comparison, pruning_tradeoff,
             compression_tradeoff, zo_tradeoff, uplink_tradeoff]

#: PNG files each notebook writes (checked by tests/analysis).
FIGURES = {
    "training_curves": ["training_curves.png"],
    "accuracy_vs_bytes": ["accuracy_vs_bytes.png"],
    "client_distributions": ["client_status.png", "client_memory.png", "client_histograms.png",
                             "client_boxplots.png", "client_labels.png"],
    "sweep_comparison": ["sweep_comparison.png", "sweep_curves.png"],
    "pruning_tradeoff": ["pruning_tradeoff.png"],
    "compression_tradeoff": ["compression_tradeoff.png"],
    "zo_tradeoff": ["zo_tradeoff.png"],
    "uplink_tradeoff": ["uplink_tradeoff.png"],
}


def build(make):
    """The notebook of one ``make`` function, with stable ids and kernel metadata."""
    name, cells = make()
    for i, cell in enumerate(cells):
        cell["id"] = f"{name}-{i:02d}".replace("_", "-")
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(notebook)
    return name, nbformat.writes(notebook) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook differs from this script")
    parser.add_argument("--out", type=Path, default=HERE, help="output directory (default: this one)")
    args = parser.parse_args(argv)
    stale = []
    for make in NOTEBOOKS:
        name, text = build(make)
        path = args.out / f"{name}.ipynb"
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print("stale notebooks (run analysis/notebooks/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
