"""Markdown tables of an OMC sweep directory (jobs/omc-ablation.sh).

    /usr/bin/python3 analysis/omc_table.py results/omc

Runs are named <config>_seed<N>. Table 1, one row per configuration: seeds,
final test accuracy mean ± std over seeds, the paired difference to omc_fp32
(same seeds: same clients and batches), a client's parameter memory (encoded
parameters + decode tile + codec scratch) against 4 bytes per parameter, the
fp32 share of the weights (PPQ), uplink / downlink / total bytes of the whole
run and the total's reduction against omc_fp32, and diverged clients per run.
Table 2: each OMC ingredient's paired effect (same seeds, the two configs
differ only in that ingredient), for the pairs the directory holds.
"""
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import fedhpc_analysis as fa  # noqa: E402

BASELINE = "omc_fp32"

# (what changes, config with it, config without it)
INGREDIENTS = [
    ("PVT, float e4m3", "omc_e4m3_wmoq_pvt", "omc_e4m3_wmoq"),
    ("PVT, float e5m2", "omc_e5m2_wmoq_pvt", "omc_e5m2_wmoq"),
    ("PVT, float e3m4", "omc_e3m4_wmoq_pvt", "omc_e3m4_wmoq"),
    ("PVT, float e3m2 (6 bits)", "omc_e3m2_wmoq_pvt", "omc_e3m2_wmoq"),
    ("PVT, int8 (an affine map before an affine grid)", "omc_q8_wmoq_pvt", "omc_q8_wmoq"),
    ("stochastic instead of nearest re-encoding, int8", "omc_q8_wmoq", "omc_q8_wmoq_nearest"),
    ("stochastic instead of nearest re-encoding, int6 + PVT", "omc_q6_wmoq_pvt", "omc_q6_wmoq_pvt_nearest"),
    ("PPQ rho = 0.1 (row blocks), int8 (+ PVT, a no-op under int)", "omc_q8_wmoq_pvt_ppq", "omc_q8_wmoq"),
    ("PPQ rho = 0.1 (row blocks), int6", "omc_q6_wmoq_pvt_ppq", "omc_q6_wmoq_pvt"),
    ("WMOQ, int8", "omc_q8_wmoq", "omc_q8_naive"),
    ("int6 instead of int8 (+ PVT)", "omc_q6_wmoq_pvt", "omc_q8_wmoq"),
    ("e4m3 + PVT instead of int8", "omc_e4m3_wmoq_pvt", "omc_q8_wmoq"),
    ("e3m2 + PVT instead of int6 + PVT", "omc_e3m2_wmoq_pvt", "omc_q6_wmoq_pvt"),
    ("e2m3 + PVT instead of int6 + PVT", "omc_e2m3_wmoq_pvt", "omc_q6_wmoq_pvt"),
]


# Row order of table 1 (jobs/omc-ablation.sh's list); other configs follow by name.
ORDER = ["omc_fp32", "omc_q8_naive", "omc_q8_wmoq", "omc_q8_wmoq_nearest", "omc_q8_wmoq_pvt", "omc_q8_wmoq_pvt_ppq",
         "omc_q6_wmoq_pvt", "omc_q6_wmoq_pvt_nearest", "omc_q6_wmoq_pvt_ppq",
         "omc_e4m3_wmoq", "omc_e4m3_wmoq_pvt", "omc_e5m2_wmoq", "omc_e5m2_wmoq_pvt", "omc_e3m4_wmoq",
         "omc_e3m4_wmoq_pvt", "omc_e3m2_wmoq", "omc_e3m2_wmoq_pvt", "omc_e2m3_wmoq_pvt"]


def mb(x):
    return f"{x / 1e6:,.1f}"


