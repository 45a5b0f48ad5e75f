"""Markdown table of an uplink sweep directory (jobs/uplink-sweep.sh).

    /usr/bin/python3 analysis/uplink_table.py results/uplink

One row per configuration (runs named <config>_seed<N>): seeds, final test
accuracy mean ± std over seeds, the paired difference (same seeds, so the same
clients and batches) to the uncompressed baseline with the same server
(uplink_none, or uplink_none_fedavgm for *_fedavgm runs), uplink / downlink /
total bytes of the whole run and the uplink and total reduction against that
baseline, and for client state the last 10 rounds' mean residual norm over
update norm and mean residual age (rounds since the residual was stored)
(fedhpc_analysis.uplink_summary).
"""
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import fedhpc_analysis as fa  # noqa: E402


def mb(x):
    return f"{x / 1e6:,.1f}"


def main(directory):
    s = fa.uplink_summary(fa.load_dir(directory))
    print("| config | server | seeds | accuracy (mean ± std) | vs uncompressed, same server (paired) | up MB | "
          "down MB | total MB | fewer bytes up / total | residual / update norm | residual age |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in s.itertuples():
        std = "" if r.seeds < 2 else f" ± {100 * r.accuracy_std:.2f}"
        if r.baseline:
            dstd = "" if r.pairs < 2 else f" ± {100 * r.diff_std:.2f}"
            diff = f"{100 * r.diff_mean:+.2f}{dstd} ({r.pairs})"
            red = f"{r.up_factor:.1f}x / {r.total_factor:.2f}x"
        else:
            diff, red = "-", "1x / 1x"
        ratio = "-" if np.isnan(r.residual_ratio) else f"{r.residual_ratio:.2f}"
        age = "-" if np.isnan(r.residual_age) else f"{r.residual_age:.1f}"
        print(f"| {r.group} | {r.optimizer} | {int(r.seeds)} | {100 * r.accuracy_mean:.2f}{std} | {diff} | "
              f"{mb(r.bytes_up)} | {mb(r.bytes_down)} | {mb(r.bytes_total)} | {red} | {ratio} | {age} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: uplink_table.py RESULTS_DIR")
    main(sys.argv[1])
