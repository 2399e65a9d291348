"""pcct: exact nearest-neighbour search on a parallel compressed cover tree.

The tree is built and searched in Go (a shared library shipped inside this
package); :class:`NearestNeighbors` is driven like scikit-learn's, and
:class:`CoverTree` is the lower-level tree with a KDTree-like interface.
Both can be updated (``insert``, ``delete``), snapshotted (``snapshot``),
pickled and saved (``save``, :func:`load`).

>>> from pcct import NearestNeighbors
>>> nn = NearestNeighbors(n_neighbors=10).fit(X)          # doctest: +SKIP
>>> dist, ind = nn.kneighbors(Q)                          # doctest: +SKIP
"""

__version__ = "0.1.0"

from ._io import load
from .neighbors import InvalidParameterError, NearestNeighbors
from .tree import CoverTree, ReadOnlyError

__all__ = [
    "NearestNeighbors",
    "CoverTree",
    "InvalidParameterError",
    "ReadOnlyError",
    "load",
    "__version__",
    "library_version",
]


def library_version():
    """Return the Go library's version string, e.g. 'pcct 0.1.0 (go1.26.0)'.

    This loads the library (and starts its Go runtime) if it is not loaded.
    """
    from ._lib import version

    return version()
