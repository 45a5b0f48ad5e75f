"""Integration tests: the real fedhpc binary on tiny configs, real MPI ranks,
real parallel HDF5 files (read back with h5py and compared with h5diff)."""
import glob
import gzip
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import h5py
import numpy as np

BIN = os.environ.get("FEDHPC_BIN", "build/fedhpc")
MPIEXEC = os.environ.get("FEDHPC_MPIEXEC", "mpirun")
H5DIFF = os.environ.get("FEDHPC_H5DIFF", "h5diff")
FMNIST = "/usr/share/datasets/fashion-mnist"

# A small but real run: MLP on Fashion-MNIST, 40 Dirichlet clients.
TINY = ["--data.num_clients", "40", "--server.clients_per_round", "8", "--server.rounds", "3",
        "--model.arch", "mlp", "--model.hidden", "32", "--client.batch_size", "16",
        "--run.eval_every", "2", "--run.progress", "false"]


# After a rank exits non-zero, mpirun waits odls_base_sigkill_timeout (1 s)
# before it kills the rest, about 2 s per run; a usage error ends every rank
# by itself, so those runs skip the wait (35 of them, twice per CI run).
NO_KILL_WAIT = {"OMPI_MCA_odls_base_sigkill_timeout": "0"}


def run(args, np_=1, check=True, env=None):
    """Runs fedhpc under mpirun with np_ ranks (env: extra environment);
    returns the CompletedProcess."""
    cmd = [MPIEXEC, "-np", str(np_), "--oversubscribe", "--bind-to", "none", BIN] + args
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                       env={**os.environ, **env} if env else None)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def run_direct(args):
    """Runs the binary without mpirun (MPI singleton), as a user at a shell would."""
    return subprocess.run([BIN] + args, capture_output=True, text=True, timeout=300)


def h5diff(a, b):
    return subprocess.run([H5DIFF, "--exclude-path", "/execution", a, b],
                          capture_output=True, text=True)


class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fedhpc_it_")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def out(self, name):
        return os.path.join(self.dir, name)

    def expect_usage_error(self, args, needle, np_=2):
        """args exit 2 with one fedhpc line naming needle and leave this directory as it was."""
        before = sorted(os.listdir(self.dir))
        o = self.out("never.h5")
        p = run(args + ["--run.output", o] if "--run.output" not in args else args, np_=np_, check=False,
                env=NO_KILL_WAIT)
        self.assertEqual(p.returncode, 2, str(args) + p.stdout + p.stderr)
        ours = [l for l in p.stderr.splitlines() if "fedhpc:" in l]
        self.assertEqual(len(ours), 1, p.stderr)
        self.assertIn(needle, ours[0])
        self.assertEqual(sorted(os.listdir(self.dir)), before, "no output may be left behind")
        return ours[0]

    def identical_at_np_1_2_4(self, name, args):
        """Runs args at np 1, 2 and 4 (outputs NAME1/2/4.h5); their results must be
        identical outside /execution. Returns the np-1 file."""
        outs = []
        for n in (1, 2, 4):
            o = self.out(f"{name}{n}.h5")
            run(args + ["--run.output", o], np_=n)
            outs.append(o)
        for o in outs[1:]:
            d = h5diff(outs[0], o)
            self.assertEqual(d.returncode, 0, name + d.stdout + d.stderr)
        return outs[0]


