"""Writes the tiny fedhpc runs the analysis tests read (ctest fixture analysis_runs).

    python3 make_runs.py OUTDIR

OUTDIR/sweep/ gets three runs that differ in client.lr or run.seed (the sweep),
OUTDIR/budget/budget.h5 one run with uniform memory budgets below the model's
peak and 20% dropout (so client outcomes are mixed), OUTDIR/prune/ a pruning
sweep over two seeds (dense, FedDIP at 0.5 and 0.8, magnitude at 0.8), OUTDIR/posttrain/ the
tiny run trained only and trained then compressed by binquant_grad and by gwk (3 bits, 2
fine-tuning rounds), OUTDIR/zo/ a backprop-free sweep over two seeds (backprop,
dense zo and zo under an NTK mask at density 0.5, K = 4, 4 examples per pass, fedadam), OUTDIR/uplink/ an
uplink sweep over two seeds (uncompressed, top-1 % with client EF, top-3 % 4-bit with a compressed
downlink). OUTDIR/complete marks a finished set. Environment: FEDHPC_BIN (the
binary), FEDHPC_MPIEXEC (mpirun).
"""
import os
import shutil
import subprocess
import sys
import time

BIN = os.environ.get("FEDHPC_BIN", "build/fedhpc")
MPIEXEC = os.environ.get("FEDHPC_MPIEXEC", "mpirun")

# MLP on Fashion-MNIST, 40 Dirichlet clients, 8 per round, 4 rounds, test
# evaluation after rounds 1 and 3 (rounds 0 and 2 have NaN test metrics).
TINY = ["--data.num_clients", "40", "--server.clients_per_round", "8", "--server.rounds", "4",
        "--model.arch", "mlp", "--model.hidden", "32", "--client.batch_size", "16",
        "--run.eval_every", "2", "--run.progress", "false"]

RUNS = {
    "sweep/lr005_s1": [],
    "sweep/lr01_s1": ["--client.lr", "0.1"],
    "sweep/lr005_s2": ["--run.seed", "2"],
    "budget/budget": ["--client.budget", "uniform", "--client.budget_min_mb", "0.1",
                      "--client.budget_max_mb", "0.4", "--client.dropout", "0.2"],
}
# A pruning sweep over two seeds: dense, FedDIP at two sparsities, magnitude.
for _seed in (1, 2):
    _s = ["--run.seed", str(_seed), "--prune.interval", "1"]
    _s0 = ["--prune.initial_sparsity", "0.3"]
    RUNS[f"prune/dense_seed{_seed}"] = _s + ["--prune.method", "magnitude", "--prune.sparsity", "0",
                                             "--prune.initial_sparsity", "0"]
    RUNS[f"prune/feddip_s50_seed{_seed}"] = _s + _s0 + ["--prune.method", "feddip", "--prune.sparsity", "0.5"]
    RUNS[f"prune/feddip_s80_seed{_seed}"] = _s + _s0 + ["--prune.method", "feddip", "--prune.sparsity", "0.8"]
    RUNS[f"prune/magnitude_s80_seed{_seed}"] = _s + _s0 + ["--prune.method", "magnitude",
                                                           "--prune.sparsity", "0.8"]
# Post-training compression of the tiny run (seed 1): trained only, then trained and
# compressed (the same training in each file: one trained model per seed, as in
# jobs/posttrain-sweep.sh), validated by 8 clients.
RUNS["posttrain/mlp_trained_seed1"] = []
RUNS["posttrain/mlp_binquant_grad_seed1"] = ["--posttrain.method", "binquant_grad", "--posttrain.max_drop", "5",
                                              "--posttrain.validation_clients", "8"]
RUNS["posttrain/mlp_gwk3_seed1"] = ["--posttrain.method", "gwk", "--posttrain.rounds", "2", "--posttrain.bits", "3",
                                    "--posttrain.block", "4", "--posttrain.validation_clients", "8"]

# A backprop-free sweep over two seeds (jobs/ntk-zo-sweep.sh in small).
for _seed in (1, 2):
    _z = ["--run.seed", str(_seed), "--server.optimizer", "fedadam", "--server.lr", "0.01"]
    _k = ["--client.trainer", "zo", "--zo.directions", "4", "--zo.batch", "4"]  # 4 examples per pass
    RUNS[f"zo/backprop_seed{_seed}"] = _z
    RUNS[f"zo/zo_dense_seed{_seed}"] = _z + _k
    RUNS[f"zo/zo_ntk_seed{_seed}"] = _z + _k + ["--prune.method", "ntk", "--prune.sparsity", "0.5",
                                                  "--prune.ntk_iterations", "2", "--prune.ntk_resamples", "2"]

# An uplink sweep over two seeds (jobs/uplink-sweep.sh in small): uncompressed,
# top-1 % with client error feedback, top-3 % 4-bit with a compressed downlink.
for _seed in (1, 2):
    _u = ["--run.seed", str(_seed)]
    _t = ["--uplink.codec", "topk", "--uplink.ratio", "0.01", "--uplink.error_feedback", "client"]
    RUNS[f"uplink/uplink_none_seed{_seed}"] = _u
    RUNS[f"uplink/uplink_topk_seed{_seed}"] = _u + _t
    RUNS[f"uplink/uplink_topk3_q4_down_seed{_seed}"] = _u + [
        "--uplink.codec", "topk", "--uplink.ratio", "0.03", "--uplink.error_feedback", "client",
        "--uplink.quantize_bits", "4", "--uplink.value_grid", "sign_magnitude",
        "--downlink.codec", "topk", "--downlink.ratio", "0.05"]


def run_fedhpc(args, np_=2):
    """Runs the binary under mpirun; raises with its output on failure."""
    cmd = [MPIEXEC, "-np", str(np_), "--oversubscribe", "--bind-to", "none", BIN] + args
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")


def make_runs(out):
    """(Re)creates every run of RUNS under ``out``; returns ``out``."""
    shutil.rmtree(out, ignore_errors=True)
    for name, extra in RUNS.items():
        path = os.path.join(out, name + ".h5")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        t = time.time()
        run_fedhpc(TINY + extra + ["--run.output", path])
        print(f"{path}: {time.time() - t:.1f} s", flush=True)
    with open(os.path.join(out, "complete"), "w") as f:
        f.write("\n".join(RUNS) + "\n")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_runs.py OUTDIR")
    make_runs(sys.argv[1])
