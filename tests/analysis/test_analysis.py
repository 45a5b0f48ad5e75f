"""Tests of analysis/: the fedhpc_analysis loader on real results files, and
every notebook executed headless with nbconvert on the system python3 kernel.

The runs come from the ctest fixture analysis_runs (make_runs.py) in
$FEDHPC_ANALYSIS_WORK/runs; without that variable they are made in a
temporary directory (FEDHPC_BIN must then name the binary).
"""
import concurrent.futures
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import h5py
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SOURCE = Path(os.environ.get("FEDHPC_SOURCE_DIR", HERE.parents[1]))
ANALYSIS = SOURCE / "analysis"
NOTEBOOKS = ANALYSIS / "notebooks"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ANALYSIS))
sys.path.insert(0, str(NOTEBOOKS))

import fedhpc_analysis as fa  # noqa: E402
import generate  # noqa: E402  (analysis/notebooks/generate.py)
import make_runs  # noqa: E402

_tmp = None
RUNS = None


def setUpModule():
    global _tmp, RUNS
    work = os.environ.get("FEDHPC_ANALYSIS_WORK")
    if work:
        RUNS = Path(work) / "runs"
        if not (RUNS / "complete").is_file():
            raise RuntimeError(f"{RUNS}: runs missing; the ctest fixture analysis_runs makes them")
    else:
        _tmp = tempfile.mkdtemp(prefix="fedhpc_analysis_")
        RUNS = Path(make_runs.make_runs(os.path.join(_tmp, "runs")))


def tearDownModule():
    if _tmp:
        shutil.rmtree(_tmp, ignore_errors=True)


def sweep_dir():
    return RUNS / "sweep"


def budget_file():
    return RUNS / "budget" / "budget.h5"


def prune_dir():
    return RUNS / "prune"


def posttrain_dir():
    return RUNS / "posttrain"


def zo_dir():
    return RUNS / "zo"


def uplink_dir():
    return RUNS / "uplink"


