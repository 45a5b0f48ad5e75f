"""Reading fedhpc results files (layout: docs/output.md) into pandas objects.

A results file holds one run. :func:`load` reads it into a :class:`Run`
(``rounds``, ``clients``, ``client_info`` DataFrames, root ``attrs`` with the
parsed configuration, and the rank/clock-dependent :class:`Execution` data).
:func:`load_dir` reads several runs into a :class:`Sweep` whose frames carry a
``run`` column and whose ``table`` lists what differs between the runs.

The metric helpers (:func:`final_accuracy`, :func:`rounds_to_accuracy`,
:func:`bytes_to_accuracy`, :func:`cumulative_bytes`) accept a ``Run``, a
``Sweep`` or a rounds DataFrame; given several runs (a ``Sweep`` or a frame with
a ``run`` column) they answer per run.
"""

from __future__ import annotations

import configparser
import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Union

import h5py
import numpy as np
import pandas as pd

#: ``/clients/status`` codes (docs/output.md).
STATUS_NAMES = {0: "completed", 1: "dropped", 2: "over_budget", 3: "diverged"}

# Column order of the frames (as documented); datasets not listed here follow
# in alphabetical order, so files from newer versions still load completely.
_ROUNDS_ORDER = [
    "round", "test_accuracy", "test_loss", "train_loss", "clients_sampled",
    "clients_completed", "clients_dropped", "clients_over_budget", "clients_diverged",
    "bytes_up", "bytes_down", "examples", "flops", "peak_memory_max", "density",
]
_CLIENTS_ORDER = [
    "round", "client_id", "num_samples", "status", "over_budget", "train_loss", "steps",
    "bytes_up", "bytes_down", "peak_memory_bytes", "memory_budget_bytes", "flops",
]
_CLIENT_INFO_ORDER = ["client_id", "num_samples", "memory_budget_bytes"]
_EXECUTION_PER_ROUND = ["wall_seconds", "round_seconds"]

# Root attributes that every fedhpc results file has.
_REQUIRED_ATTRS = ["fedhpc_version", "config"]
_REQUIRED_GROUPS = ["rounds", "clients", "client_info"]

# Configuration keys that never describe the experiment itself (where the
# results went, console output), left out of Sweep.table.
_IGNORED_CONFIG_KEYS = {"run.output", "run.overwrite", "run.progress"}
# Root attributes that are not copies of a configuration key and may differ
# between runs of a sweep (the binary that produced them).
_TABLE_ATTRS = ["fedhpc_version", "git_sha"]

PathLike = Union[str, os.PathLike]


class NotAFedhpcFile(ValueError):
    """The file exists but is not a (complete, readable) fedhpc results file.

    The message starts with the file's path.
    """


# --------------------------------------------------------------------------- helpers


def _decode(value):
    """HDF5 attribute value -> plain Python (str, int, float, bool) or ndarray."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in ("S", "O"):
            return [_decode(v) for v in value.tolist()]
        if value.shape == ():
            return value.item()
        return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def _coerce(text: str):
    """Configuration value text -> bool, int, float, or the stripped text."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t


def parse_config(text: str, source: str = "<config>") -> Dict[str, Dict[str, object]]:
    """Parses fedhpc's INI configuration text into ``{section: {key: value}}``.

    Values that are literals of a boolean (``true``/``false``), an integer or a
    float are converted to that type; everything else (``dirichlet``,
    ``200,200``, paths) stays a string. Key case is preserved.

    Raises :class:`NotAFedhpcFile` naming ``source`` if the text is not INI.
    """
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keep keys as written
    try:
        parser.read_string(text, source=source)
    except configparser.Error as e:
        raise NotAFedhpcFile(f"{source}: root attribute 'config' is not INI text: {e}") from e
    return {s: {k: _coerce(v) for k, v in parser.items(s)} for s in parser.sections()}


