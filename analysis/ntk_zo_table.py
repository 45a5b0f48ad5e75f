#!/usr/bin/env python3
"""Table of a backprop-free training sweep (jobs/ntk-zo-sweep.sh,
docs/ntk_zo.md): one row per configuration (runs named <config>_seed<N>),
final test accuracy mean ± std over seeds, the paired differences (same
seeds: same clients and batches) to dense zo at the same K and partition
and, for pruned runs, to a random mask of the same density, a trained
client's peak memory (median, modelled), uplink bytes and FLOPs per client.

    /usr/bin/python3 analysis/ntk_zo_table.py results/ntk_zo
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import fedhpc_analysis as fa  # noqa: E402


def paired(sweep, a, b):
    if b is None:
        return "-"
    d = fa.paired_difference(sweep, a, b)
    return f"{100 * d['mean']:+.2f} ± {100 * d['std']:.2f} ({int(d['pairs'])})"


def main(directory):
    sweep = fa.load_dir(directory)
    s = fa.zo_summary(fa.zo_table(sweep))
    print("| configuration | seeds | accuracy (%) | vs dense zo (paired) | vs random mask (paired) "
          "| client peak KiB | uplink B/client | MFLOP/client |")
    print("|---|---|---|---|---|---|---|---|")
    for _, r in s.iterrows():
        std = "" if r.seeds < 2 else f" ± {100 * r.accuracy_std:.2f}"
        zo = r.trainer != "backprop"
        dense = fa.zo_reference(s, r.group, r.trainer, "dense") if zo else None
        rand = fa.zo_reference(s, r.group, r.trainer, "random", r.density) if r["mask"] != "dense" else None
        print(f"| {r.label}, {r.partition} | {int(r.seeds)} | {100 * r.accuracy_mean:.2f}{std} | "
              f"{paired(sweep, r.group, dense)} | {paired(sweep, r.group, rand)} | {r.client_peak_bytes / 1024:,.1f} | "
              f"{r.uplink_bytes:,.0f} | {r.flops / 1e6:,.1f} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: ntk_zo_table.py RESULTS_DIR")
    main(sys.argv[1])