class Seeds(unittest.TestCase):
    """fa.seed_summary / paired_difference on the tiny pruning sweep (2 seeds)."""

    def test_mean_std_and_pairs(self):
        sweep = fa.load_dir(prune_dir())
        s = fa.seed_summary(sweep).set_index("group")
        self.assertEqual(sorted(s.index), ["dense", "feddip_s50", "feddip_s80", "magnitude_s80"])
        self.assertTrue((s["seeds"] == 2).all())
        accs = [fa.final_accuracy(sweep[f"feddip_s80_seed{k}"]) for k in (1, 2)]
        self.assertAlmostEqual(s.loc["feddip_s80", "accuracy_mean"], np.mean(accs))
        self.assertAlmostEqual(s.loc["feddip_s80", "accuracy_std"], np.std(accs, ddof=1))
        self.assertEqual(s.loc["dense", "weight_sparsity"], 0.0)
        # The last re-pruning (round 3 of 4) is at s_3 = 0.8 + (0.3 - 0.8) (1/4)^3.
        self.assertAlmostEqual(s.loc["feddip_s80", "weight_sparsity"], 0.8 - 0.5 / 64, places=3)
        self.assertLess(s.loc["feddip_s80", "bytes_down"], s.loc["dense", "bytes_down"])
        d = fa.paired_difference(sweep, "feddip_s80", "dense")
        dense = [fa.final_accuracy(sweep[f"dense_seed{k}"]) for k in (1, 2)]
        self.assertAlmostEqual(d["mean"], np.mean(np.subtract(accs, dense)))
        self.assertEqual(d["pairs"], 2)

    def test_group_with_other_settings_is_refused(self):
        runs = [prune_dir() / "feddip_s50_seed1.h5", prune_dir() / "feddip_s80_seed2.h5"]
        tmp = Path(tempfile.mkdtemp(prefix="fedhpc_seeds_"))
        try:
            for i, r in enumerate(runs):
                shutil.copy(r, tmp / f"mix_seed{i + 1}.h5")
            with self.assertRaises(ValueError) as e:
                fa.seed_summary(fa.load_dir(tmp))
            self.assertIn("prune.sparsity", str(e.exception))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class Loader(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.one = fa.load(sweep_dir() / "lr005_s1.h5")
        cls.budget = fa.load(budget_file())
        cls.sweep = fa.load_dir(sweep_dir())
        cls.tmp = tempfile.mkdtemp(prefix="fedhpc_analysis_loader_")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_row_counts_and_columns(self):
        r = self.one
        self.assertEqual(r.name, "lr005_s1")
        self.assertEqual(len(r.rounds), 4)
        self.assertEqual(r.rounds["round"].tolist(), [0, 1, 2, 3])
        self.assertEqual(len(r.clients), 4 * 8)
        self.assertEqual(len(r.client_info), 40)
        self.assertEqual(list(r.rounds.columns[:4]), ["round", "test_accuracy", "test_loss", "train_loss"])
        for col in ("bytes_up", "bytes_down", "clients_completed", "wall_seconds", "round_seconds"):
            self.assertIn(col, r.rounds)
        self.assertEqual(r.num_classes, 10)
        self.assertEqual([c for c in r.client_info if c.startswith("label_")],
                         [f"label_{j}" for j in range(10)])
        hist = r.label_histogram
        self.assertEqual(hist.shape, (40, 10))
        np.testing.assert_array_equal(hist.sum(axis=1).to_numpy(), r.client_info["num_samples"].to_numpy())
        self.assertEqual(int(r.client_info["num_samples"].sum()), 60000)
        self.assertTrue((r.clients["status_name"] == "completed").all())

    def test_nan_test_metrics(self):
        r = self.one
        acc = r.rounds["test_accuracy"].to_numpy()
        self.assertTrue(np.isnan(acc[0]) and np.isnan(acc[2]))
        self.assertTrue(np.isfinite(acc[1]) and np.isfinite(acc[3]))
        self.assertEqual(r.evaluated["round"].tolist(), [1, 3])
        self.assertEqual(fa.final_accuracy(r), acc[3])
        # the first evaluation is after 2 rounds; unreachable targets give None
        self.assertEqual(fa.rounds_to_accuracy(r, 0.0), 2)
        self.assertIsNone(fa.rounds_to_accuracy(r, 1.01))
        self.assertIsNone(fa.bytes_to_accuracy(r, 1.01))
        self.assertEqual(fa.bytes_to_accuracy(r, 0.0), int(fa.cumulative_bytes(r).iloc[1]))
        # a run never evaluated: final accuracy NaN, not an exception
        never = r.rounds.assign(test_accuracy=np.nan)
        self.assertTrue(math.isnan(fa.final_accuracy(never)))
        self.assertIsNone(fa.rounds_to_accuracy(never, 0.0))

    def test_cumulative_bytes(self):
        r = self.one
        cb = fa.cumulative_bytes(r)
        self.assertEqual(cb.name, "cumulative_bytes")
        self.assertTrue((np.diff(cb.to_numpy()) > 0).all())
        self.assertEqual(int(cb.iloc[-1]), int((r.rounds["bytes_up"] + r.rounds["bytes_down"]).sum()))
        self.assertEqual(int(fa.cumulative_bytes(r, "up").iloc[-1]), int(r.rounds["bytes_up"].sum()))
        with self.assertRaises(ValueError):
            fa.cumulative_bytes(r, "sideways")
        # per run in a sweep: restarts at every run
        s = fa.cumulative_bytes(self.sweep)
        self.assertEqual(len(s), 12)
        first_rows = self.sweep.rounds.index[self.sweep.rounds["round"] == 0]
        np.testing.assert_array_equal(s[first_rows].to_numpy(),
                                      (self.sweep.rounds.loc[first_rows, "bytes_up"]
                                       + self.sweep.rounds.loc[first_rows, "bytes_down"]).to_numpy())

    def test_config_and_attrs(self):
        r = self.one
        cfg = r.config
        self.assertIs(cfg, r.attrs["config"])
        self.assertEqual(cfg["server"]["rounds"], 4)
        self.assertEqual(cfg["server"]["clients_per_round"], 8)
        self.assertEqual(cfg["client"]["lr"], 0.05)
        self.assertEqual(cfg["model"]["arch"], "mlp")
        self.assertEqual(cfg["model"]["hidden"], 32)
        self.assertEqual(cfg["run"]["eval_every"], 2)
        self.assertIn("[server]", r.attrs["config_text"])
        self.assertEqual(r.config_flat()["data.num_clients"], 40)
        self.assertEqual(r.attrs["num_clients"], 40)
        self.assertEqual(r.attrs["num_params"], 784 * 32 + 32 + 32 * 10 + 10)
        self.assertIsInstance(r.attrs["fedhpc_version"], str)
        self.assertEqual(sum(np.prod(v["shape"]) for v in r.model_layout), r.attrs["num_params"])
        self.assertEqual(r.model_params().shape, (r.attrs["num_params"],))
        b = self.budget.config["client"]
        self.assertEqual((b["budget"], b["dropout"], b["budget_min_mb"]), ("uniform", 0.2, 0.1))
        parsed = fa.parse_config("[a]\nflag = true\nn = 3\nx = 1e-3\nlist = 200,200\n")
        self.assertEqual(parsed, {"a": {"flag": True, "n": 3, "x": 0.001, "list": "200,200"}})

    def test_execution(self):
        e = self.one.execution
        self.assertEqual(e.num_ranks, 2)
        self.assertEqual(len(e.rounds), 4)
        self.assertTrue((np.diff(e.wall_seconds.to_numpy()) >= 0).all())
        self.assertEqual(e.total_seconds, float(self.one.rounds["wall_seconds"].iloc[-1]))
        self.assertEqual(len(e.client_rank), 40)
        self.assertEqual(set(e.client_rank.tolist()), {0, 1})
        self.assertEqual(len(e.client_row_rank), 32)

    def test_client_outcomes_match_rounds(self):
        b = self.budget
        c, r = b.clients, b.rounds
        counts = pd.crosstab(c["round"], c["status_name"], dropna=False)
        np.testing.assert_array_equal(counts["completed"], r["clients_completed"])
        np.testing.assert_array_equal(counts["dropped"], r["clients_dropped"])
        self.assertGreater(counts["over_budget"].sum(), 0)
        self.assertGreater(counts["completed"].sum(), 0)
        self.assertGreater(counts["dropped"].sum(), 0)
        # clients that did not train have NaN loss; trained ones a finite loss
        trained = c["status_name"] == "completed"
        self.assertTrue(c.loc[trained, "train_loss"].notna().all())
        self.assertTrue(c.loc[~trained, "train_loss"].isna().all())
        over = c["peak_memory_bytes"] > c["memory_budget_bytes"]
        np.testing.assert_array_equal(over.to_numpy(), c["over_budget"].to_numpy() == 1)

    def test_sweep(self):
        s = self.sweep
        self.assertEqual(list(s.runs), ["lr005_s1", "lr005_s2", "lr01_s1"])
        self.assertEqual(len(s.rounds), 12)
        self.assertEqual(len(s.clients), 3 * 32)
        self.assertEqual(len(s.client_info), 3 * 40)
        self.assertEqual(s.rounds.columns[0], "run")
        self.assertEqual(sorted(s.varying), ["client.lr", "run.seed"])
        self.assertEqual(s.table.loc["lr01_s1", "client.lr"], 0.1)
        self.assertEqual(s.table.loc["lr005_s2", "run.seed"], 2)
        self.assertEqual(s.label("lr01_s1", ["client.lr"]), "client.lr=0.1")
        fin = fa.final_accuracy(s)
        self.assertEqual(list(fin.index), list(s.runs))
        self.assertEqual(fin["lr01_s1"], fa.final_accuracy(s["lr01_s1"]))
        rta = fa.rounds_to_accuracy(s, 1.01)
        self.assertEqual(str(rta.dtype), "Int64")
        self.assertTrue(rta.isna().all())
        self.assertTrue((fa.rounds_to_accuracy(s, 0.0) == 2).all())
        summary = s.summary(target=0.0)
        for col in ("client.lr", "run.seed", "final_accuracy", "rounds_to_target", "bytes_to_target",
                    "total_bytes", "wall_seconds", "rounds"):
            self.assertIn(col, summary)
        self.assertEqual(summary.attrs["target"], 0.0)
        self.assertTrue((summary["rounds"] == 4).all())
        # glob and list forms
        self.assertEqual(len(fa.load_dir(str(sweep_dir() / "lr005_*.h5"))), 2)
        both = fa.load_dir([sweep_dir() / "lr005_s1.h5", budget_file()])
        self.assertIn("client.budget", both.varying)
        self.assertNotIn("run.output", both.varying)

    def test_errors_name_the_file(self):
        not_fedhpc = os.path.join(self.tmp, "other.h5")
        with h5py.File(not_fedhpc, "w") as f:
            f["x"] = np.arange(3)
        with self.assertRaises(fa.NotAFedhpcFile) as cm:
            fa.load(not_fedhpc)
        self.assertIn(not_fedhpc, str(cm.exception))
        self.assertIn("not a fedhpc results file", str(cm.exception))

        half = os.path.join(self.tmp, "half.h5")
        with h5py.File(half, "w") as f:
            f.attrs["fedhpc_version"] = "0"
            f.attrs["config"] = "[run]\nseed = 1\n"
        with self.assertRaisesRegex(fa.NotAFedhpcFile, "half.h5.*'/rounds'"):
            fa.load(half)

        text = os.path.join(self.tmp, "notes.h5")
        with open(text, "w") as f:
            f.write("not hdf5\n")
        with self.assertRaisesRegex(fa.NotAFedhpcFile, "notes.h5.*not readable as HDF5"):
            fa.load(text)

        with self.assertRaisesRegex(FileNotFoundError, "missing.h5"):
            fa.load(os.path.join(self.tmp, "missing.h5"))
        with self.assertRaises(IsADirectoryError):
            fa.load(self.tmp)
        empty = os.path.join(self.tmp, "empty")
        os.mkdir(empty)
        with self.assertRaisesRegex(FileNotFoundError, "empty"):
            fa.load_dir(empty)
        mixed = os.path.join(self.tmp, "mixed")
        os.mkdir(mixed)
        shutil.copy(sweep_dir() / "lr005_s1.h5", mixed)
        shutil.copy(not_fedhpc, mixed)
        with self.assertRaisesRegex(fa.NotAFedhpcFile, "mixed/other.h5"):
            fa.load_dir(mixed)

    def test_posttrain_table(self):
        t = fa.posttrain_table(posttrain_dir())
        # mlp_trained_seed1 (no /compression) is skipped
        self.assertEqual(t["run"].tolist(), ["mlp_binquant_grad_seed1", "mlp_gwk3_seed1"])
        self.assertEqual(t["label"].tolist(), ["binquant_grad", "gwk 3 bit"])
        self.assertEqual(t["method"].tolist(), ["binquant_grad", "gwk"])
        self.assertTrue(np.isnan(t.at[0, "bits"]))
        self.assertEqual(t.at[1, "bits"], 3)
        self.assertEqual(t["arch"].tolist(), ["mlp", "mlp"])
        self.assertEqual(t["seed"].tolist(), [1, 1])
        for _, r in t.iterrows():
            with h5py.File(r["path"], "r") as f:
                c = f["compression"]
                self.assertEqual(c.attrs["method"], r["method"])
                for col in ("bits_per_weight", "ratio", "ratio_without_codebooks", "accuracy_before",
                            "accuracy_after", "validation_accuracy_before", "validation_accuracy_after",
                            "evaluations"):
                    self.assertEqual(r[col], c[col][()], col)
        np.testing.assert_allclose(t["drop"], 100 * (t["accuracy_before"] - t["accuracy_after"]))
        # bits per weight count the codebooks: 32 / ratio, below 32 / ratio_without_codebooks
        np.testing.assert_allclose(t["bits_per_weight"] * t["ratio"], 32.0, rtol=1e-9)
        self.assertTrue((t["ratio_without_codebooks"] >= t["ratio"]).all())
        self.assertTrue((t["bits_per_weight"] < 32).all())
        self.assertTrue(t[["accuracy_before", "accuracy_after"]].stack().between(0, 1).all())
        self.assertTrue((t["evaluations"] >= 1).all())
        # both files train the same model as the training-only run before compressing it
        trained = fa.final_accuracy(fa.load(posttrain_dir() / "mlp_trained_seed1.h5"))
        self.assertEqual(t["accuracy_before"].tolist(), [trained, trained])

    def test_posttrain_summary(self):
        t = fa.posttrain_table(posttrain_dir())
        s = fa.posttrain_summary(t).set_index("label")
        self.assertEqual(s.index.tolist(), [fa.UNCOMPRESSED, "binquant_grad", "gwk 3 bit"])
        self.assertEqual(s.loc[fa.UNCOMPRESSED, "bits_per_weight"], 32)
        self.assertEqual(s.loc[fa.UNCOMPRESSED, "accuracy_after_mean"], t.at[0, "accuracy_before"])
        self.assertEqual(s.loc["gwk 3 bit", "accuracy_after_mean"], t.at[1, "accuracy_after"])
        self.assertAlmostEqual(s.loc["gwk 3 bit", "drop_mean"], t.at[1, "drop"])
        self.assertTrue((s["seeds"] == 1).all())
        self.assertTrue(s["accuracy_after_std"].isna().all())  # one seed: no std
        # two runs of one (arch, label) with the same seed are refused
        tmp = Path(tempfile.mkdtemp(dir=self.tmp))
        for name in ("a_seed1", "b_seed1"):
            shutil.copy(posttrain_dir() / "mlp_gwk3_seed1.h5", tmp / f"{name}.h5")
        with self.assertRaisesRegex(ValueError, r"gwk 3 bit: seeds \[1\]"):
            fa.posttrain_summary(fa.posttrain_table(tmp))
        # training-only runs: an empty table; a file that is not fedhpc's: named
        self.assertTrue(fa.posttrain_table(sweep_dir()).empty)
        bad = tmp / "bad.h5"
        with h5py.File(bad, "w") as f:
            f["x"] = np.arange(3)
        with self.assertRaisesRegex(fa.NotAFedhpcFile, "bad.h5"):
            fa.posttrain_table(tmp)


class Zo(unittest.TestCase):
    """fa.zo_table / zo_summary / zo_reference on the tiny backprop-free sweep (2 seeds)."""

    @classmethod
    def setUpClass(cls):
        cls.sweep = fa.load_dir(zo_dir())
        cls.table = fa.zo_table(cls.sweep)

    def test_table_reads_each_run(self):
        t = self.table.set_index("run")
        self.assertEqual(len(t), 6)
        self.assertEqual(t.loc["zo_ntk_seed1", "label"], "zo, ntk (noise) 0.5, K=4")
        self.assertEqual(t.loc["zo_dense_seed2", "label"], "zo, dense, K=4")
        self.assertEqual(t.loc["backprop_seed1", "label"], "backprop, dense")
        self.assertEqual(t.loc["zo_ntk_seed2", "group"], "zo_ntk")
        for run in self.sweep:
            r = t.loc[run.name]
            self.assertEqual(r["accuracy"], fa.final_accuracy(run))
            c = run.clients[run.clients["status"] == 0]
            self.assertEqual(r["client_peak_bytes"], c["peak_memory_bytes"].median())
            self.assertEqual(r["flops"], c["flops"].mean())
        # a zo client sends 4 K + 16 bytes, a backprop client its model
        P = next(iter(self.sweep)).attrs["num_params"]
        self.assertTrue((t.loc[t["trainer"] == "zo", "uplink_bytes"] == 4 * 4 + 16).all())
        self.assertTrue((t.loc[t["trainer"] == "backprop", "uplink_bytes"] == 4 * P).all())
        # no gradients, no optimizer state, no kept activations: a zo client's peak is below backprop's
        self.assertLess(t.loc[t["trainer"] == "zo", "client_peak_bytes"].max(),
                        t.loc[t["trainer"] == "backprop", "client_peak_bytes"].min())

    def test_summary_and_references(self):
        s = fa.zo_summary(self.table)
        self.assertEqual(sorted(s["group"]), ["backprop", "zo_dense", "zo_ntk"])
        self.assertTrue((s["seeds"] == 2).all())
        g = s.set_index("group")
        acc = self.table[self.table["group"] == "zo_ntk"]["accuracy"]
        self.assertAlmostEqual(g.loc["zo_ntk", "accuracy_mean"], acc.mean())
        self.assertAlmostEqual(g.loc["zo_ntk", "accuracy_std"], acc.std(ddof=1))
        self.assertEqual(fa.zo_reference(s, "zo_ntk", "zo", "dense"), "zo_dense")
        self.assertIsNone(fa.zo_reference(s, "zo_dense", "zo", "dense"))  # not itself
        self.assertIsNone(fa.zo_reference(s, "zo_ntk", "zo", "random", 0.5))
        d = fa.paired_difference(self.sweep, "zo_ntk", "zo_dense")
        self.assertEqual(d["pairs"], 2)
        # a repeated seed in one group is refused
        with self.assertRaisesRegex(ValueError, r"zo_ntk: seeds \[1\]"):
            fa.zo_summary(pd.concat([self.table, self.table[self.table["run"] == "zo_ntk_seed1"]]))


class NotebookHelpers(unittest.TestCase):
    """fedhpc_analysis.notebook: where the notebooks read and write."""

    def setUp(self):
        self.root = Path(tempfile.mkdtemp(prefix="fedhpc_analysis_root_"))

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def env(self, **values):
        clean = {k: v for k, v in os.environ.items() if not k.startswith("FEDHPC_")}
        return mock.patch.dict(os.environ, dict(clean, FEDHPC_ROOT=str(self.root), **values), clear=True)

    def test_defaults_and_relative_paths(self):
        with self.env():
            with self.assertRaisesRegex(FileNotFoundError, "FEDHPC_RESULTS is not set"):
                fa.notebook.results_file()
            (self.root / "results").mkdir()
            old, new = self.root / "results" / "old.h5", self.root / "results" / "new.h5"
            old.write_bytes(b"")
            new.write_bytes(b"")
            os.utime(old, (1, 1))
            self.assertEqual(fa.notebook.results_file(), new)
            self.assertEqual(fa.notebook.results_dir(), str(self.root / "results"))
            self.assertEqual(fa.notebook.results_dir(default="results/posttrain"),
                             str(self.root / "results" / "posttrain"))
            self.assertEqual(fa.notebook.figures_dir(), self.root / "analysis" / "figures")
            self.assertTrue((self.root / "analysis" / "figures").is_dir())
            self.assertEqual(fa.notebook.target_accuracy(), 0.8)
        with self.env(FEDHPC_RESULTS="results/old.h5", FEDHPC_FIGURES="out/figs",
                      FEDHPC_TARGET_ACCURACY="0.5"):
            self.assertEqual(fa.notebook.results_file(), self.root / "results" / "old.h5")
            self.assertEqual(fa.notebook.figures_dir(), self.root / "out" / "figs")
            self.assertEqual(fa.notebook.target_accuracy(), 0.5)
        with self.env(FEDHPC_RESULTS="results/none.h5", FEDHPC_TARGET_ACCURACY="80"):
            with self.assertRaisesRegex(FileNotFoundError, "none.h5"):
                fa.notebook.results_file()
            with self.assertRaisesRegex(ValueError, "FEDHPC_TARGET_ACCURACY"):
                fa.notebook.target_accuracy()
        self.assertEqual(fa.notebook.bytes_scale(3 * 2**20), (2**20, "MiB"))
        self.assertEqual(fa.notebook.bytes_scale(100), (1, "B"))


def nbconvert(notebook, out_dir, env):
    """Executes ``notebook`` headless with the python3 kernel; returns the CompletedProcess."""
    cmd = [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute",
           "--ExecutePreprocessor.kernel_name=python3", "--ExecutePreprocessor.timeout=300",
           "--output-dir", str(out_dir), str(notebook)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


class Uplink(unittest.TestCase):
    """fa.uplink_summary on the tiny uplink sweep (2 seeds)."""

    def test_paired_against_the_uncompressed_run_with_bytes_and_diagnostics(self):
        sweep = fa.load_dir(uplink_dir())
        s = fa.uplink_summary(sweep).set_index("group")
        self.assertEqual(sorted(s.index), ["uplink_none", "uplink_topk", "uplink_topk3_q4_down"])
        self.assertIsNone(s.loc["uplink_none", "baseline"])
        self.assertEqual(s.loc["uplink_topk", "baseline"], "uplink_none")
        accs = [fa.final_accuracy(sweep[f"uplink_topk_seed{k}"]) - fa.final_accuracy(sweep[f"uplink_none_seed{k}"])
                for k in (1, 2)]
        self.assertAlmostEqual(s.loc["uplink_topk", "diff_mean"], np.mean(accs))
        self.assertEqual(s.loc["uplink_topk", "pairs"], 2)
        # top-1 %: 16-bit indices and fp32 values, 66.7x fewer uplink bytes than 4 bytes per parameter
        self.assertGreater(s.loc["uplink_topk", "up_factor"], 50)
        # the compressed downlink shrinks the total, not only the uplink
        self.assertLess(s.loc["uplink_topk3_q4_down", "bytes_down"], s.loc["uplink_topk", "bytes_down"])
        self.assertGreater(s.loc["uplink_topk3_q4_down", "total_factor"], s.loc["uplink_topk", "total_factor"])
        self.assertTrue(np.isnan(s.loc["uplink_none", "residual_ratio"]))
        self.assertGreater(s.loc["uplink_topk", "residual_ratio"], 0)
        self.assertGreaterEqual(s.loc["uplink_topk", "residual_age"], 1)
        self.assertEqual(fa.uplink_baseline("uplink_topk_fedavgm", s.index), None)  # no FedAvgM baseline here


class Notebooks(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="fedhpc_analysis_nb_"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_notebooks_match_generator_and_are_valid(self):
        import nbformat
        self.assertEqual(generate.main(["--check"]), 0, "run analysis/notebooks/generate.py")
        names = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
        self.assertEqual(names, sorted(generate.FIGURES))
        for name in names:
            nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
            nbformat.validate(nb)
            self.assertEqual(nb.metadata.kernelspec.name, "python3")
            for cell in nb.cells:
                if cell.cell_type == "code":
                    self.assertEqual(cell.outputs, [], f"{name}: committed outputs")
                    self.assertNotIn("except", cell.source, f"{name}: cells must not catch errors")

    def test_python3_kernel_is_the_system_python(self):
        from jupyter_client.kernelspec import KernelSpecManager
        spec = KernelSpecManager().get_kernel_spec("python3")
        exe = spec.argv[0]
        exe = exe if os.path.isabs(exe) else shutil.which(exe)
        self.assertEqual(os.path.realpath(exe), os.path.realpath("/usr/bin/python3"), spec.argv)

    def test_execute_all(self):
        base = dict(os.environ, FEDHPC_ROOT=str(SOURCE), FEDHPC_TARGET_ACCURACY="0.7",
                    PYDEVD_DISABLE_FILE_VALIDATION="1", MPLBACKEND="Agg")
        inputs = {
            "training_curves": {"FEDHPC_RESULTS": str(sweep_dir() / "lr005_s1.h5")},
            "accuracy_vs_bytes": {"FEDHPC_RESULTS_DIR": str(sweep_dir())},
            "client_distributions": {"FEDHPC_RESULTS": str(budget_file())},
            "sweep_comparison": {"FEDHPC_RESULTS_DIR": str(sweep_dir())},
            "pruning_tradeoff": {"FEDHPC_RESULTS_DIR": str(prune_dir())},
            "compression_tradeoff": {"FEDHPC_RESULTS_DIR": str(posttrain_dir())},
            "zo_tradeoff": {"FEDHPC_RESULTS_DIR": str(zo_dir())},
            "uplink_tradeoff": {"FEDHPC_RESULTS_DIR": str(uplink_dir())},
        }
        # A notebook whose input is not a fedhpc file must fail, naming the file.
        bad = self.tmp / "bad.h5"
        with h5py.File(bad, "w") as f:
            f["x"] = np.arange(3)
        jobs = {name: (NOTEBOOKS / f"{name}.ipynb", dict(base, FEDHPC_FIGURES=str(self.tmp / "fig" / name), **env))
                for name, env in inputs.items()}
        jobs["failing"] = (NOTEBOOKS / "training_curves.ipynb",
                           dict(base, FEDHPC_RESULTS=str(bad), FEDHPC_FIGURES=str(self.tmp / "fig" / "failing")))
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(nbconvert, nb, self.tmp / "out" / name, env)
                       for name, (nb, env) in jobs.items()}
            results = {name: f.result() for name, f in futures.items()}

        for name in inputs:
            p = results[name]
            self.assertEqual(p.returncode, 0, f"{name}.ipynb failed:\n{p.stderr[-4000:]}")
            self.assertTrue((self.tmp / "out" / name / f"{name}.ipynb").is_file())
            for png in generate.FIGURES[name]:
                path = self.tmp / "fig" / name / png
                self.assertTrue(path.is_file(), f"{name}: {png} not written")
                with open(path, "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", path)
                self.assertGreater(path.stat().st_size, 5000, path)
        self.assertTrue((self.tmp / "fig" / "sweep_comparison" / "sweep_summary.csv").is_file())

        p = results["failing"]
        self.assertNotEqual(p.returncode, 0, "a notebook on a non-fedhpc file must fail")
        self.assertIn("NotAFedhpcFile", p.stderr)
        self.assertIn(str(bad), p.stderr)


if __name__ == "__main__":
    unittest.main()
