"""Markdown tables of a FedDIP sweep directory (jobs/feddip-sweep.sh).

    /usr/bin/python3 analysis/feddip_table.py results/feddip

One row per configuration (runs named <config>_seed<N>): seeds, final test
accuracy mean ± std over seeds, the paired difference to its dense baseline
(same seeds, same clients and batches: feddip_dense, or feddip_dense_iid for
*_iid runs and feddip_dense_r200 for *_r200 runs), final weight sparsity,
uplink / downlink / total bytes of the whole run and their reduction against
feddip_dense, a client's parameter memory and the largest client peak memory.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import fedhpc_analysis as fa  # noqa: E402


def mb(x):
    return f"{x / 1e6:,.1f}"


def main(directory):
    sweep = fa.load_dir(directory)
    s = fa.seed_summary(sweep).set_index("group")

    def reference(name):
        ref = "feddip_dense" + ("_iid" if "_iid" in name else "") + ("_r200" if "_r200" in name else "")
        return ref if ref in s.index and ref != name else None
    print("| config | seeds | accuracy (mean ± std) | vs its dense baseline (paired) | weight sparsity | up MB | down MB | "
          "total MB | up / down / total reduction | param memory KiB | peak memory KiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in s.iterrows():
        std = "" if r.seeds < 2 else f" ± {100 * r.accuracy_std:.2f}"
        ref = reference(name)
        if ref:
            d = fa.paired_difference(sweep, name, ref)
            diff = f"{100 * d['mean']:+.2f} ± {100 * d['std']:.2f} ({int(d['pairs'])})"
            red = (f"{s.loc[ref, 'bytes_up'] / r.bytes_up:.1f}x / {s.loc[ref, 'bytes_down'] / r.bytes_down:.1f}x / "
                   f"{s.loc[ref, 'bytes_total'] / r.bytes_total:.1f}x")
        else:
            diff, red = "-", "1x"
        print(f"| {name} | {int(r.seeds)} | {100 * r.accuracy_mean:.2f}{std} | {diff} | {r.weight_sparsity:.3f} | "
              f"{mb(r.bytes_up)} | {mb(r.bytes_down)} | {mb(r.bytes_total)} | {red} | "
              f"{r.param_memory_bytes / 1024:,.1f} | {r.peak_memory_max / 1024:,.1f} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: feddip_table.py RESULTS_DIR")
    main(sys.argv[1])
