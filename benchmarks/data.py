"""Datasets of the benchmark: the real ones, scikit-learn's digits,
Fashion-MNIST and two synthetic scaling families.

Every loader returns ``(X, Q, split)``: the points to fit (float64, C order),
the held-out queries, and a words-only description of how they were split.

Folders come from the environment, never from this file:

- ``PCCT_DATASETS``: the five UCI/Stanford/vega files (default
  ``../shared/datasets`` relative to the repository root).
- ``PCCT_FASHION_MNIST``: the folder with Fashion-MNIST's four IDX ``.gz``
  files (default: the Debian package ``dataset-fashion-mnist``'s standard
  install location, ``/usr/share/datasets/fashion-mnist``).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
SPLIT_SEED = 20240611  # fixed: every peer sees the same split


class Missing(Exception):
    """A dataset's files are not there (the benchmark skips it and says so)."""


def datasets_dir() -> Path:
    env = os.environ.get("PCCT_DATASETS")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "datasets"


def fashion_dir() -> Path:
    return Path(os.environ.get("PCCT_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))


def _file(name: str, folder: Path | None = None) -> Path:
    folder = datasets_dir() if folder is None else folder
    path = folder / name
    if not path.is_file():
        raise Missing(f"{name} not found in {folder} (set PCCT_DATASETS / PCCT_FASHION_MNIST)")
    return path


def _holdout(X: np.ndarray, frac: float = 0.10):
    """A random 10% of the rows held out as queries (fixed seed)."""
    rng = np.random.default_rng(SPLIT_SEED)
    perm = rng.permutation(len(X))
    m = max(1, int(round(frac * len(X))))
    q, f = np.sort(perm[:m]), np.sort(perm[m:])
    return np.ascontiguousarray(X[f]), np.ascontiguousarray(X[q]), "random 10% held out"


def letter():
    X = np.loadtxt(_file("letter-recognition.data"), delimiter=",", usecols=range(1, 17))
    return _holdout(X)


def pendigits():
    tra = np.loadtxt(_file("pendigits.tra"), delimiter=",", skiprows=1, usecols=range(16))
    tes = np.loadtxt(_file("pendigits.tes"), delimiter=",", skiprows=1, usecols=range(16))
    return np.ascontiguousarray(tra), np.ascontiguousarray(tes), "the dataset's train/test split"


def magic():
    X = np.loadtxt(_file("magic04.data"), delimiter=",", usecols=range(10))
    return _holdout(X)


def bunny():
    rows = []
    with open(_file("stanford-bunny.obj")) as f:
        for line in f:
            if line.startswith("v "):
                rows.append([float(v) for v in line.split()[1:4]])
    return _holdout(np.array(rows))


def zipcodes():
    X = np.loadtxt(_file("zipcodes.csv"), delimiter=",", skiprows=1, usecols=(1, 2))
    return _holdout(X)


def digits():
    from sklearn.datasets import load_digits

    return _holdout(load_digits().data.astype(np.float64))


def _idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    a = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return a.reshape(dims[0], -1)


def fashion_mnist():
    d = fashion_dir()
    X = _idx(_file("train-images-idx3-ubyte.gz", d)).astype(np.float64)
    Q = _idx(_file("t10k-images-idx3-ubyte.gz", d)).astype(np.float64)
    return X, Q, "the dataset's train/test split (60,000 / 10,000)"


def manifold2d(n: int, ambient: int = 32, seed: int = 1):
    """A 2-D uniform sample pushed through a smooth random map into 32-D:
    x = A sin(W u + b), u ~ U[0,1]^2, with 16 random Fourier features of
    moderate frequency. Intrinsic dimension 2, ambient 32."""
    rng = np.random.default_rng(seed)
    W = rng.normal(scale=3.0, size=(2, 16))
    b = rng.uniform(0, 2 * np.pi, size=16)
    A = rng.normal(size=(16, ambient)) / 4.0
    u = rng.uniform(size=(n + n // 10, 2))
    X = np.sin(u @ W + b) @ A
    return np.ascontiguousarray(X[:n]), np.ascontiguousarray(X[n:]), "synthetic: n fitted + n/10 fresh queries"


def gaussian8(n: int, seed: int = 2):
    """Standard normal in 8-D (intrinsic dimension 8)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal(size=(n + n // 10, 8))
    return np.ascontiguousarray(X[:n]), np.ascontiguousarray(X[n:]), "synthetic: n fitted + n/10 fresh queries"


REAL = {
    "digits": digits,
    "letter": letter,
    "pendigits": pendigits,
    "magic": magic,
    "bunny": bunny,
    "zipcodes": zipcodes,
    "fashion-mnist": fashion_mnist,
}

SCALING = {"manifold2d-32": manifold2d, "gaussian-8": gaussian8}


def load(name: str, n: int | None = None):
    """(X, Q, split) of a real dataset, or of a synthetic family at size n."""
    if name in REAL:
        return REAL[name]()
    return SCALING[name](n)
