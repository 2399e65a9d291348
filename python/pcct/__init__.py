"""pcct: exact nearest-neighbour search on a parallel compressed cover tree.

The tree is built and searched in Go (a shared library shipped inside this
package); :class:`NearestNeighbors` is driven like scikit-learn's, and
:class:`CoverTree` is the lower-level tree with a KDTree-like interface
(:class:`BruteForceIndex` has the same interface over brute force, which
``algorithm="auto"`` chooses where a tree cannot prune). All can be
updated (``insert``, ``delete``), snapshotted (``snapshot``),
pickled and saved (``save``, :func:`load`).

>>> from pcct import NearestNeighbors
>>> nn = NearestNeighbors(n_neighbors=10).fit(X)          # doctest: +SKIP
>>> dist, ind = nn.kneighbors(Q)                          # doctest: +SKIP
"""

__version__ = "0.1.0"

from ._io import load
from .exceptions import InvalidParameterError, ReadOnlyError
from .neighbors import NearestNeighbors
from .transformers import KNeighborsTransformer, RadiusNeighborsTransformer
from .tree import BruteForceIndex, CoverTree, TreeStructure

__all__ = [
    "NearestNeighbors",
    "KNeighborsTransformer",
    "RadiusNeighborsTransformer",
    "CoverTree",
    "BruteForceIndex",
    "InvalidParameterError",
    "ReadOnlyError",
    "TreeStructure",
    "load",
    "__version__",
    "library_version",
    "gpu_available",
]


def library_version():
    """Return the Go library's version string, e.g. 'pcct 0.1.0 (go1.26.0)'.

    This loads the library (and starts its Go runtime) if it is not loaded.
    """
    from ._lib import version

    return version()


def gpu_available():
    """Return whether pcct can search on a GPU: always False in this build.

    pcct's design has an optional CUDA backend (Go, on gorgonia.org/cu,
    behind the build tag ``cuda``), but this build of the library was made
    without it: the backend is not part of this release, as its work waits
    for GPU hardware to build and test it on. Every search runs on the CPU,
    on ``n_jobs`` goroutines. The answer does not depend on the machine, so
    this function loads nothing and probes no driver.

    Returns
    -------
    available : bool
        False.
    """
    return False