def _read_group(f: h5py.File, group: str, order: List[str], path: Path) -> pd.DataFrame:
    """Every dataset of ``group`` as a column (2-D datasets split into columns).

    ``label_histogram`` (clients x classes) becomes ``label_0 .. label_{C-1}``;
    any other 2-D dataset ``x`` becomes ``x_0 ..``. All datasets must have the
    same number of rows.
    """
    g = f[group]
    cols: Dict[str, np.ndarray] = {}
    lengths: Dict[str, int] = {}
    names = [n for n in order if n in g] + sorted(n for n in g if n not in order)
    for name in names:
        obj = g[name]
        if not isinstance(obj, h5py.Dataset):
            continue
        data = obj[()]
        if data.ndim == 0:
            raise NotAFedhpcFile(f"{path}: /{group}/{name} is a scalar, expected one row per entry")
        lengths[name] = data.shape[0]
        if data.ndim == 1:
            cols[name] = data
        elif data.ndim == 2:
            prefix = "label" if name == "label_histogram" else name
            for j in range(data.shape[1]):
                cols[f"{prefix}_{j}"] = data[:, j]
        else:
            raise NotAFedhpcFile(f"{path}: /{group}/{name} has {data.ndim} dimensions, expected 1 or 2")
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise NotAFedhpcFile(f"{path}: datasets of /{group} have different lengths ({detail})")
    return pd.DataFrame(cols)


def _parse_layout(text: str) -> List[dict]:
    """``model_layout`` text (``name:shape:kind;`` ...) -> list of dicts.

    ``shape`` is split on ``x`` or ``,`` into a tuple of ints when it has that
    form; otherwise the text is kept.
    """
    out = []
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        parts = item.split(":")
        name, shape, kind = (parts + ["", "", ""])[:3]
        dims = shape.replace("x", ",").split(",")
        if all(d.strip().isdigit() for d in dims if d.strip()) and shape.strip():
            shape_value = tuple(int(d) for d in dims if d.strip())
        else:
            shape_value = shape
        out.append({"name": name, "shape": shape_value, "kind": kind})
    return out


# --------------------------------------------------------------------------- run


@dataclass
class Execution:
    """How a run was executed: rank count, host, clock (``/execution``).

    These values depend on the rank count, the machine and the clock, so they
    are kept apart from the results (docs/output.md).

    Attributes:
        num_ranks: MPI ranks of the run (``None`` if the file has no ``/execution``).
        hostname: host of rank 0.
        rounds: one row per round: ``round``, ``wall_seconds`` (elapsed since the
            start of the round loop) and ``round_seconds`` (duration of the round).
        client_rank: the rank that owns each client: holds its examples and state
            (indexed by client id).
        client_row_rank: rank that trained the client of each ``/clients`` row and
            wrote it (not its owner when run.balance = round moved it).
        attrs: every attribute of ``/execution``; ``attrs["config"]`` holds the
            parsed execution-only configuration keys (``run.output``,
            ``run.progress``, ...) when the file has them, ``attrs["config_text"]``
            their INI text.
        data: every dataset of ``/execution`` as an array.
    """

    num_ranks: Optional[int]
    hostname: Optional[str]
    rounds: pd.DataFrame
    client_rank: np.ndarray
    client_row_rank: np.ndarray
    attrs: Dict[str, object] = field(default_factory=dict)
    data: Dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def wall_seconds(self) -> pd.Series:
        """Elapsed seconds at the end of each round (index: round)."""
        return self.rounds.set_index("round")["wall_seconds"]

    @property
    def total_seconds(self) -> float:
        """Wall-clock seconds of the whole round loop (NaN without rounds)."""
        w = self.rounds.get("wall_seconds")
        return float(w.iloc[-1]) if w is not None and len(w) else float("nan")


