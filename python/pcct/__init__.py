"""pcct: exact nearest-neighbour search on a parallel compressed cover tree.

The tree is built and searched in Go (a shared library shipped inside this
package); :class:`NearestNeighbors` is driven like scikit-learn's, and
:class:`CoverTree` is the lower-level tree with a KDTree-like interface
(:class:`BruteForceIndex` has the same interface over brute force, which
``algorithm="auto"`` chooses where a tree cannot prune). All can be
updated (``insert``, ``delete``), snapshotted (``snapshot``),
pickled and saved (``save``, :func:`load`). :mod:`pcct.cluster` runs the
exact minimum spanning tree, single linkage, DBSCAN and HDBSCAN on the
tree.

>>> from pcct import NearestNeighbors
>>> nn = NearestNeighbors(n_neighbors=10).fit(X)          # doctest: +SKIP
>>> dist, ind = nn.kneighbors(Q)                          # doctest: +SKIP
"""

__version__ = "0.1.0"

from ._io import load
from .exceptions import InvalidParameterError, ReadOnlyError
from .neighbors import NearestNeighbors
from .transformers import KNeighborsTransformer, RadiusNeighborsTransformer
from .tree import BruteForceIndex, CoverTree, LevelCover, TreeStructure

from . import cluster  # noqa: E402  (pcct.cluster after import pcct)

__all__ = [
    "NearestNeighbors",
    "KNeighborsTransformer",
    "RadiusNeighborsTransformer",
    "CoverTree",
    "BruteForceIndex",
    "InvalidParameterError",
    "ReadOnlyError",
    "TreeStructure",
    "LevelCover",
    "cluster",
    "load",
    "__version__",
    "library_version",
    "gpu_available",
    "gpu_info",
]


def library_version():
    """Return the Go library's version string, e.g. 'pcct 0.1.0 (go1.26.0)'.

    This loads the library (and starts its Go runtime) if it is not loaded.
    """
    from ._lib import version

    return version()


def gpu_available():
    """Return whether pcct can search on a GPU in this process.

    True when pcct's CUDA build is installed, the NVIDIA driver loads and
    starts, and it reports a device: then ``device="cuda"`` works and
    ``device="auto"`` uses the GPU for large batches. The driver is asked
    through ctypes before pcct loads its library (the CUDA build is loaded
    only where it works; see ``pcct._gpu``). This loads pcct's library if
    it is not loaded. :func:`gpu_info` says which GPU, or why there is none.

    Returns
    -------
    available : bool
    """
    return gpu_info()[0]


def gpu_info():
    """Describe the GPU pcct uses, or why there is none.

    Returns
    -------
    available : bool
        Whether ``device="cuda"`` works.
    detail : str
        The GPU, e.g. "NVIDIA H200 (device 0, compute 9.0, 139.8 GiB, CUDA
        13.0 driver)", or the reason none is usable: "pcct was built
        without CUDA", "no NVIDIA driver (libcuda.so.1 could not be
        loaded)", "the NVIDIA driver reports no CUDA device", ...
    """
    from ._lib import gpu_info as _gpu_info

    return _gpu_info()
