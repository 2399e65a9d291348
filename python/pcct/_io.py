"""``pcct.load``: rebuild the tree or estimator a file holds (the format is
in ``_format.py``), and ``save`` for any of them.

This module sits above every class it can load and is imported by none of
them: a class saves itself through ``_format.write``.
"""

from __future__ import annotations

from . import _format
from ._sparse import SparseIndex
from .neighbors import NearestNeighbors
from .transformers import KNeighborsTransformer, RadiusNeighborsTransformer
from .tree import CoverTree

__all__ = ["save", "load", "loads"]

# The estimator classes a file may name, by the name it gives.
_ESTIMATORS = {cls.__name__: cls for cls in (NearestNeighbors, KNeighborsTransformer,
                                              RadiusNeighborsTransformer)}


def save(obj, file):
    """Write a CoverTree or a fitted pcct estimator to file (a path or a
    binary file object)."""
    if not isinstance(obj, (CoverTree, *_ESTIMATORS.values())):
        raise TypeError(f"pcct can save a CoverTree or a NearestNeighbors (or a pcct transformer), "
                        f"not {type(obj).__name__}.")
    obj.save(file)


def load(file):
    """Read a CoverTree or a pcct estimator (NearestNeighbors, a transformer)
    written by its ``save``.

    Parameters
    ----------
    file : str, os.PathLike or binary file object
        The file to read (a path, or an object with a ``read`` method).

    Returns
    -------
    obj : CoverTree, NearestNeighbors, KNeighborsTransformer or RadiusNeighborsTransformer
        Whichever was saved, answering exactly as it did: the same points,
        ids (deleted ids stay unused), parameters and fitted attributes. A
        saved snapshot loads read-only.

    Raises
    ------
    ValueError
        If the file is not a pcct file, or is truncated or damaged.
    """
    data, name = _format.read_file(file)
    return loads(data, name)


def loads(data, name="the data"):
    """Read a saved CoverTree or NearestNeighbors from a bytes-like object."""
    header, body = _format.read(data, name)
    state = header["tree"]
    if isinstance(state, dict) and state.get("sparse"):
        # An estimator fitted on sparse points (a file of kind "estimator").
        try:
            tree = SparseIndex._restore(body, state)
        except ValueError as e:
            raise _format.damaged(name, str(e)) from None
    else:
        tree = CoverTree._restore(body, state)
    if header["kind"] == "tree":
        if not isinstance(tree, CoverTree):
            raise _format.damaged(name, "a tree file holding a sparse index")
        return tree
    info = header.get("estimator")
    try:
        if info["class"] not in _ESTIMATORS:
            raise ValueError(f"class {info['class']!r}")
        return _ESTIMATORS[info["class"]]._from_saved(info, tree)
    except (ValueError, KeyError, TypeError) as e:
        raise _format.damaged(name, f"bad estimator header ({e})") from None