@dataclass
class Run:
    """One fedhpc run, as read by :func:`load`.

    Attributes:
        path: the results file.
        name: the run's name (by default the file stem).
        attrs: root attributes; ``attrs["config"]`` is the parsed configuration
            (``{section: {key: value}}``, see :func:`parse_config`) and
            ``attrs["config_text"]`` the INI text as stored.
        rounds: ``/rounds``, one row per round. ``test_accuracy``/``test_loss``
            are NaN in rounds without evaluation (``run.eval_every``). The
            columns ``wall_seconds`` and ``round_seconds`` are copied from
            ``/execution`` for plotting against time.
        clients: ``/clients``, one row per (round, sampled client), plus
            ``status_name`` (completed, dropped, over_budget, diverged).
            ``train_loss`` is NaN for clients that did not train.
        client_info: ``/client_info``, one row per client; the label histogram
            is in columns ``label_0 .. label_{C-1}`` (see :attr:`label_histogram`).
        execution: the :class:`Execution` data (rank count, timings).
        model_rounds: rounds after which ``/model`` holds a snapshot.
        model_layout: parsed ``model_layout``: ``[{"name", "shape", "kind"}, ...]``.
    """

    path: Path
    name: str
    attrs: Dict[str, object]
    rounds: pd.DataFrame
    clients: pd.DataFrame
    client_info: pd.DataFrame
    execution: Execution
    model_rounds: np.ndarray
    model_layout: List[dict]

    @property
    def config(self) -> Dict[str, Dict[str, object]]:
        """The parsed configuration, ``{section: {key: value}}``."""
        return self.attrs["config"]

    def config_flat(self) -> Dict[str, object]:
        """The configuration as ``{"section.key": value}`` (command-line spelling)."""
        return {f"{s}.{k}": v for s, kv in self.config.items() for k, v in kv.items()}

    @property
    def num_classes(self) -> int:
        """Number of label classes (columns of the label histogram)."""
        return sum(1 for c in self.client_info.columns if c.startswith("label_"))

    @property
    def label_histogram(self) -> pd.DataFrame:
        """Clients x classes label counts, indexed by ``client_id``."""
        cols = [f"label_{j}" for j in range(self.num_classes)]
        return self.client_info.set_index("client_id")[cols]

    @property
    def evaluated(self) -> pd.DataFrame:
        """The rounds with a test evaluation (non-NaN ``test_accuracy``)."""
        return self.rounds[self.rounds["test_accuracy"].notna()]

    def model_params(self, round: Optional[int] = None) -> np.ndarray:
        """Reads one ``/model`` snapshot (float32, ``num_params`` values).

        Args:
            round: the round of the snapshot (see :attr:`model_rounds`); the last
                snapshot if ``None``.
        """
        if len(self.model_rounds) == 0:
            raise KeyError(f"{self.path}: no model snapshot in /model")
        if round is None:
            i = len(self.model_rounds) - 1
        else:
            hits = np.flatnonzero(self.model_rounds == round)
            if len(hits) == 0:
                raise KeyError(f"{self.path}: no model snapshot after round {round} "
                               f"(snapshots: {self.model_rounds.tolist()})")
            i = int(hits[0])
        with h5py.File(self.path, "r") as f:
            return f["model/params"][i, :]

    def __repr__(self) -> str:
        return (f"Run({self.name!r}, rounds={len(self.rounds)}, clients={len(self.client_info)}, "
                f"ranks={self.execution.num_ranks}, path='{self.path}')")


