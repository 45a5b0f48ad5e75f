"""Inputs and outputs of the analysis notebooks (analysis/notebooks/).

The notebooks take their paths from environment variables so that they run
unchanged by hand, under ``jupyter nbconvert --execute`` and in ctest:

=====================  ==========================================  =========================
variable               meaning                                     default
=====================  ==========================================  =========================
``FEDHPC_RESULTS``     one results file                            newest ``results/*.h5``
``FEDHPC_RESULTS_DIR`` a directory or glob of results files        ``results/``
``FEDHPC_FIGURES``     where figures (PNG) and tables (CSV) go     ``analysis/figures/``
``FEDHPC_TARGET_ACCURACY``  target test accuracy (fraction)        ``0.8``
``FEDHPC_ROOT``        the repository root                         found from the cwd
=====================  ==========================================  =========================

Relative paths are relative to the repository root (a notebook's working
directory is its own folder under Jupyter and nbconvert).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

RESULTS_DEFAULT_DIR = "results"
FIGURES_DEFAULT_DIR = "analysis/figures"
TARGET_DEFAULT = 0.8


def repo_root() -> Path:
    """The repository root: ``$FEDHPC_ROOT``, or the nearest parent of the
    working directory (or of this package) that holds ``analysis/fedhpc_analysis``."""
    env = os.environ.get("FEDHPC_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent  # analysis/fedhpc_analysis
    for start in (Path.cwd().resolve(), here):
        for p in (start, *start.parents):
            if (p / "analysis" / "fedhpc_analysis").is_dir():
                return p
    raise FileNotFoundError(f"no fedhpc repository above {Path.cwd()}; set FEDHPC_ROOT")


def resolve(path: str) -> Path:
    """``path`` made absolute against the repository root if it is relative."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else repo_root() / p


def results_file(var: str = "FEDHPC_RESULTS") -> Path:
    """The results file named by ``$var``, or the newest ``results/*.h5``.

    Raises FileNotFoundError (naming the variable and the place looked at) if
    there is none, so that a notebook run without results fails loudly.
    """
    env = os.environ.get(var)
    if env:
        p = resolve(env)
        if not p.is_file():
            raise FileNotFoundError(f"{var}={env}: {p} is not a file")
        return p
    d = resolve(RESULTS_DEFAULT_DIR)
    files = sorted(d.glob("*.h5"), key=lambda f: f.stat().st_mtime) if d.is_dir() else []
    if not files:
        raise FileNotFoundError(f"no results file: {var} is not set and {d} holds no *.h5 "
                                f"(run scripts/run.sh or set {var}=path/to/run.h5)")
    return files[-1]


def results_dir(var: str = "FEDHPC_RESULTS_DIR", default: str = RESULTS_DEFAULT_DIR) -> str:
    """The directory or glob named by ``$var`` (else ``default``, ``results/``),
    made absolute, for :func:`fedhpc_analysis.load_dir`."""
    env = os.environ.get(var)
    return str(resolve(env if env else default))


def figures_dir(var: str = "FEDHPC_FIGURES") -> Path:
    """The figure directory named by ``$var`` (default ``analysis/figures/``), created."""
    d = resolve(os.environ.get(var) or FIGURES_DEFAULT_DIR)
    d.mkdir(parents=True, exist_ok=True)
    return d


def target_accuracy(var: str = "FEDHPC_TARGET_ACCURACY", default: float = TARGET_DEFAULT) -> float:
    """The target accuracy (a fraction in (0, 1]) from ``$var``, or ``default``."""
    env = os.environ.get(var)
    if not env:
        return default
    value = float(env)
    if not 0 < value <= 1:
        raise ValueError(f"{var}={env}: expected a fraction in (0, 1]")
    return value


def save_figure(fig, name: str, directory: Optional[Path] = None, dpi: int = 100) -> Path:
    """Saves ``fig`` as ``<figures_dir>/<name>`` (PNG), prints and returns the path."""
    path = (directory if directory is not None else figures_dir()) / name
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return path


def bytes_scale(max_bytes: float):
    """``(divisor, unit)`` to show byte counts up to ``max_bytes`` readably."""
    for div, unit in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if max_bytes >= 2 * div:
            return div, unit
    return 1, "B"