class Determinism(Tmp):
    def test_np_1_2_4_bitwise_identical(self):
        outs = []
        for n in (1, 2, 4):
            o = self.out(f"np{n}.h5")
            run(TINY + ["--run.output", o], np_=n)
            outs.append(o)
        for o in outs[1:]:
            d = h5diff(outs[0], o)
            self.assertEqual(d.returncode, 0, f"h5diff {outs[0]} {o}:\n{d.stdout}{d.stderr}")
            self.assertEqual(d.stdout.strip(), "")
        with h5py.File(outs[2]) as f:
            self.assertEqual(f["/execution"].attrs["num_ranks"], 4)
            self.assertEqual(set(f["/execution/client_rank"][:]), {0, 1, 2, 3})

    def test_omc_storage_np_1_4_identical_and_smaller(self):
        lenet = [a if a != "mlp" else "lenet5" for a in TINY]
        omc = ["--storage.codec", "int", "--storage.bits", "6",
               "--storage.weights_only", "true", "--storage.pvt", "true",
               "--storage.fp32_fraction", "0.1", "--storage.rounding", "stochastic"]
        a, b = self.out("omc1.h5"), self.out("omc4.h5")
        run(lenet + omc + ["--run.output", a], np_=1)
        run(lenet + omc + ["--run.output", b], np_=4)
        d = h5diff(a, b)
        self.assertEqual(d.returncode, 0, d.stdout + d.stderr)
        with h5py.File(a) as f:
            P = int(f.attrs["num_params"])
            self.assertEqual(P, 61706)
            r = f["/rounds"]
            self.assertLess(r["param_memory_ratio"][-1], 0.5)
            self.assertLess(r["bytes_down"][-1], 0.3 * 8 * 4 * P)
            self.assertGreater(r["test_accuracy"][-1], 0.3)
            # PPQ row blocks: rho = 0.1 honoured to within one block (600 of
            # 61,470 weights), a new subset each round.
            share = r["fp32_weight_fraction"][:]
            self.assertTrue(np.all((share <= 0.1) & (share > 0.09)), share)
            # Every client's parameter memory is its round's (the PPQ subset, and
            # with it the encoded size, changes from round to round).
            rounds = f["/clients/round"][:]
            np.testing.assert_array_equal(f["/clients/param_memory_bytes"][:], r["param_memory_bytes"][:][rounds])
            peak = f["/clients/peak_memory_bytes"][:]
            self.assertTrue(np.all(peak > f["/clients/param_memory_bytes"][:]))

    def test_uplink_codecs_np_1_2_identical_and_bytes_exact(self):
        P = 784 * 32 + 32 + 32 * 10 + 10
        for codec, extra, per_client in (
                ("topk", ["--uplink.ratio", "0.1"], None),
                ("qsgd", [], None),
                ("fp16", [], 2 * P),
                ("sign", [], 4 + (P + 7) // 8)):
            a, b = self.out(f"{codec}1.h5"), self.out(f"{codec}2.h5")
            args = TINY + ["--uplink.codec", codec] + extra
            run(args + ["--run.output", a], np_=1)
            run(args + ["--run.output", b], np_=2)
            d = h5diff(a, b)
            self.assertEqual(d.returncode, 0, codec + d.stdout + d.stderr)
            with h5py.File(a) as f:
                up = f["/clients/bytes_up"][:]
                self.assertTrue(np.all(up[f["/clients/status"][:] == 0] < 4 * P), codec)
                if per_client:
                    np.testing.assert_array_equal(up, per_client, codec)
                self.assertGreater(f["/rounds/test_accuracy"][-1], 0.3, codec)

    def test_seed_changes_results(self):
        a, b = self.out("a.h5"), self.out("b.h5")
        run(TINY + ["--run.output", a], np_=2)
        run(TINY + ["--run.output", b, "--run.seed", "2"], np_=2)
        self.assertNotEqual(h5diff(a, b).returncode, 0)


class Balance(Tmp):
    # Error-feedback residuals on 20 clients, 10 a round: moved clients carry state.
    EF = TINY[6:] + ["--data.num_clients", "20", "--server.clients_per_round", "10", "--server.rounds", "6",
                     "--uplink.codec", "topk", "--uplink.ratio", "0.05", "--uplink.error_feedback", "client",
                     "--uplink.residual", "int8", "--uplink.residual_decay", "0.9"]

    def test_moved_clients_train_with_their_state_and_change_nothing(self):
        one = self.identical_at_np_1_2_4("ef", self.EF)
        shard = self.out("shard2.h5")
        run(self.EF + ["--run.balance", "shard", "--run.output", shard], np_=2)
        self.assertEqual(h5diff(one, shard).returncode, 0)
        for n in (2, 4):
            with h5py.File(self.out(f"ef{n}.h5")) as f:
                e, c = f["/execution"], f["/clients"]
                owner = f["/execution/client_rank"][:][c["client_id"][:]]
                moved = e["client_row_rank"][:] != owner
                trained = c["status"][:] == 0
                # Rows trained away from home, as many as the ranks counted, some with a residual.
                self.assertEqual(int(moved[trained].sum()), int(e["clients_moved_in"][:].sum()), n)
                self.assertGreater(int((moved & (c["residual_age"][:] >= 0)).sum()), 0, n)
                self.assertEqual(int(e["clients_trained"][:].sum()), int(trained.sum()))
        with h5py.File(shard) as f:
            self.assertEqual(int(f["/execution/clients_moved_in"][:].sum()), 0)
            owner = f["/execution/client_rank"][:][f["/clients/client_id"][:]]
            np.testing.assert_array_equal(f["/execution/client_row_rank"][:], owner)

    def test_bad_value(self):
        self.expect_usage_error(TINY + ["--run.balance", "dynamic"], "run.balance")


class Output(Tmp):
    def test_layout_and_content(self):
        o = self.out("r.h5")
        run(TINY + ["--run.output", o, "--run.snapshot_every", "2"], np_=2)
        with h5py.File(o) as f:
            for key in ("fedhpc_version", "git_sha", "config", "seed"):
                self.assertIn(key, f.attrs)
            cfg = f.attrs["config"]
            cfg = cfg.decode() if isinstance(cfg, bytes) else cfg
            self.assertIn("[server]\nrounds = 3", cfg)
            # The binary's target and the extensions its code uses (checked at start-up).
            e = f["/execution"].attrs
            self.assertEqual(e["build_arch"], "native")  # the ci and release presets
            self.assertIn("sse4.2", e["isa"].split(","))
            # Where each rank's time went: one row per (round, rank).
            x = f["/execution"]
            np.testing.assert_array_equal(x["rank_round"][:], [0, 0, 1, 1, 2, 2])
            np.testing.assert_array_equal(x["rank"][:], [0, 1, 0, 1, 0, 1])
            phases = {k: x[k + "_seconds"][:] for k in ("train", "wait", "aggregate", "server", "eval", "write")}
            for k, v in phases.items():
                self.assertTrue(np.all(v >= 0) and np.all(np.isfinite(v)), k)
            self.assertTrue(np.all(phases["train"] > 0))
            # Evaluated in rounds 1 and 2 (eval_every 2, and the last), not in round 0.
            self.assertLess(phases["eval"][:2].max(), phases["eval"][2:].min())
            # Rank 0's phases before the write lie inside its round (round_seconds
            # is rank 0's; another rank may start a round earlier and wait longer).
            within = sum(phases[k][0::2] for k in ("train", "wait", "aggregate", "server", "eval"))
            self.assertTrue(np.all(within <= x["round_seconds"][:] + 1e-3), (within, x["round_seconds"][:]))
            r = f["/rounds"]
            np.testing.assert_array_equal(r["round"][:], [0, 1, 2])
            acc = r["test_accuracy"][:]
            self.assertTrue(np.isnan(acc[0]) and np.isfinite(acc[1]) and np.isfinite(acc[2]))
            self.assertGreater(acc[2], 0.3)  # far above chance (0.1) after 3 rounds
            np.testing.assert_array_equal(r["clients_sampled"][:], [8, 8, 8])
            P = int(f.attrs["num_params"])
            self.assertEqual(P, 784 * 32 + 32 + 32 * 10 + 10)
            np.testing.assert_array_equal(r["bytes_down"][:], 8 * 4 * P)
            np.testing.assert_array_equal(r["bytes_up"][:], r["clients_completed"][:] * 4 * P)
            c = f["/clients"]
            self.assertEqual(c["round"].shape, (24,))
            np.testing.assert_array_equal(c["round"][:], np.repeat([0, 1, 2], 8))
            for rnd in range(3):
                ids = c["client_id"][rnd * 8:(rnd + 1) * 8]
                self.assertTrue(np.all(np.diff(ids) > 0))
            self.assertTrue(np.all(c["status"][:] == 0))
            self.assertTrue(np.all(c["peak_memory_bytes"][:] > 4 * P))
            ci = f["/client_info"]
            self.assertEqual(ci["label_histogram"].shape, (40, 10))
            np.testing.assert_array_equal(ci["label_histogram"][:].sum(axis=1), ci["num_samples"][:])
            self.assertEqual(int(ci["num_samples"][:].sum()), 60000)
            # client rows carry the static sizes
            np.testing.assert_array_equal(c["num_samples"][:], ci["num_samples"][:][c["client_id"][:]])
            m = f["/model"]
            np.testing.assert_array_equal(m["round"][:], [1, 2])
            self.assertEqual(m["params"].shape, (2, P))
            self.assertFalse(np.array_equal(m["params"][0], m["params"][1]))
        self.assertFalse(os.path.exists(o + ".part"))

    def test_help_lists_options(self):
        p = run_direct(["--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("--server.rounds [100]", p.stdout)
        self.assertIn("--data.partition [dirichlet]", p.stdout)
        # docs/config.md is generated from --help and must not go stale.
        src = os.environ.get("FEDHPC_SOURCE_DIR", "../..")
        with open(os.path.join(src, "docs", "config.md")) as f:
            doc = f.read()
        for line in p.stdout.splitlines():
            if line.strip().startswith("--"):
                self.assertIn(line.strip(), doc, "docs/config.md is stale: run scripts/gen-config-doc.sh")

    def test_delta_uplink_peak_counts_received_model_and_update(self):
        # With an uplink codec a client keeps the received model and builds the
        # fp32 update it encodes: 4P + 4P more at its peak (fp32 storage).
        P = 784 * 32 + 32 + 32 * 10 + 10
        a, b = self.out("plain.h5"), self.out("fp16.h5")
        run(TINY + ["--run.output", a], np_=1)
        run(TINY + ["--uplink.codec", "fp16", "--run.output", b], np_=1)
        with h5py.File(a) as fa, h5py.File(b) as fb:
            np.testing.assert_array_equal(fa["/clients/client_id"][:], fb["/clients/client_id"][:])
            np.testing.assert_array_equal(fb["/clients/peak_memory_bytes"][:] - fa["/clients/peak_memory_bytes"][:],
                                          8 * P)

    def test_configs_parse(self):
        src = os.environ.get("FEDHPC_SOURCE_DIR", "../..")
        cfgs = sorted(f for f in os.listdir(os.path.join(src, "configs")) if f.endswith(".ini"))
        self.assertIn("default.ini", cfgs)
        for name in cfgs:
            p = run_direct(["--config", os.path.join(src, "configs", name), "--check"])
            self.assertEqual(p.returncode, 0, f"{name}: {p.stderr}")
            self.assertIn("[server]", p.stdout)


class Uplink(Tmp):
    """Error feedback, residual storage and the aggregation paths (issue 4)."""
    P = 784 * 32 + 32 + 32 * 10 + 10

    def test_error_feedback_runs_identical_at_np_1_2_4(self):
        for name, extra in (
                ("topk_ef_int8", ["--uplink.codec", "topk", "--uplink.ratio", "0.02",
                                  "--uplink.error_feedback", "client", "--uplink.residual", "int8"]),
                ("qsgd_ef_both", ["--uplink.codec", "qsgd", "--uplink.levels", "7",
                                  "--uplink.error_feedback", "both", "--uplink.residual", "fp16"]),
                ("randk_sparse_resid", ["--uplink.codec", "randk", "--uplink.ratio", "0.05",
                                        "--uplink.error_feedback", "client",
                                        "--uplink.residual", "sparse"])):
            self.identical_at_np_1_2_4(name, TINY + extra)

    def test_residual_memory_recorded_per_client_and_in_total(self):
        P = self.P
        for form, per_client in (("fp32", 4 * P), ("fp16", 2 * P),
                                 ("int8", P + 4 * ((P + 255) // 256)), ("sparse", None)):
            o = self.out(f"{form}.h5")
            run(TINY + ["--uplink.codec", "topk", "--uplink.ratio", "0.01",
                        "--uplink.error_feedback", "client", "--uplink.residual", form,
                        "--run.output", o], np_=2)
            with h5py.File(o) as f:
                c, r = f["/clients"], f["/rounds"]
                done = c["status"][:] == 0
                rb = c["residual_bytes"][:]
                if per_client:
                    np.testing.assert_array_equal(rb[done], per_client, form)
                else:  # the 10 % largest entries: 4 + 8k bytes
                    self.assertTrue(np.all(rb[done] <= 4 + 8 * round(0.1 * P)), form)
                    self.assertTrue(np.all(rb[done] > 0), form)
                # Every client trained so far holds state; the total is their sum.
                ids = c["client_id"][:]
                rounds = c["round"][:]
                for t in range(3):
                    seen = np.unique(ids[(rounds <= t) & done])
                    self.assertEqual(r["stateful_clients"][t], len(seen), form)
                last = {}
                for i in np.flatnonzero(done):
                    last[ids[i]] = rb[i]
                self.assertEqual(r["residual_bytes"][-1], sum(last.values()), form)

    def test_sparse_and_dense_paths_give_identical_results(self):
        a, b = self.out("dense.h5"), self.out("sparse.h5")
        topk = TINY + ["--uplink.codec", "topk", "--uplink.ratio", "0.01",
                       "--uplink.error_feedback", "client"]
        run(topk + ["--aggregate.path", "dense", "--run.output", a], np_=2)
        run(topk + ["--aggregate.path", "sparse", "--run.output", b], np_=2)
        for group in ("/rounds", "/clients", "/model"):  # the config attribute differs
            d = subprocess.run([H5DIFF, a, b, group], capture_output=True, text=True)
            self.assertEqual(d.returncode, 0, group + d.stdout + d.stderr)
        with h5py.File(a) as fa, h5py.File(b) as fb:
            self.assertTrue(np.all(fa["/execution/aggregate_path"][:] == 0))
            self.assertTrue(np.all(fb["/execution/aggregate_path"][:] == 1))
            nnz = fb["/execution/gathered_nnz"][:]
            # 8 clients x 1 % of P, some overlap within a rank
            self.assertTrue(np.all((nnz > 0) & (nnz <= 8 * round(0.01 * self.P))), nnz)
            self.assertTrue(np.all(fb["/execution/mpi_bytes_sent"][:] <
                                   fa["/execution/mpi_bytes_sent"][:] / 10))

    def test_sparse_path_switches_to_dense_when_support_is_large(self):
        o = self.out("wide.h5")
        run(TINY + ["--uplink.codec", "topk", "--uplink.ratio", "0.5", "--run.output", o], np_=2)
        with h5py.File(o) as f:
            self.assertTrue(np.all(f["/execution/aggregate_path"][:] == 0))
            self.assertTrue(np.all(f["/execution/gathered_nnz"][:] > 0.5 * self.P))

    def test_quantized_path_is_within_its_bound_of_dense(self):
        a, b = self.out("dense.h5"), self.out("quant.h5")
        one = [a if a != "3" else "1" for a in TINY]  # one round
        self.assertIn("1", one)
        qsgd = one + ["--uplink.codec", "qsgd", "--run.snapshot_every", "1"]
        run(qsgd + ["--aggregate.path", "dense", "--run.output", a], np_=2)
        run(qsgd + ["--run.output", b], np_=2)  # auto: quantized for qsgd
        with h5py.File(a) as fa, h5py.File(b) as fb:
            self.assertTrue(np.all(fb["/execution/aggregate_path"][:] == 2))
            ma, mb = fa["/model/params"][0], fb["/model/params"][0]
            self.assertFalse(np.array_equal(ma, mb))
            # One round of FedAvg (lr 1): the models differ by the mean of the
            # per-client grid errors, each below scale = max|w x| / floor((2^31-1)/8).
            self.assertLess(np.max(np.abs(ma - mb)), 1e-6)
            self.assertLess(fb["/execution/mpi_bytes_sent"][0], fa["/execution/mpi_bytes_sent"][0] / 3)

    def test_topk_remedies_and_residual_diagnostics(self):
        # 10 clients, 5 per round: clients come back, so residuals have ages.
        few = override(TINY, data__num_clients="10", server__clients_per_round="5", server__rounds="6")
        remedies = ["--uplink.codec", "topk", "--uplink.ratio", "0.01", "--uplink.quantize_bits", "4",
                    "--uplink.value_grid", "sign_magnitude", "--uplink.topk_scope", "layer",
                    "--uplink.warmup_rounds", "3", "--uplink.error_feedback", "client",
                    "--uplink.residual_decay", "0.8", "--uplink.residual_max_age", "2"]
        ef21 = ["--uplink.codec", "topk", "--uplink.ratio", "0.01", "--uplink.error_feedback", "ef21"]
        for name, extra in (("remedies", remedies), ("ef21", ef21)):
            with h5py.File(self.identical_at_np_1_2_4(name, few + extra)) as f:
                c, r = f["/clients"], f["/rounds"]
                done = c["status"][:] == 0
                ids, rounds, age = c["client_id"][:], c["round"][:], c["residual_age"][:]
                ratio = c["residual_norm_ratio"][:]
                last, returning = {}, 0
                for i in np.flatnonzero(done):
                    expected = rounds[i] - last[ids[i]] if ids[i] in last else -1
                    self.assertEqual(age[i], expected, (name, i))
                    returning += expected > 0
                    last[ids[i]] = rounds[i]
                self.assertGreater(returning, 5, name)
                self.assertTrue(np.all(np.isfinite(ratio[done]) & (ratio[done] > 0)), (name, ratio))
                # A first message keeps back at most the update itself (fp32 top-k values);
                # later ones carry older residuals too.
                first = done & (age == -1)
                if name == "ef21":
                    self.assertTrue(np.all(ratio[first] <= 1.0), ratio[first])
                up = r["bytes_up"][:]
                if name == "remedies":
                    # Warm-up: 25 % of every variable in round 0, 1 % from round 3.
                    self.assertGreater(up[0], 5 * up[3], up)
                    self.assertEqual(up[3], up[4], up)
                else:
                    # EF21 sends top-k of update - g: 1 % of P, fp32 values.
                    k = int(0.01 * self.P + 0.5)  # kept_count rounds half up (P = 25,450: 255)
                    self.assertEqual(up[0], 5 * (support_bytes(self.P, k) + 4 * k))

    def test_rice_coded_support_changes_bytes_only(self):
        a, b = self.out("fixed.h5"), self.out("rice.h5")
        topk = TINY + ["--uplink.codec", "topk", "--uplink.ratio", "0.02", "--uplink.error_feedback", "client"]
        run(topk + ["--run.output", a], np_=2)
        run(topk + ["--uplink.index_coding", "rice", "--run.output", b], np_=2)
        with h5py.File(a) as fa, h5py.File(b) as fb:
            np.testing.assert_array_equal(fa["/model/params"][:], fb["/model/params"][:])
            up_a, up_b = fa["/clients/bytes_up"][:], fb["/clients/bytes_up"][:]
            k = int(0.02 * self.P + 0.5)
            # fixed: 15-bit indices; rice: gaps of ~50 take ~7.5 bits
            self.assertTrue(np.all(up_a[up_a > 0] == support_bytes(self.P, k) + 4 * k))
            self.assertTrue(np.all(up_b[up_a > 0] < 4 * k + 0.6 * support_bytes(self.P, k)), up_b)

    def test_compressed_downlink_replays_missed_broadcasts(self):
        few = override(TINY, data__num_clients="10", server__clients_per_round="5", server__rounds="6")
        down = ["--downlink.codec", "topk", "--downlink.ratio", "0.02", "--downlink.quantize_bits", "8",
                "--downlink.value_grid", "sign_magnitude"]
        first = self.identical_at_np_1_2_4("down", few + down)
        k = int(0.02 * self.P + 0.5)
        with h5py.File(first) as f:
            c, r = f["/clients"], f["/rounds"]
            sizes = r["server_update_bytes"][:]
            np.testing.assert_array_equal(sizes, support_bytes(self.P, k) + 8 + k)
            ids, rounds, down = c["client_id"][:], c["round"][:], c["bytes_down"][:]
            last, replays = {}, 0
            for i in range(len(ids)):
                if ids[i] in last:
                    expected = min(int(sizes[last[ids[i]]:rounds[i]].sum()), 4 * self.P)
                    replays += expected < 4 * self.P
                else:
                    expected = 4 * self.P
                self.assertEqual(down[i], expected, i)
                last[ids[i]] = rounds[i]
            self.assertGreater(replays, 5)
            self.assertEqual(r["bytes_down"][:].sum(), down.sum())
        # The uncompressed run differs: clients train from the compressed copy.
        plain = self.out("plain.h5")
        run(few + ["--run.output", plain], np_=2)
        with h5py.File(first) as a, h5py.File(plain) as b:
            self.assertFalse(np.array_equal(a["/rounds/test_accuracy"][:], b["/rounds/test_accuracy"][:]))
            self.assertTrue(np.all(b["/clients/bytes_down"][:] == 4 * self.P))

    def test_server_error_feedback_compresses_the_global_update(self):
        o = self.out("server.h5")
        run(TINY + ["--uplink.codec", "topk", "--uplink.ratio", "0.01",
                    "--uplink.error_feedback", "server", "--run.output", o], np_=2)
        with h5py.File(o) as f:
            b = f["/rounds/server_update_bytes"][:]
            self.assertTrue(np.all((b > 0) & (b < 0.05 * 4 * self.P)), b)
            self.assertTrue(np.all(f["/rounds/residual_bytes"][:] == 0))


class BadInput(Tmp):
    def test_unknown_key(self):
        self.expect_usage_error(TINY + ["--server.roundz", "3"], "server.roundz")

    def test_unknown_key_in_file(self):
        ini = os.path.join(tempfile.gettempdir(), "fedhpc_bad.ini")
        with open(ini, "w") as f:
            f.write("[client]\nlearning_rate = 0.1\n")
        self.expect_usage_error(["--config", ini], "client.learning_rate")

    def test_bare_word(self):
        # An experiment file without --config used to be ignored (the defaults ran).
        line = self.expect_usage_error(TINY + ["configs/default.ini"], "'configs/default.ini'")
        self.assertIn("--config FILE", line)

    def test_out_of_range(self):
        line = self.expect_usage_error(TINY + ["--client.lr", "-0.1"], "client.lr")
        self.assertIn("out of range", line)

    def test_missing_dataset(self):
        self.expect_usage_error(TINY + ["--data.path", "/nonexistent/fmnist"], "data.path")

    def test_corrupt_dataset(self):
        bad = tempfile.mkdtemp(prefix="fedhpc_bad_")
        try:
            for name in os.listdir(FMNIST):
                shutil.copy(os.path.join(FMNIST, name), bad)
            victim = os.path.join(bad, "train-images-idx3-ubyte.gz")
            with gzip.open(os.path.join(FMNIST, "train-images-idx3-ubyte.gz")) as f:
                head = f.read(100000)
            with gzip.open(victim, "wb") as f:
                f.write(head)  # valid gzip, truncated IDX
            line = self.expect_usage_error(TINY + ["--data.path", bad], "train-images-idx3-ubyte.gz")
            self.assertIn("data.path", line)
        finally:
            shutil.rmtree(bad, ignore_errors=True)

    def test_output_directory_missing(self):
        o = os.path.join(self.dir, "missing", "r.h5")
        p = run(TINY + ["--run.output", o], np_=1, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("run.output", p.stderr)
        self.assertEqual(os.listdir(self.dir), [])

    def test_storage_ppq_granularity(self):
        self.expect_usage_error(TINY + ["--storage.ppq_granularity", "blocks"], "storage.ppq_granularity")
        # Row blocks under a pruning mask: kept-value bytes would depend on where they fall.
        omc = ["--storage.codec", "int", "--storage.fp32_fraction", "0.1"]
        self.expect_usage_error(TINY + omc + ["--prune.method", "magnitude"], "storage.ppq_granularity")

    def test_error_feedback_needs_a_codec(self):
        self.expect_usage_error(TINY + ["--uplink.error_feedback", "client"], "uplink.error_feedback")
        topk = TINY + ["--uplink.codec", "topk"]
        self.expect_usage_error(topk + ["--uplink.value_grid", "sign_magnitude"], "uplink.value_grid")
        self.expect_usage_error(topk + ["--uplink.value_grid", "sign_magnitude", "--uplink.quantize_bits", "1"],
                                "uplink.value_grid")
        self.expect_usage_error(TINY + ["--uplink.codec", "randk", "--uplink.topk_scope", "layer"],
                                "uplink.topk_scope")
        self.expect_usage_error(TINY + ["--uplink.codec", "qsgd", "--uplink.warmup_rounds", "5"],
                                "uplink.warmup_rounds")
        self.expect_usage_error(topk + ["--uplink.residual_decay", "0.5"], "uplink.residual_decay")
        self.expect_usage_error(topk + ["--uplink.error_feedback", "ef21", "--uplink.residual_max_age", "3"],
                                "uplink.residual_max_age")
        self.expect_usage_error(topk + ["--uplink.residual_decay", "1.5"], "uplink.residual_decay")
        self.expect_usage_error(TINY + ["--uplink.codec", "qsgd", "--uplink.index_coding", "rice"],
                                "uplink.index_coding")
        self.expect_usage_error(topk + ["--uplink.index_coding", "golomb"], "uplink.index_coding")
        self.expect_usage_error(TINY + ["--downlink.codec", "zip"], "downlink.codec")
        self.expect_usage_error(TINY + ["--downlink.codec", "topk", "--storage.codec", "int"], "downlink.codec")
        self.expect_usage_error(TINY + ["--downlink.codec", "topk", "--prune.method", "magnitude"], "downlink.codec")
        self.expect_usage_error(TINY + ["--downlink.codec", "topk", "--downlink.value_grid", "sign_magnitude"],
                                "downlink.value_grid")
        self.expect_usage_error(TINY + ["--downlink.ratio", "0"], "downlink.ratio")
        self.expect_usage_error(TINY + ["--uplink.codec", "topk", "--uplink.residual", "int4"],
                                "uplink.residual")
        self.expect_usage_error(TINY + ["--aggregate.path", "ring"], "aggregate.path")
        self.expect_usage_error(TINY + ["--aggregate.dense_threshold", "-1"], "aggregate.dense_threshold")
        self.expect_usage_error(TINY + ["--uplink.residual_ratio", "0"], "uplink.residual_ratio")

    def test_uplink_with_encoded_model_uplink_is_rejected(self):
        self.expect_usage_error(TINY + ["--uplink.codec", "topk", "--storage.codec", "int"],
                                "uplink.codec")
        self.expect_usage_error(TINY + ["--uplink.ratio", "0"], "uplink.ratio")

    def test_checkpoint_directory_missing(self):
        line = self.expect_usage_error(TINY + ["--run.checkpoint", "/nonexistent/dir/x.ckpt"],
                                       "run.checkpoint")
        self.assertIn("does not exist", line)

    def test_existing_output_is_kept(self):
        o = self.out("keep.h5")
        with open(o, "wb") as f:
            f.write(b"precious")
        p = run(TINY + ["--run.output", o], np_=2, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("already exists", p.stderr)
        with open(o, "rb") as f:
            self.assertEqual(f.read(), b"precious")
        run(TINY + ["--run.output", o, "--run.overwrite", "true"], np_=2)
        with h5py.File(o) as f:
            self.assertEqual(f["/rounds/round"].shape, (3,))
        self.assertEqual(sorted(os.listdir(self.dir)), ["keep.h5"])

    def test_singleton_error_is_one_line(self):
        p = run_direct(TINY + ["--model.arch", "resnet", "--run.output", self.out("x.h5")])
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn("model.arch", p.stderr)


# Residuals that dominate a rank's memory: an MLP of 3.6 M parameters (fp32
# residual 14.3 MB per client), 300 Fashion-MNIST clients all sampled in round 1
# under top-1 % with client error feedback: 4.3 GB of residuals by the round's end.
BIG_RESIDUALS = ["--data.num_clients", "300", "--server.clients_per_round", "300", "--server.rounds", "1",
                 "--model.arch", "mlp", "--model.hidden", "2000,1000", "--client.batch_size", "16",
                 "--client.steps", "1", "--uplink.codec", "topk", "--uplink.ratio", "0.01",
                 "--uplink.error_feedback", "client", "--uplink.residual", "fp32", "--run.progress", "false",
                 # A client's peak (72 MB: parameters, gradients, the received model, the
                 # update and its residual) must fit its budget, or no client trains.
                 "--client.budget_mb", "128"]


def limited(limit_bytes, args):
    """The binary as an MPI singleton under an address-space limit (ulimit -v)."""
    return subprocess.run(["prlimit", f"--as={limit_bytes}", BIN] + args,
                          capture_output=True, text=True, timeout=300)


class Memory(Tmp):
    """The memory estimate before allocating, and allocation failures (docs/cluster.md, 'Memory')."""

    def test_estimate_is_recorded_and_honest(self):
        # Residuals dominate (2,000 stateful clients of 247 KB): the recorded
        # estimate must cover the measured peak less the process's base.
        o = self.out("est.h5")
        run(["--data.source", "synthetic", "--data.num_clients", "2000", "--data.synthetic_test_size", "1000",
             "--server.clients_per_round", "2000", "--server.rounds", "1", "--model.arch", "mlp",
             "--model.hidden", "300,140", "--client.steps", "1", "--uplink.codec", "topk", "--uplink.ratio", "0.01",
             "--uplink.error_feedback", "client", "--uplink.residual", "fp32", "--run.progress", "false",
             "--run.output", o], np_=2)
        with h5py.File(o) as f:
            est = int(f["/execution"].attrs["memory_estimate_bytes"])
            terms = f["/execution"].attrs["memory_estimate"]
            terms = terms.decode() if isinstance(terms, bytes) else terms
            peak = int(f["/execution/peak_rss_bytes"][-1])  # summed over the 2 ranks
        self.assertIn("error-feedback residuals of the", terms)
        self.assertIn("up to 8 clients of other ranks trained here", terms)  # run.balance = round
        residuals = 2000 * (61850 * 4 + 16) / 2  # per rank, at least
        self.assertGreater(est, residuals)
        self.assertLess(est, 1.3 * residuals)
        # Both ranks together: the estimates plus at most 200 MB of base each.
        self.assertGreater(peak, 1.6 * residuals)
        self.assertLess(peak, 2 * est + 2 * 200e6, terms)

    def test_refused_under_address_space_limit(self):
        before = sorted(os.listdir(self.dir))
        p = limited(1_500_000_000, BIG_RESIDUALS + ["--run.output", self.out("never.h5")])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        ours = [l for l in p.stderr.splitlines() if "fedhpc:" in l]
        self.assertEqual(len(ours), 1, p.stderr)
        for needle in ("run.memory_check", "address-space limit", "error-feedback residuals of the 300",
                       "uplink.residual"):
            self.assertIn(needle, ours[0])
        self.assertEqual(sorted(os.listdir(self.dir)), before, "no output may be left behind")

    def test_refused_under_node_cgroup_limit(self):
        # A memory cgroup, as Slurm's --mem makes one: the 2 ranks of this node together.
        group = None
        for root, limit in (("/sys/fs/cgroup/memory", "memory.limit_in_bytes"), ("/sys/fs/cgroup", "memory.max")):
            if os.access(os.path.join(root, limit), os.F_OK) or os.access(os.path.join(root, "cgroup.procs"), os.W_OK):
                cand = os.path.join(root, f"fedhpc_test_{os.getpid()}")
                try:
                    os.mkdir(cand)
                    with open(os.path.join(cand, limit), "w") as f:
                        f.write(str(1_500_000_000))
                    group = cand
                    break
                except OSError:
                    if os.path.isdir(cand):
                        os.rmdir(cand)
        if group is None:
            self.skipTest("no writable memory cgroup (needs root and cgroup v1 memory or v2 with +memory)")
        try:
            def enter():
                with open(os.path.join(group, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
            before = sorted(os.listdir(self.dir))
            cmd = [MPIEXEC, "-np", "2", "--bind-to", "none", BIN] + BIG_RESIDUALS + [
                "--run.output", self.out("never.h5")]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, preexec_fn=enter)
            self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
            ours = [l for l in p.stderr.splitlines() if "fedhpc:" in l]
            self.assertEqual(len(ours), 1, p.stderr)
            for needle in ("run.memory_check", "the 2 rank(s) on this node", "the memory cgroup " + group,
                           "error-feedback residuals of the", "uplink.residual"):
                self.assertIn(needle, ours[0])
            self.assertEqual(sorted(os.listdir(self.dir)), before, "no output may be left behind")
        finally:
            for _ in range(50):  # the cgroup empties once its processes are reaped
                try:
                    os.rmdir(group)
                    break
                except OSError:
                    time.sleep(0.1)

    def test_allocation_failure_names_what(self):
        # With the check off, the residuals outgrow the limit mid-round.
        o = self.out("oom.h5")
        p = limited(1_500_000_000, BIG_RESIDUALS + ["--run.output", o, "--run.memory_check", "false"])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        ours = [l for l in p.stderr.splitlines() if "fedhpc:" in l]
        self.assertEqual(len(ours), 1, p.stderr)
        self.assertRegex(ours[0], r"out of memory allocating the error-feedback residual of client \d+ "
                                  r"\(this rank holds \d+ residuals, [0-9.]+ [MG]B\) \(14\.3 MB\); "
                                  r"this rank's resident memory is [0-9.]+ [MG]B")
        self.assertNotIn("std::bad_alloc", p.stderr)
        self.assertFalse(os.path.exists(o) or os.path.exists(o + ".part"), os.listdir(self.dir))


class Datasets(Tmp):
    def test_synthetic_many_clients(self):
        o = self.out("syn.h5")
        run(["--data.source", "synthetic", "--data.num_clients", "20000",
             "--server.clients_per_round", "20", "--server.rounds", "2", "--model.arch", "mlp",
             "--model.hidden", "16", "--data.synthetic_test_size", "1000",
             "--run.progress", "false", "--run.output", o], np_=2)
        with h5py.File(o) as f:
            self.assertEqual(f["/client_info/num_samples"].shape, (20000,))
            self.assertTrue(np.all(f["/client_info/num_samples"][:] >= 50))
            self.assertTrue(np.isfinite(f["/rounds/test_accuracy"][1]))

    def test_hdf5_natural_layout(self):
        path = self.out("natural.h5")
        rng = np.random.default_rng(0)
        with h5py.File(path, "w") as f:
            for k in range(12):
                n = 20 + k
                g = f.create_group(f"clients/{k:04d}")
                y = rng.integers(0, 3, n)
                g["x"] = (rng.normal(size=(n, 5)) + 3 * y[:, None]).astype(np.float32)
                g["y"] = y.astype(np.int64)
            y = rng.integers(0, 3, 300)
            f["test/x"] = (rng.normal(size=(300, 5)) + 3 * y[:, None]).astype(np.float32)
            f["test/y"] = y.astype(np.int64)
        o = self.out("nat_out.h5")
        run(["--data.source", "hdf5", "--data.path", path, "--data.num_clients", "12",
             "--server.clients_per_round", "6", "--server.rounds", "10", "--model.arch", "mlp",
             "--model.hidden", "8", "--client.lr", "0.1", "--run.progress", "false",
             "--run.output", o], np_=2)
        with h5py.File(o) as f:
            np.testing.assert_array_equal(f["/client_info/num_samples"][:], 20 + np.arange(12))
            self.assertGreater(f["/rounds/test_accuracy"][-1], 0.6)
        p = run(["--data.source", "hdf5", "--data.path", path, "--data.num_clients", "11",
                 "--server.clients_per_round", "6", "--run.output", self.out("x.h5")], check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("data.num_clients", p.stderr)


class Clients(Tmp):
    def test_shard_balances_the_modelled_cost(self):
        # Very unequal clients (quantity skew, sigma 3). With a fixed number of
        # local steps every client costs the same: 6 per rank, whatever their
        # sizes; with epochs the cost follows the samples (LPT by samples).
        base = ["--data.num_clients", "12", "--data.partition", "quantity", "--data.quantity_sigma", "3",
                "--server.clients_per_round", "4", "--server.rounds", "1", "--model.arch", "mlp",
                "--model.hidden", "32", "--run.progress", "false"]
        per_rank = {}
        for mode, extra in (("steps", ["--client.steps", "2"]), ("epochs", ["--client.epochs", "1"])):
            o = self.out(mode + ".h5")
            run(base + extra + ["--run.output", o], np_=2)
            with h5py.File(o) as f:
                owner = f["/execution/client_rank"][:]
                sizes = f["/client_info/num_samples"][:]
            per_rank[mode] = (np.bincount(owner, minlength=2), [int(sizes[owner == r].sum()) for r in range(2)])
        np.testing.assert_array_equal(per_rank["steps"][0], [6, 6])
        counts, samples = per_rank["epochs"]
        self.assertNotEqual(counts[0], counts[1])  # the largest clients sit alone
        self.assertLess(abs(samples[0] - samples[1]), max(samples) * 0.5)

    def test_budget_dropout_and_server_optimizers(self):
        o = self.out("budget.h5")
        # Budgets uniform in [0.1, 0.4] MiB; the MLP step needs ~0.2 MiB: some are skipped.
        run(TINY + ["--client.budget", "uniform", "--client.budget_min_mb", "0.1",
                    "--client.budget_max_mb", "0.4", "--client.dropout", "0.25",
                    "--server.optimizer", "fedadam", "--server.lr", "0.01",
                    "--run.output", o], np_=2)
        with h5py.File(o) as f:
            c, r = f["/clients"], f["/rounds"]
            status = c["status"][:]
            over = c["peak_memory_bytes"][:] > c["memory_budget_bytes"][:]
            np.testing.assert_array_equal(status == 2, over)
            self.assertTrue(0 < over.sum() < len(over), "budgets should split the clients")
            self.assertTrue(np.any(status == 1), "some clients should drop out")
            np.testing.assert_array_equal(r["clients_completed"][:],
                                          [(status[i * 8:(i + 1) * 8] == 0).sum() for i in range(3)])
            np.testing.assert_array_equal(c["bytes_up"][:][status != 0], 0)
            self.assertTrue(np.all(np.isnan(c["train_loss"][:][status != 0])))
            self.assertTrue(np.all(np.isfinite(c["train_loss"][:][status == 0])))


# A run long enough to be stopped part-way (MLP rounds take ~30 ms).
LONG = ["--data.num_clients", "40", "--server.clients_per_round", "8", "--server.rounds", "60",
        "--model.arch", "mlp", "--model.hidden", "32", "--run.eval_every", "5",
        "--server.optimizer", "fedadam", "--server.lr", "0.01"]


class Checkpoint(Tmp):
    """Stop (SIGUSR1, SIGTERM, kill -9) and --resume give the uninterrupted results."""

    @classmethod
    def setUpClass(cls):
        cls.refdir = tempfile.mkdtemp(prefix="fedhpc_ref_")
        cls.ref = os.path.join(cls.refdir, "ref.h5")
        run(LONG + ["--run.progress", "false", "--run.output", cls.ref], np_=2)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.refdir, ignore_errors=True)

    def start(self, out, np_=2, extra=()):
        cmd = [MPIEXEC, "-np", str(np_), "--oversubscribe", "--bind-to", "none", BIN] + LONG + \
              ["--run.output", out] + list(extra)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        # Wait until a few rounds are done, so the stop lands mid-run.
        for line in p.stdout:
            if line.startswith("round") and int(line.split()[1].split("/")[0]) >= 4:
                return p
        _, err = p.communicate()
        self.fail("run ended before round 4: " + err)

    def finish(self, p):
        out, err = p.communicate(timeout=300)
        return p.returncode, err

    def resume_and_compare(self, out, np_):
        r = run(LONG + ["--run.progress", "false", "--run.output", out, "--resume"], np_=np_)
        d = h5diff(self.ref, out)
        self.assertEqual(d.returncode, 0, d.stdout + d.stderr)
        self.assertFalse(os.path.exists(out + ".ckpt"), "checkpoint removed after completion")
        self.assertFalse(os.path.exists(out + ".part"))
        return r

    def test_sigusr1_via_mpirun_then_resume_at_np4(self):
        o = self.out("usr1.h5")
        p = self.start(o)
        os.kill(p.pid, signal.SIGUSR1)  # mpirun forwards SIGUSR1 to every rank
        code, err = self.finish(p)
        self.assertEqual(code, 3, err)
        self.assertIn("checkpoint written", err)
        self.assertTrue(os.path.exists(o + ".ckpt"))
        self.assertFalse(os.path.exists(o), "no results file before the run completes")
        self.resume_and_compare(o, 4)
        # The per-rank rows: 2 per round before the stop, 4 after, none twice.
        with h5py.File(o) as f:
            x = f["/execution"]
            rounds = int(f.attrs["rounds"])
            rr, rank = x["rank_round"][:], x["rank"][:]
        n2 = int(np.sum(np.bincount(rr) == 2))
        np.testing.assert_array_equal(np.bincount(rr), [2] * n2 + [4] * (rounds - n2))
        self.assertGreater(n2, 3)
        np.testing.assert_array_equal(rank, np.concatenate([np.tile([0, 1], n2), np.tile([0, 1, 2, 3], rounds - n2)]))

    def test_sigterm_to_ranks_then_resume_at_np1(self):
        o = self.out("term.h5")
        p = self.start(o)
        # As Slurm does at a time limit: SIGTERM to the application processes.
        kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
        self.assertTrue(kids)
        for k in kids:
            os.kill(int(k), signal.SIGTERM)
        code, err = self.finish(p)
        self.assertEqual(code, 3, err)
        self.resume_and_compare(o, 1)

    def test_kill9_then_resume_from_periodic_checkpoint(self):
        o = self.out("k9.h5")
        p = self.start(o, extra=["--run.checkpoint_every", "3"])
        time.sleep(0.3)
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        self.assertTrue(os.path.exists(o + ".ckpt"))
        self.resume_and_compare(o, 2)

    def test_error_feedback_state_resumes_at_other_rank_counts(self):
        # Decay by age: the resumed run needs every residual's round back.
        ef = ["--uplink.codec", "topk", "--uplink.ratio", "0.05", "--uplink.error_feedback", "both",
              "--uplink.residual", "int8", "--uplink.residual_decay", "0.9"]
        ref = self.out("ef_ref.h5")
        run(LONG + ef + ["--run.progress", "false", "--run.output", ref], np_=2)
        for np_resume in (4, 1):
            o = self.out(f"ef{np_resume}.h5")
            p = self.start(o, extra=ef)
            os.kill(p.pid, signal.SIGUSR1)
            code, err = self.finish(p)
            self.assertEqual(code, 3, err)
            with h5py.File(o + ".ckpt") as f:
                n = int(f.attrs["residual_entries"])
                self.assertGreater(n, 8)
                self.assertEqual(f["/residual/blob"].shape[0], int(f.attrs["residual_bytes"]))
                self.assertTrue(np.any(f["/server_residual"][:] != 0))
            if np_resume == 1:
                # A flipped residual byte is caught by its checksum, nothing is changed.
                with h5py.File(o + ".ckpt", "r+") as f:
                    f["/residual/blob"][100] ^= 0xFF
                q = run(LONG + ef + ["--run.output", o, "--resume"], np_=1, check=False)
                self.assertEqual(q.returncode, 2, q.stderr)
                self.assertIn("checksum mismatch", q.stderr)
                with h5py.File(o + ".ckpt", "r+") as f:
                    f["/residual/blob"][100] ^= 0xFF
                # Forged index entries (not covered by the checksum of the counts) are
                # refused before anything is read or allocated: an offset whose sum with
                # the size overflows int64, and a size no residual of this model has.
                with h5py.File(o + ".ckpt") as f:
                    total = int(f.attrs["residual_bytes"])
                    offset0, size0 = int(f["/residual/offset"][0]), int(f["/residual/size"][0])
                for name, value, original in (("offset", 2**63 - 50, offset0), ("size", total, size0)):
                    with h5py.File(o + ".ckpt", "r+") as f:
                        f[f"/residual/{name}"][0] = value
                    q = run(LONG + ef + ["--run.output", o, "--resume"], np_=1, check=False)
                    self.assertEqual(q.returncode, 2, name + q.stderr)
                    self.assertIn("residual entry 0 is out of range", q.stderr)
                    with h5py.File(o + ".ckpt", "r+") as f:
                        f[f"/residual/{name}"][0] = original
            run(LONG + ef + ["--run.progress", "false", "--run.output", o, "--resume"], np_=np_resume)
            d = h5diff(ref, o)
            self.assertEqual(d.returncode, 0, d.stdout + d.stderr)

    def stop_resume_compare(self, extra, name, np_resume, check_checkpoint):
        """Runs LONG + extra uninterrupted at np 2 and again stopped by SIGUSR1
        (check_checkpoint(h5 file) on its checkpoint), resumed at np_resume:
        the two results files must be identical; returns the resumed file."""
        ref = self.out(f"{name}_ref.h5")
        run(LONG + extra + ["--run.progress", "false", "--run.output", ref], np_=2)
        o = self.out(f"{name}.h5")
        p = self.start(o, extra=extra)
        os.kill(p.pid, signal.SIGUSR1)
        code, err = self.finish(p)
        self.assertEqual(code, 3, err)
        with h5py.File(o + ".ckpt") as f:
            check_checkpoint(f)
        run(LONG + extra + ["--run.progress", "false", "--run.output", o, "--resume"], np_=np_resume)
        d = h5diff(ref, o)
        self.assertEqual(d.returncode, 0, d.stdout + d.stderr)
        return o

    def test_pruning_mask_resumes_at_another_rank_count(self):
        pr = ["--prune.method", "feddip", "--prune.mode", "dpf_server", "--prune.sparsity", "0.8",
              "--prune.interval", "3"]

        def mask_saved(f):
            self.assertIn("mask", f.attrs["state"].split(";"))
            self.assertLess(f["/mask"][:].mean(), 0.9)
        self.stop_resume_compare(pr, "prune", 3, mask_saved)

    def test_zo_under_an_ntk_mask_resumes_at_another_rank_count(self):
        zo = ["--client.trainer", "zo", "--zo.directions", "4",  # LONG: fedadam, as BAFFLE
              "--prune.method", "ntk", "--prune.sparsity", "0.8", "--prune.ntk_iterations", "2"]
        o = self.stop_resume_compare(zo, "zo", 3, lambda f: self.assertIn("mask", f.attrs["state"].split(";")))
        with h5py.File(o) as f:
            self.assertEqual(f["/ntk/trace"].shape, (2,))  # the phase ran once, before round 0

    def test_a_failing_rank_ends_the_job_and_keeps_the_checkpoint_and_the_old_results(self):
        """FEDHPC_FAULT makes rank 1 throw in round 8: every rank ends within
        seconds, exit 1, one fedhpc line; the good results file that was there
        is untouched; the last checkpoint resumes to the uninterrupted run."""
        o = self.out("fault.h5")
        shutil.copy(self.ref, o)  # a complete results file from an earlier run
        with open(o, "rb") as f:
            before = f.read()
        env = dict(os.environ, FEDHPC_FAULT="1:8")
        cmd = [MPIEXEC, "-np", "2", "--bind-to", "none", BIN] + LONG + \
              ["--run.progress", "false", "--run.checkpoint_every", "3", "--run.overwrite", "true", "--run.output", o]
        t = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        elapsed = time.time() - t
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertLess(elapsed, 60)
        ours = [l for l in p.stderr.splitlines() if "fedhpc:" in l]
        self.assertEqual(len(ours), 1, p.stderr)
        self.assertIn("injected fault (FEDHPC_FAULT) on rank 1 at the start of round 8", ours[0])
        with open(o, "rb") as f:
            self.assertEqual(f.read(), before, "the earlier results file was changed")
        self.assertFalse(os.path.exists(o + ".part"))
        with h5py.File(o + ".ckpt") as f:
            self.assertEqual(int(f.attrs["next_round"]), 6)  # the checkpoint after round 5
        run(LONG + ["--run.progress", "false", "--run.overwrite", "true", "--run.output", o, "--resume"], np_=3)
        d = h5diff(self.ref, o)
        self.assertEqual(d.returncode, 0, d.stdout + d.stderr)
        # A malformed switch is a usage error naming it.
        q = subprocess.run([MPIEXEC, "-np", "1", BIN] + TINY + ["--run.output", self.out("x.h5")],
                           capture_output=True, text=True, timeout=120, env=dict(os.environ, FEDHPC_FAULT="one"))
        self.assertEqual(q.returncode, 2, q.stderr)
        self.assertIn("FEDHPC_FAULT", q.stderr)

    def test_files_reach_the_disk_before_and_after_their_renames(self):
        """Every rename of a checkpoint, its results copy and the results file
        follows an fsync of the renamed file and is followed by an fsync of
        its directory (strace of the real run)."""
        o = self.out("durable.h5")
        log = self.out("strace.log")
        # -ff: one trace file per thread (log.TID), so no call is split across lines by another thread's.
        cmd = ["strace", "-ff", "-qq", "-e", "trace=openat,fsync,rename,renameat,renameat2", "-o", log,
               MPIEXEC, "-np", "1", "--bind-to", "none", BIN] + TINY + \
              ["--run.checkpoint_every", "1", "--run.output", o]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        opened, renames, events = {}, [], []  # (pid, fd) -> path; per pid: fsync paths and renames in order
        pat_open = re.compile(r'^openat\(AT_FDCWD, "([^"]+)", ([^)]*)\) = (\d+)')
        pat_sync = re.compile(r"^fsync\((\d+)\)\s+= 0")
        pat_ren = re.compile(r'^rename(?:at2?)?\((?:AT_FDCWD, )?"([^"]+)", (?:AT_FDCWD, )?"([^"]+)"')
        for path in sorted(glob.glob(log + ".*")):
            tid = path.rsplit(".", 1)[1]  # fds are per process; the calls below are one thread's
            with open(path) as f:
                for line in f:
                    if m := pat_open.match(line):
                        opened[(tid, m[3])] = m[1]
                    elif m := pat_sync.match(line):
                        events.append((tid, "sync", opened.get((tid, m[1]), "?")))
                    elif m := pat_ren.match(line):
                        events.append((tid, "rename", (m[1], m[2])))
                        renames.append((m[1], m[2]))
        targets = {os.path.basename(t) for _, t in renames}
        self.assertEqual(targets, {"durable.h5", "durable.h5.ckpt", "durable.h5.ckpt.results"})
        for i, (pid, kind, what) in enumerate(events):
            if kind != "rename":
                continue
            src, dst = what
            before = [e[2] for e in events[:i] if e[0] == pid and e[1] == "sync"]
            after = [e[2] for e in events[i + 1:] if e[0] == pid and e[1] == "sync"]
            self.assertTrue(before and before[-1] == src, f"{src} not synced before its rename: {before[-3:]}")
            self.assertTrue(after and os.path.realpath(after[0]) == os.path.realpath(os.path.dirname(dst)),
                            f"directory of {dst} not synced after the rename: {after[:2]}")

    def test_refusals_leave_checkpoint_untouched(self):
        o = self.out("bad.h5")
        p = self.start(o)
        os.kill(p.pid, signal.SIGUSR1)
        self.assertEqual(self.finish(p)[0], 3)
        ck = o + ".ckpt"
        with open(ck, "rb") as f:
            original = f.read()
        # A fresh start would destroy the checkpoint: refused.
        q = run(LONG + ["--run.output", o], check=False)
        self.assertEqual(q.returncode, 2)
        self.assertIn("--resume", q.stderr)
        # Another configuration: refused, naming the differing keys.
        q = run(LONG + ["--run.output", o, "--resume", "--client.lr", "0.2", "--run.seed", "9"],
                check=False)
        self.assertEqual(q.returncode, 2)
        self.assertIn("client.lr (checkpoint 0.05, now 0.2)", q.stderr)
        self.assertIn("run.seed", q.stderr)
        # Truncated checkpoint: refused with a clear message, file left as it was.
        with open(ck, "wb") as f:
            f.write(original[: len(original) // 2])
        q = run(LONG + ["--run.output", o, "--resume"], check=False)
        self.assertEqual(q.returncode, 2, q.stderr)
        self.assertIn("not a usable checkpoint", q.stderr)
        with open(ck, "rb") as f:
            self.assertEqual(len(f.read()), len(original) // 2)
        # Restored: the run resumes and completes.
        with open(ck, "wb") as f:
            f.write(original)
        self.resume_and_compare(o, 2)

    def test_disk_full_keeps_last_checkpoint(self):
        disk = os.path.join(self.dir, "small")
        os.mkdir(disk)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1500k", "tmpfs", disk]).returncode:
            self.skipTest("cannot mount a tmpfs here (needs root)")
        try:
            o = os.path.join(disk, "full.h5")
            extra = ["--run.snapshot_every", "1", "--run.checkpoint_every", "2", "--run.progress", "false"]
            p = run(LONG + ["--run.output", o] + extra, np_=2, check=False)
            self.assertNotIn(p.returncode, (0, 2, 3), p.stderr)
            ours = [l for l in p.stderr.splitlines() if "fedhpc:" in l]
            self.assertTrue(ours and disk in ours[0], p.stderr)
            self.assertFalse(os.path.exists(o + ".part"), "partial results removed")
            self.assertTrue(os.path.exists(o + ".ckpt"), "the last good checkpoint survives")
            # Move the checkpoint to a disk with room and finish the run there.
            big = self.out("big.h5")
            shutil.copy(o + ".ckpt", big + ".ckpt")
            shutil.copy(o + ".ckpt.results", big + ".ckpt.results")
        finally:
            subprocess.run(["umount", disk])
        ref = self.out("ref_snap.h5")
        run(LONG + ["--run.output", ref] + extra, np_=2)
        run(LONG + ["--run.output", big, "--resume"] + extra, np_=2)
        d = h5diff(ref, big)
        self.assertEqual(d.returncode, 0, d.stdout + d.stderr)


if __name__ == "__main__":
    unittest.main()


def support_bytes(n, k):
    """compress::support_bytes: k indices at bit_width(n-1) bits, or an n-bit mask."""
    ib = max(1, (n - 1).bit_length())
    return min((k * ib + 7) // 8, (n + 7) // 8)


class Prune(Tmp):
    """[prune]: FedDIP and its baselines from the CLI, visible in the results file."""
    BASE = TINY[:] + ["--prune.interval", "2", "--prune.sparsity", "0.8"]

    def args(self, *extra):
        a = [x for x in self.BASE]
        a[a.index("--server.rounds") + 1] = "6"
        return a + list(extra)

    def test_feddip_np_1_2_4_identical_sparse_and_bytes_exact(self):
        outs = []
        for n in (1, 2, 4):
            o = self.out(f"fd{n}.h5")
            run(self.args("--prune.method", "feddip", "--run.output", o), np_=n)
            outs.append(o)
        for o in outs[1:]:
            d = h5diff(outs[0], o)
            self.assertEqual(d.returncode, 0, d.stdout + d.stderr)
        with h5py.File(outs[0]) as f:
            r = f["/rounds"]
            dens = r["density"][:]
            self.assertTrue(np.all(np.diff(dens) <= 0), dens)  # code mode: nothing regrows
            self.assertLess(dens[-1], 0.3)
            self.assertGreater(r["lambda"][-1], 0.0)
            mask = f["/model/mask"][-1]
            params = f["/model/params"][-1]
            self.assertTrue(np.all(params[mask == 0] == 0), "the server model is zero where pruned")
            P, k = mask.size, int(mask.sum())
            self.assertAlmostEqual(k / P, dens[-1])
            for name in f["/prune/layer_density"]:
                self.assertLessEqual(f["/prune/layer_density"][name][-1], 1.0)
            # Sparse from round 0: the stage's start applies the initial ERK mask.
            c_ = f["/clients"]
            sent0 = c_["bytes_down"][c_["round"][:] == 0]
            self.assertTrue(np.all(sent0 < 0.7 * 4 * P), sent0)
            # The last round's downlink: support + 4 bytes per kept value, per client
            # (the mask in effect during that round is the one before its re-pruning:
            # interval 2 re-prunes after round 4, not after round 5).
            c = f["/clients"]
            last = c["round"][:] == 5
            sent = c["bytes_down"][last]
            self.assertTrue(np.all((sent == 0) | (sent == support_bytes(P, k) + 4 * k)), (sent, P, k))
            up = c["bytes_up"][last][c["status"][last] == 0]
            self.assertTrue(np.all(up == 4 * k), up)
            self.assertLess(r["bytes_down"][-1], 0.5 * 4 * P * r["clients_sampled"][-1])

    def test_dpf_server_and_snip_identical_at_np_1_3(self):
        for method, mode in (("feddip", "dpf_server"), ("snip", "code"), ("random", "code")):
            a, b = self.out(f"{method}1.h5"), self.out(f"{method}3.h5")
            extra = ["--prune.method", method, "--prune.mode", mode]
            run(self.args(*extra, "--run.output", a), np_=1)
            run(self.args(*extra, "--run.output", b), np_=3)
            d = h5diff(a, b)
            self.assertEqual(d.returncode, 0, method + d.stdout + d.stderr)
            with h5py.File(a) as f:
                dens = f["/rounds/density"][:]
                if method == "feddip":
                    up = f["/clients/bytes_up"][:][f["/clients/status"][:] == 0]
                    self.assertTrue(np.all(up == 4 * f.attrs["num_params"]), "dpf_server: dense uplink")
                    # The snapshot is the published model w ⊙ m, not the dense server model.
                    mask, params = f["/model/mask"][-1], f["/model/params"][-1]
                    self.assertTrue(np.all(params[mask == 0] == 0))
                else:
                    self.assertTrue(np.all(dens == dens[0]), "a one-shot mask stays")
                    self.assertAlmostEqual(f["/rounds/weight_sparsity"][0], 0.8, places=3)

    def test_ntk_foresight_np_1_2_4_identical_with_its_record(self):
        outs = []
        for n in (1, 2, 4):
            o = self.out(f"ntk{n}.h5")
            run(self.args("--prune.method", "ntk", "--prune.ntk_iterations", "3", "--prune.ntk_resamples", "2",
                          "--run.output", o), np_=n)
            outs.append(o)
        for o in outs[1:]:
            d = h5diff(outs[0], o)
            self.assertEqual(d.returncode, 0, d.stdout + d.stderr)
        with h5py.File(outs[0]) as f:
            ntk = f["/ntk"]
            self.assertEqual(ntk["trace"].shape, (3,))
            self.assertTrue(np.all(ntk["trace"][:] > 0))
            self.assertTrue(np.all(ntk["clients"][:] == 8))  # every sampled client contributed
            dens = ntk["density"][:]
            np.testing.assert_allclose(dens, 0.2 ** (np.arange(1, 4) / 3), atol=0.01)
            self.assertEqual(sorted(ntk["layer_density"]), ["fc1.weight", "fc2.weight"])
            # The mask is fixed through the rounds: the final density, at the run's own init.
            self.assertTrue(np.all(f["/rounds/density"][:] == f["/rounds/density"][0]))
            mask = f["/model/mask"][-1]
            self.assertEqual(f["/model/params"][-1][mask == 0].max(initial=0), 0)
        # Data-dependent scores give another mask; the data-free one needs no data.
        o = self.out("ntk_data.h5")
        run(self.args("--prune.method", "ntk", "--prune.ntk_iterations", "3", "--prune.ntk_resamples", "2",
                      "--prune.ntk_input", "data", "--run.output", o), np_=2)
        with h5py.File(o) as a, h5py.File(outs[0]) as b:
            self.assertFalse(np.array_equal(a["/model/mask"][-1], b["/model/mask"][-1]))

    def test_bad_values_exit_2_naming_the_key(self):
        for extra, key in ((["--prune.sparsity", "1"], "prune.sparsity"),
                           (["--prune.initial_sparsity", "-0.1"], "prune.initial_sparsity"),
                           (["--prune.interval", "0"], "prune.interval"),
                           (["--prune.method", "snip", "--prune.mode", "dpf_server"], "prune.mode"),
                           (["--prune.method", "lottery"], "prune.method"),
                           (["--prune.ntk_iterations", "0"], "prune.ntk_iterations"),
                           (["--prune.ntk_resamples", "-1"], "prune.ntk_resamples"),
                           (["--prune.ntk_input", "images"], "prune.ntk_input"),
                           (["--prune.method", "feddip", "--prune.lambda_max", "1e-5"], "prune.lambda_max")):
            self.expect_usage_error(self.args(*extra), key)


def unpack_bits(packed, n, bits):
    """Inverse of compress::pack_bits: one little-endian bitstream, LSB first."""
    stream = np.unpackbits(np.asarray(packed, dtype=np.uint8), bitorder="little")
    stream = stream[: n * bits].reshape(n, bits).astype(np.uint64)
    return (stream << np.arange(bits, dtype=np.uint64)).sum(axis=1)


def decode_compressed(f):
    """The model /compression describes: coded variables decoded, the rest from the
    snapshot it names (which must then equal the snapshot exactly)."""
    c = f["/compression"]
    params = f["/model/params"][int(c.attrs["snapshot"])].copy()
    out = params.copy()
    offset, layout = 0, {}
    for entry in f.attrs["model_layout"].split(";"):
        if entry:
            name, shape, _ = entry.split(":")
            size = int(np.prod([int(s) for s in shape.split("x")]))
            layout[name] = (offset, size)
            offset += size
    for name, g in c["layers"].items():
        off, size = layout[name]
        block, bits = int(g.attrs["block"]), int(g.attrs["bits"])
        blocks = (size + block - 1) // block
        codes = unpack_bits(g["codes"][:], blocks, bits)
        book = g["codebook"][:].reshape(-1, block)
        out[off:off + size] = book[codes].reshape(-1)[:size]
    return params, out


def override(args, **kv):
    """args with --section.key values replaced (keys written section__key)."""
    out = list(args)
    for k, v in kv.items():
        opt = "--" + k.replace("__", ".")
        if opt in out:
            out[out.index(opt) + 1] = v
        else:
            out += [opt, v]
    return out


class Posttrain(Tmp):
    """[posttrain]: Bin & Quant and GWK from the CLI, in this run or on an existing file."""
    BASE = TINY + ["--posttrain.validation_clients", "12"]

    def test_binquant_np_1_2_4_identical_decodes_and_matches_the_rounds(self):
        for method in ("binquant", "binquant_grad"):
            outs = []
            for n in (1, 2, 4):
                o = self.out(f"{method}{n}.h5")
                # A 3-round model judged by 12 clients: a wide max_drop so that layers are binned.
                run(self.BASE + ["--posttrain.method", method, "--posttrain.max_drop", "5",
                                 "--run.output", o], np_=n)
                outs.append(o)
            for o in outs[1:]:
                d = h5diff(outs[0], o)
                self.assertEqual(d.returncode, 0, method + d.stdout + d.stderr)
            with h5py.File(outs[0]) as f:
                c = f["/compression"]
                self.assertEqual(c.attrs["method"], method)
                params, decoded = decode_compressed(f)
                np.testing.assert_array_equal(params, decoded)  # decodes exactly to the snapshot
                self.assertEqual(len(c["layers"]) > 0, True)
                # The model before compression is the last training round's.
                self.assertEqual(c["accuracy_before"][()], f["/rounds/test_accuracy"][-1])
                np.testing.assert_array_equal(f["/model/params"][0], f["/model/params"][-2])
                # Ratio = fp32 bits over codes + codebooks + fp32 remainder.
                bits = c["code_bits"][()] + c["codebook_bits"][()] + c["fp32_bits"][()]
                self.assertAlmostEqual(c["ratio"][()], 32 * f.attrs["num_params"] / bits)
                self.assertGreater(c["ratio"][()], 1.5)
                for name, g in c["layers"].items():
                    self.assertLessEqual(g.attrs["entries"], 32)
                    self.assertEqual(g.attrs["bits"], int(np.ceil(np.log2(max(2, g.attrs["entries"])))))
                # Within max_drop of federated validation (5 points).
                self.assertGreaterEqual(c["validation_accuracy_after"][()],
                                        c["validation_accuracy_before"][()] - 0.05 - 1e-12)
                t = c["trace"]
                self.assertEqual(t["bins"][0], 4)
                self.assertEqual(c["evaluations"][()] > len(t["bins"]), True)

    def test_gwk_fine_tunes_snaps_and_compresses_an_existing_file(self):
        a = self.out("gwk.h5")
        gwk = ["--posttrain.method", "gwk", "--posttrain.rounds", "4", "--posttrain.snap_every", "2",
               "--posttrain.bits", "3", "--posttrain.block", "4"]
        run(self.BASE + gwk + ["--run.output", a], np_=2)
        with h5py.File(a) as f:
            self.assertEqual(f["/rounds/round"].shape[0], 3 + 4)  # training + fine-tuning rounds
            params, decoded = decode_compressed(f)
            np.testing.assert_array_equal(params, decoded)
            w = f["/compression/layers/fc1.weight"]  # 784 x 32: clustered, block 4, 8 entries
            self.assertEqual((w.attrs["block"], w.attrs["entries"]), (4, 8))
            fc2 = f["/compression/layers/fc2.weight"]  # < 1000 weights: affine 8-bit
            self.assertEqual((fc2.attrs["block"], fc2.attrs["bits"], fc2.attrs["codebook_affine"]), (1, 8, 1))
            self.assertEqual(f["/compression/layers/fc1.bias"].attrs["codebook_affine"], 1)
            P = f.attrs["num_params"]
            self.assertGreater(f["/compression/ratio_without_codebooks"][()], 5)
            self.assertEqual(f["/model/round"][-1], 7)
        # Compress that file's trained model (its last snapshot) without retraining.
        b = self.out("again.h5")
        run(self.BASE + ["--posttrain.method", "binquant_grad", "--posttrain.input", a,
                         "--run.output", b], np_=3)
        with h5py.File(a) as fa, h5py.File(b) as fb:
            self.assertEqual(fb["/rounds/round"].shape[0], 0)  # no training
            self.assertEqual(fb["/model/params"].shape[0], 1)  # only the compressed model
            # Its model before compression is a's compressed model: same test accuracy.
            self.assertEqual(fb["/compression/accuracy_before"][()], fa["/compression/accuracy_after"][()])
            self.assertEqual(fb["/compression"].attrs["method"], "binquant_grad")

    def test_gwk_fine_tuning_resumes_identically(self):
        long = override(LONG, server__rounds="5") + [
            "--posttrain.method", "gwk", "--posttrain.rounds", "30", "--posttrain.snap_every", "3",
            "--posttrain.bits", "3", "--posttrain.block", "4", "--posttrain.validation_clients", "10"]
        ref = self.out("ref.h5")
        run(long + ["--run.progress", "false", "--run.output", ref], np_=2)
        o = self.out("stopped.h5")
        cmd = [MPIEXEC, "-np", "2", "--oversubscribe", "--bind-to", "none", BIN] + long + \
              ["--run.output", o]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        for line in p.stdout:
            if line.startswith("round") and int(line.split()[1].split("/")[0]) >= 10:
                os.kill(p.pid, signal.SIGUSR1)  # during the fine-tuning rounds
                break
        _, err = p.communicate(timeout=300)
        self.assertEqual(p.returncode, 3, err)
        with h5py.File(o + ".ckpt") as f:
            self.assertIn("gwk_codebooks", f)
            self.assertIn("posttrain_trained", f)
        run(long + ["--run.progress", "false", "--run.output", o, "--resume"], np_=4)
        d = h5diff(ref, o)
        self.assertEqual(d.returncode, 0, d.stdout + d.stderr)

    def test_bad_values_and_inputs_exit_2_naming_the_key(self):
        good = self.out("good.h5")
        run(self.BASE + ["--run.output", good], np_=1)
        with open(self.out("notes.txt"), "w") as f:
            f.write("not hdf5\n")
        cases = ((["--posttrain.method", "huffman"], "posttrain.method"),
                 (["--posttrain.method", "binquant", "--posttrain.max_drop", "-1"], "posttrain.max_drop"),
                 (["--posttrain.method", "binquant", "--posttrain.max_bins", "2"], "posttrain.max_bins"),
                 (["--posttrain.method", "gwk", "--posttrain.block", "0"], "posttrain.block"),
                 (["--posttrain.method", "gwk", "--posttrain.bits", "13"], "posttrain.bits"),
                 (["--posttrain.method", "gwk", "--posttrain.snap_every", "0"], "posttrain.snap_every"),
                 (["--posttrain.method", "gwk", "--posttrain.validation_clients", "41"],
                  "posttrain.validation_clients"),
                 (["--posttrain.input", good], "posttrain.input"),  # method none
                 (["--posttrain.method", "binquant", "--posttrain.input", self.out("missing.h5")],
                  "posttrain.input"),
                 (["--posttrain.method", "binquant", "--posttrain.input", self.out("notes.txt")],
                  "posttrain.input"),
                 (["--posttrain.method", "binquant", "--posttrain.input", good, "--model.hidden", "16"],
                  "posttrain.input"))
        for extra, key in cases:
            args = self.BASE + extra
            if "--model.hidden" in extra:  # the last case: another layout than the input's
                args = override(self.BASE, model__hidden="16") + extra[:-2]
            self.expect_usage_error(args, key)


class ZeroOrder(Tmp):
    """[client] trainer = zo | fedzo: backprop-free clients from the CLI."""
    BASE = override(TINY, server__rounds="2") + ["--server.optimizer", "fedadam", "--server.lr", "0.01"]

    def test_zo_np_1_2_4_identical_sends_k_floats_and_learns(self):
        outs = []
        for n in (1, 2, 4):
            o = self.out(f"zo{n}.h5")
            run(self.BASE + ["--client.trainer", "zo", "--zo.directions", "8", "--prune.method", "ntk",
                             "--prune.sparsity", "0.8", "--prune.ntk_iterations", "2",
                             "--zo.batch", "300",  # above the evaluation batch: the network is reserved for it
                             "--run.output", o], np_=n)
            outs.append(o)
        for o in outs[1:]:
            d = h5diff(outs[0], o)
            self.assertEqual(d.returncode, 0, d.stdout + d.stderr)
        with h5py.File(outs[0]) as f:
            c = f["/clients"]
            ok = c["status"][:] == 0
            self.assertTrue(np.all(c["bytes_up"][:][ok] == 4 * 8 + 16))  # K floats and a header
            # Pruned weights never move: the final model is zero where the NTK mask is.
            mask, params = f["/model/mask"][-1], f["/model/params"][-1]
            self.assertTrue(np.all(params[mask == 0] == 0))
            loss = f["/rounds/train_loss"][:]
            self.assertTrue(np.all(np.isfinite(loss)))

    def test_fedzo_sends_the_model_update(self):
        o = self.out("fedzo.h5")
        run(self.BASE + ["--client.trainer", "fedzo", "--zo.directions", "4", "--zo.local_steps", "3",
                         "--run.output", o], np_=2)
        with h5py.File(o) as f:
            c = f["/clients"]
            ok = c["status"][:] == 0
            self.assertTrue(np.all(c["bytes_up"][:][ok] == 4 * f.attrs["num_params"]))
            self.assertTrue(np.all(c["steps"][:][ok] == 3))

    def test_auto_mixes_backprop_and_zo_clients_by_budget(self):
        outs = []
        budgets = ["--client.budget", "uniform", "--client.budget_min_mb", "0.15", "--client.budget_max_mb", "0.35",
                   "--zo.batch", "4"]  # a zo client's activations: 4 examples
        for n in (1, 3):
            o = self.out(f"auto{n}.h5")
            run(self.BASE + budgets + ["--client.trainer", "auto", "--run.output", o], np_=n)
            outs.append(o)
        d = h5diff(outs[0], outs[1])
        self.assertEqual(d.returncode, 0, d.stdout + d.stderr)
        with h5py.File(outs[0]) as f:
            c, r = f["/clients"], f["/rounds"]
            kind, status, up = c["trainer"][:], c["status"][:], c["bytes_up"][:]
            P = f.attrs["num_params"]
            self.assertTrue(np.any(kind == 0) and np.any(kind == 1), kind)  # both kinds in the fleet
            self.assertTrue(np.all(up[(kind == 0) & (status == 0)] == 4 * P))
            self.assertTrue(np.all(up[(kind == 1) & (status == 0)] == 4 * 20 + 16))
            self.assertTrue(np.all(kind[status == 2] == -1))  # over budget for both: not trained
            np.testing.assert_array_equal(r["clients_backprop"][:] + r["clients_zo"][:], r["clients_completed"][:])
            # A zo client's modelled peak is below a backprop client's.
            peak = c["peak_memory_bytes"][:]
            self.assertLess(peak[kind == 1].max(), peak[kind == 0].min())

    def test_bad_values_exit_2_naming_the_key(self):
        for extra, key in ((["--client.trainer", "hebbian"], "client.trainer"),
                           (["--client.trainer", "zo", "--zo.directions", "0"], "zo.directions"),
                           (["--client.trainer", "zo", "--zo.sigma", "0"], "zo.sigma"),
                           (["--client.trainer", "zo", "--zo.differences", "backward"], "zo.differences"),
                           (["--client.trainer", "zo", "--zo.clip", "-1"], "zo.clip"),
                           (["--client.trainer", "fedzo", "--zo.local_steps", "0"], "zo.local_steps"),
                           (["--client.trainer", "zo", "--zo.batch", "0"], "zo.batch"),
                           (["--client.trainer", "zo", "--uplink.codec", "topk"], "uplink.codec"),
                           (["--client.trainer", "auto", "--uplink.codec", "qsgd"], "uplink.codec"),
                           (["--client.trainer", "zo", "--prune.method", "feddip"], "client.trainer")):
            self.expect_usage_error(self.BASE + extra, key)