def load(path: PathLike, name: Optional[str] = None) -> Run:
    """Reads one fedhpc results file into a :class:`Run`.

    Args:
        path: the ``.h5`` file written by fedhpc (``run.output``).
        name: the run's name; the file stem by default.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IsADirectoryError: ``path`` is a directory (use :func:`load_dir`).
        NotAFedhpcFile: the file is not HDF5, or lacks fedhpc's root attributes
            or groups, or its datasets are inconsistent; the message names the file.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such results file")
    if p.is_dir():
        raise IsADirectoryError(f"{p}: is a directory (use load_dir to read several runs)")
    try:
        f = h5py.File(p, "r")
    except OSError as e:
        raise NotAFedhpcFile(f"{p}: not a fedhpc results file (not readable as HDF5: {e})") from e
    with f:
        for a in _REQUIRED_ATTRS:
            if a not in f.attrs:
                raise NotAFedhpcFile(f"{p}: not a fedhpc results file (no root attribute '{a}')")
        for g in _REQUIRED_GROUPS:
            if g not in f or not isinstance(f[g], h5py.Group):
                raise NotAFedhpcFile(f"{p}: not a fedhpc results file (no group '/{g}')")

        attrs = {k: _decode(v) for k, v in f.attrs.items()}
        attrs["config_text"] = attrs["config"]
        attrs["config"] = parse_config(attrs["config_text"], source=str(p))

        rounds = _read_group(f, "rounds", _ROUNDS_ORDER, p)
        clients = _read_group(f, "clients", _CLIENTS_ORDER, p)
        client_info = _read_group(f, "client_info", _CLIENT_INFO_ORDER, p)
        for col in ("round", "test_accuracy"):
            if col not in rounds:
                raise NotAFedhpcFile(f"{p}: not a fedhpc results file (no dataset '/rounds/{col}')")

        execution = _read_execution(f, rounds, p)

        if "model" in f and "round" in f["model"]:
            model_rounds = f["model/round"][()]
        else:
            model_rounds = np.zeros(0, dtype=np.int64)

    for col in _EXECUTION_PER_ROUND:
        if col in execution.rounds:
            rounds[col] = execution.rounds[col].to_numpy()
    if "status" in clients:
        clients["status_name"] = pd.Categorical(
            [STATUS_NAMES.get(int(s), f"status_{int(s)}") for s in clients["status"]],
            categories=list(STATUS_NAMES.values()) + sorted(
                {f"status_{int(s)}" for s in clients["status"] if int(s) not in STATUS_NAMES}))
    layout = _parse_layout(attrs["model_layout"]) if isinstance(attrs.get("model_layout"), str) else []
    return Run(path=p, name=name if name is not None else p.stem, attrs=attrs, rounds=rounds,
               clients=clients, client_info=client_info, execution=execution,
               model_rounds=np.asarray(model_rounds), model_layout=layout)


def _read_execution(f: h5py.File, rounds: pd.DataFrame, path: Path) -> Execution:
    """``/execution`` -> :class:`Execution` (empty if the group is absent)."""
    n = len(rounds)
    if "execution" not in f:
        return Execution(None, None, pd.DataFrame({"round": rounds["round"].to_numpy()}),
                         np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    g = f["execution"]
    attrs = {k: _decode(v) for k, v in g.attrs.items()}
    if isinstance(attrs.get("config"), str):
        attrs["config_text"] = attrs["config"]
        attrs["config"] = parse_config(attrs["config_text"], source=f"{path} (/execution)")
    data = {k: v[()] for k, v in g.items() if isinstance(v, h5py.Dataset)}
    per_round = {"round": rounds["round"].to_numpy()}
    for col in _EXECUTION_PER_ROUND:
        if col in data:
            if len(data[col]) != n:
                raise NotAFedhpcFile(f"{path}: /execution/{col} has {len(data[col])} rows, "
                                     f"/rounds has {n}")
            per_round[col] = data[col]
    num_ranks = attrs.get("num_ranks")
    return Execution(
        num_ranks=int(num_ranks) if num_ranks is not None else None,
        hostname=attrs.get("hostname"),
        rounds=pd.DataFrame(per_round),
        client_rank=data.get("client_rank", np.zeros(0, dtype=np.int64)),
        client_row_rank=data.get("client_row_rank", np.zeros(0, dtype=np.int64)),
        attrs=attrs,
        data=data,
    )


# --------------------------------------------------------------------------- several runs


class Sweep:
    """Several runs, as read by :func:`load_dir`.

    Attributes:
        runs: ``{name: Run}`` in load order.
        rounds, clients, client_info: every run's frame concatenated, with a
            ``run`` column (the run's name) first.
        table: one row per run (index ``run``) with the configuration keys
            (``section.key``), the ``fedhpc_version``/``git_sha`` attributes and
            ``num_ranks`` whose values differ between the runs. Keys that only
            say where or how output was written (``run.output``,
            ``run.overwrite``, ``run.progress``) are left out.
        varying: the columns of ``table``.
    """

    def __init__(self, runs: Iterable[Run]):
        runs = list(runs)
        names = [r.name for r in runs]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"several runs are named {dup}; pass distinct names")
        self.runs: Dict[str, Run] = {r.name: r for r in runs}
        self.rounds = self._concat("rounds")
        self.clients = self._concat("clients")
        self.client_info = self._concat("client_info")
        self.table = self._differing()
        self.varying: List[str] = list(self.table.columns)

    def _concat(self, attr: str) -> pd.DataFrame:
        frames = []
        for name, run in self.runs.items():
            df = getattr(run, attr).copy()
            df.insert(0, "run", name)
            frames.append(df)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"run": []})

    def _differing(self) -> pd.DataFrame:
        rows = {}
        for name, run in self.runs.items():
            row = {k: v for k, v in run.config_flat().items() if k not in _IGNORED_CONFIG_KEYS}
            for a in _TABLE_ATTRS:
                if a in run.attrs:
                    row[a] = run.attrs[a]
            row["num_ranks"] = run.execution.num_ranks
            rows[name] = row
        keys: List[str] = []
        for row in rows.values():
            keys += [k for k in row if k not in keys]
        missing = object()
        varying = [k for k in keys
                   if len({repr(row.get(k, missing)) for row in rows.values()}) > 1]
        table = pd.DataFrame({k: [row.get(k) for row in rows.values()] for k in varying},
                             index=pd.Index(list(rows), name="run"))
        return table

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self):
        return iter(self.runs.values())

    def __getitem__(self, name: str) -> Run:
        return self.runs[name]

    def label(self, name: str, keys: Optional[List[str]] = None) -> str:
        """A legend label for run ``name``: its values of the varying keys.

        ``keys`` defaults to :attr:`varying`; with no keys the name is returned.
        """
        keys = self.varying if keys is None else keys
        if not keys:
            return name
        return ", ".join(f"{k}={self.table.at[name, k]}" for k in keys)

    def summary(self, target: Optional[float] = None) -> pd.DataFrame:
        """One row per run: :attr:`table` plus outcome columns.

        Columns added: ``rounds`` (rounds run), ``final_accuracy``,
        ``best_accuracy``, ``final_test_loss``, ``total_bytes`` (up + down),
        ``wall_seconds`` (round loop), and with ``target``: ``rounds_to_target``
        and ``bytes_to_target`` (missing where the target was not reached). The
        target is recorded in ``result.attrs["target"]``.
        """
        out = self.table.copy()
        r = self.rounds
        g = r.groupby("run", sort=False)
        out["rounds"] = g.size()
        out["final_accuracy"] = final_accuracy(r)
        out["best_accuracy"] = g["test_accuracy"].max()
        out["final_test_loss"] = g.apply(lambda d: _last_valid(d["test_loss"]))
        out["total_bytes"] = g.apply(lambda d: int((d["bytes_up"] + d["bytes_down"]).sum()))
        out["wall_seconds"] = pd.Series({n: run.execution.total_seconds
                                         for n, run in self.runs.items()})
        if target is not None:
            out["rounds_to_target"] = rounds_to_accuracy(r, target)
            out["bytes_to_target"] = bytes_to_accuracy(r, target)
            out.attrs["target"] = target
        return out

    def __repr__(self) -> str:
        return f"Sweep({len(self.runs)} runs: {list(self.runs)}, varying={self.varying})"


def load_dir(source: Union[PathLike, Iterable[PathLike]], pattern: str = "*.h5") -> Sweep:
    """Reads several results files into a :class:`Sweep`.

    Args:
        source: a directory (its files matching ``pattern``, not recursive), a
            glob such as ``results/lr_*.h5``, a single file, or a list of files.
        pattern: file pattern inside a directory.

    Runs are named by file stem; if two files share a stem (files from several
    directories), by their path relative to the common parent, without suffix.

    Raises:
        FileNotFoundError: nothing matches ``source``.
        NotAFedhpcFile: a matched file is not a fedhpc results file (named).
    """
    paths = result_paths(source, pattern)
    stems = [p.stem for p in paths]
    if len(set(stems)) == len(stems):
        names = stems
    else:
        root = Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
        names = [str(p.resolve().relative_to(root).with_suffix("")) for p in paths]
    return Sweep(load(p, name=n) for p, n in zip(paths, names))


def result_paths(source: Union[PathLike, Iterable[PathLike]], pattern: str = "*.h5") -> List[Path]:
    """The files :func:`load_dir` reads from ``source`` (a directory, a glob, a
    file or a list of files; a directory's or glob's sorted by name);
    FileNotFoundError if there are none."""
    if isinstance(source, (str, os.PathLike)):
        s = os.fspath(source)
        if os.path.isdir(s):
            paths = sorted(Path(s).glob(pattern))
            what = f"{s}: no results files matching '{pattern}'"
        elif glob.has_magic(s):
            paths = sorted(Path(p) for p in glob.glob(s))
            what = f"{s}: no file matches"
        else:
            paths = [Path(s)]
            if not paths[0].exists():
                raise FileNotFoundError(f"{s}: no such results file or directory")
            what = ""
    else:
        paths = [Path(p) for p in source]
        what = "load_dir: empty list of files"
    paths = [p for p in paths if p.is_file()]
    if not paths:
        raise FileNotFoundError(what)
    return paths


# --------------------------------------------------------------------------- metrics


def _frame(obj) -> pd.DataFrame:
    if isinstance(obj, (Run, Sweep)):
        return obj.rounds
    if isinstance(obj, pd.DataFrame):
        return obj
    raise TypeError(f"expected a Run, a Sweep or a rounds DataFrame, got {type(obj).__name__}")


def _per_run(obj, fn, dtype=None):
    """Applies ``fn(rounds_of_one_run)``; per run (Series by run) if several."""
    df = _frame(obj)
    if "run" not in df.columns:
        return fn(df)
    values = {name: fn(d) for name, d in df.groupby("run", sort=False)}
    s = pd.Series(values, dtype=dtype)
    s.index.name = "run"
    return s


def _last_valid(s: pd.Series) -> float:
    v = s.dropna()
    return float(v.iloc[-1]) if len(v) else float("nan")


def final_accuracy(obj) -> Union[float, pd.Series]:
    """Test accuracy of the last evaluated round (NaN if never evaluated).

    Rounds without evaluation (NaN) are skipped. For several runs: a Series
    indexed by run.
    """
    return _per_run(obj, lambda d: _last_valid(d["test_accuracy"]), dtype="float64")


def _first_reaching(d: pd.DataFrame, target: float) -> Optional[int]:
    hits = np.flatnonzero(d["test_accuracy"].to_numpy() >= target)  # NaN compares False
    return int(hits[0]) if len(hits) else None


def rounds_to_accuracy(obj, target: float) -> Union[Optional[int], pd.Series]:
    """Rounds of training after which test accuracy first reached ``target``.

    The count is ``round + 1`` of the first evaluated round with
    ``test_accuracy >= target`` (rounds are indexed from 0 and evaluated after
    their update). ``None`` if the target was never reached; for several runs a
    nullable-integer Series indexed by run with ``<NA>`` there. Only evaluated
    rounds can reach the target, so the answer is a multiple of
    ``run.eval_every`` (or the last round).
    """
    def one(d):
        i = _first_reaching(d, target)
        return None if i is None else int(d["round"].iloc[i]) + 1
    return _per_run(obj, one, dtype="Int64")


def bytes_to_accuracy(obj, target: float) -> Union[Optional[int], pd.Series]:
    """Cumulative communicated bytes (up + down) when accuracy first reached ``target``.

    ``None`` if never reached; for several runs a nullable-integer Series
    indexed by run.
    """
    def one(d):
        i = _first_reaching(d, target)
        return None if i is None else int(cumulative_bytes(d).iloc[i])
    return _per_run(obj, one, dtype="Int64")


def cumulative_bytes(obj, which: str = "total") -> pd.Series:
    """Bytes communicated up to and including each round, cumulated per run.

    Args:
        obj: a Run, a Sweep or a rounds DataFrame (with a ``run`` column the sum
            restarts for each run).
        which: ``"total"`` (``bytes_up + bytes_down``), ``"up"`` or ``"down"``.

    Returns:
        an int64 Series aligned with the rows of the rounds frame, named
        ``cumulative_bytes`` (``cumulative_bytes_up``/``_down``).
    """
    df = _frame(obj)
    if which == "total":
        b, name = df["bytes_up"] + df["bytes_down"], "cumulative_bytes"
    elif which in ("up", "down"):
        b, name = df[f"bytes_{which}"], f"cumulative_bytes_{which}"
    else:
        raise ValueError(f"which must be 'total', 'up' or 'down', not {which!r}")
    b = b.astype("int64")
    out = b.groupby(df["run"], sort=False).cumsum() if "run" in df.columns else b.cumsum()
    return out.rename(name)