def storage(run):
    c = run.config["storage"]
    codec = str(c.get("codec", "fp32"))
    if codec == "fp32":
        return "fp32"
    name = f"int{c.get('bits', 8)}" if codec == "int" else f"e{c.get('exponent_bits', 4)}m{c.get('mantissa_bits', 3)}"
    parts = [name]
    if str(c.get("weights_only", "false")).lower() == "true":
        parts.append("WMOQ")
    if str(c.get("pvt", "false")).lower() == "true":
        parts.append("PVT")
    rho = float(c.get("fp32_fraction", 0))
    if rho > 0:
        parts.append(f"PPQ {rho:g} ({c.get('ppq_granularity', 'rows')})")
    parts.append(str(c.get("rounding", "stochastic")))
    return " + ".join(parts)


def extras(sweep):
    """Per group: storage label, parameter count, mean fp32 weight share and diverged clients per run."""
    out = {}
    for name, runs in fa.seed_groups(sweep).items():
        share = [float(r.rounds["fp32_weight_fraction"].mean()) if "fp32_weight_fraction" in r.rounds else np.nan
                 for r in runs]
        diverged = [float(r.rounds["clients_diverged"].sum()) for r in runs]
        out[name] = {
            "storage": storage(runs[0]),
            "P": int(runs[0].attrs["num_params"]),
            "share": float(np.mean(share)),
            "diverged": float(np.mean(diverged)),
            "rounds": int(runs[0].rounds["round"].iloc[-1]) + 1,
        }
    return out


def main(directory):
    sweep = fa.load_dir(directory)
    s = fa.seed_summary(sweep).set_index("group")
    s = s.loc[sorted(s.index, key=lambda g: (ORDER.index(g) if g in ORDER else len(ORDER), g))]
    ex = extras(sweep)
    base = s.loc[BASELINE] if BASELINE in s.index else None
    rounds = sorted({e["rounds"] for e in ex.values()})
    print(f"Rounds: {', '.join(map(str, rounds))}. Accuracy: final test accuracy, mean ± std over seeds; "
          f"Δ: paired difference to {BASELINE} (mean ± std over seeds (pairs)).\n")
    print("| config | storage | seeds | accuracy | Δ vs fp32 (paired) | param memory vs fp32 | fp32 weights | "
          "client peak KiB | up MB | down MB | total MB | total vs fp32 | diverged clients |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in s.iterrows():
        e = ex[name]
        std = "" if r.seeds < 2 else f" ± {100 * r.accuracy_std:.2f}"
        if base is not None and name != BASELINE:
            d = fa.paired_difference(sweep, name, BASELINE)
            dstd = "" if d["pairs"] < 2 else f" ± {100 * d['std']:.2f}"
            diff = f"{100 * d['mean']:+.2f}{dstd} ({int(d['pairs'])})"
            red = f"{base.bytes_total / r.bytes_total:.2f}x"
        else:
            diff, red = "-", "1x"
        print(f"| {name} | {e['storage']} | {int(r.seeds)} | {100 * r.accuracy_mean:.2f}{std} | {diff} | "
              f"{100 * r.param_memory_bytes / (4 * e['P']):.1f}% | {100 * e['share']:.2f}% | {r.peak_memory_max / 1024:,.0f} | "
              f"{mb(r.bytes_up)} | {mb(r.bytes_down)} | {mb(r.bytes_total)} | {red} | {e['diverged']:.1f} |")
    rows = [(what, a, b) for what, a, b in INGREDIENTS if a in s.index and b in s.index]
    if rows:
        print("\n| ingredient | with | without | accuracy with − without (paired) | total MB with / without |")
        print("|---|---|---|---|---|")
        for what, a, b in rows:
            d = fa.paired_difference(sweep, a, b)
            dstd = "" if d["pairs"] < 2 else f" ± {100 * d['std']:.2f}"
            print(f"| {what} | {a} | {b} | {100 * d['mean']:+.2f}{dstd} ({int(d['pairs'])}) | "
                  f"{mb(s.loc[a, 'bytes_total'])} / {mb(s.loc[b, 'bytes_total'])} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: omc_table.py RESULTS_DIR")
    main(sys.argv[1])
