"""Loaders of the real datasets used by the tests (and the demo, if present).

The folder is $PCCT_DATASETS, by default ../shared/datasets relative to the
repository root. Each loader returns a float64 array (rows x features), or
raises FileNotFoundError naming the missing file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent


def datasets_dir() -> Path:
    env = os.environ.get("PCCT_DATASETS")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "datasets"


def _file(name: str) -> Path:
    path = datasets_dir() / name
    if not path.is_file():
        raise FileNotFoundError(
            f"dataset file {name} not found in {datasets_dir()} "
            "(set PCCT_DATASETS to the folder that holds it)"
        )
    return path


def letter() -> np.ndarray:
    """UCI Letter Recognition: 20,000 x 16 integers (label first)."""
    return np.loadtxt(_file("letter-recognition.data"), delimiter=",", usecols=range(1, 17))


def pendigits() -> np.ndarray:
    """UCI Pen-Based Digits: 7,494 + 3,498 x 16 integers (header, label last)."""
    parts = [
        np.loadtxt(_file(f), delimiter=",", skiprows=1, usecols=range(16))
        for f in ("pendigits.tra", "pendigits.tes")
    ]
    return np.vstack(parts)


def magic() -> np.ndarray:
    """UCI MAGIC Gamma Telescope: 19,020 x 10 floats (label last)."""
    return np.loadtxt(_file("magic04.data"), delimiter=",", usecols=range(10))


def bunny() -> np.ndarray:
    """Stanford bunny: 35,947 x 3 vertices from the OBJ file."""
    rows = []
    with open(_file("stanford-bunny.obj")) as f:
        for line in f:
            if line.startswith("v "):
                rows.append([float(v) for v in line.split()[1:4]])
    return np.array(rows)


def zipcodes() -> np.ndarray:
    """US zip codes: 42,049 x 2 (latitude, longitude)."""
    return np.loadtxt(_file("zipcodes.csv"), delimiter=",", skiprows=1, usecols=(1, 2))


LOADERS = {
    "letter": letter,
    "pendigits": pendigits,
    "magic": magic,
    "bunny": bunny,
    "zipcodes": zipcodes,
}


def load(name: str) -> np.ndarray:
    return LOADERS[name]()
