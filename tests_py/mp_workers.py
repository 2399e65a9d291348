"""Functions run in other processes by test_concurrency.py (spawn and loky
workers import them by module name, so they live outside the test file)."""

import os

import numpy as np


def query(estimator, Q, k):
    """k-NN of Q on an estimator unpickled in this process."""
    return estimator.kneighbors(Q, n_neighbors=k), os.getpid()


def fit_and_query(seed, k):
    """Fit and query in this process, from scratch."""
    from pcct import NearestNeighbors

    rng = np.random.default_rng(seed)
    X = rng.random((500, 3))
    return NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X[:20]), os.getpid()
