"""pcct's file format: ``CoverTree.save``, ``NearestNeighbors.save`` and
:func:`pcct.load`.

A file is, in order (integers little-endian):

=========  ========  ======================================================
magic      8 bytes   ``b"PCCTSAVE"``
version    uint32    1
hlen       uint32    length of the header in bytes
header     hlen      UTF-8 JSON object: ``kind`` ("tree" or "estimator"),
                     ``dtype`` ("float32" or "float64"), ``tree_bytes``
                     (N), ``tree`` (the CoverTree's parameters), and for an
                     estimator ``estimator`` (its class, parameters and
                     fitted attributes)
tree       N bytes   the tree in the Go library's versioned binary format
                     (it has its own magic "PCCTTREE" and CRC-32)
crc        uint32    CRC-32 (zlib/IEEE) of every byte before it
=========  ========  ======================================================

No pickle is involved, so loading a file runs no code from it. A file that
is truncated, extended or damaged anywhere raises ValueError.
"""

from __future__ import annotations

import json
import os
import struct
import zlib

import numpy as np

__all__ = ["save", "load", "MAGIC", "FORMAT_VERSION"]

MAGIC = b"PCCTSAVE"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sII")  # magic, version, header length
_CRC = struct.Struct("<I")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"pcct cannot save a value of type {type(o).__name__}: {o!r}")


def _estimator_header(est):
    attrs = {
        "effective_metric_": est.effective_metric_,
        "effective_metric_params_": est.effective_metric_params_,
        "n_features_in_": est.n_features_in_,
        "read_only": bool(getattr(est, "_read_only", False)),
    }
    if hasattr(est, "feature_names_in_"):
        attrs["feature_names_in_"] = [str(f) for f in est.feature_names_in_]
    return {"class": "NearestNeighbors", "params": est.get_params(deep=False), "attributes": attrs}


def save(obj, file):
    """Write a CoverTree or a fitted NearestNeighbors to file (a path or a
    binary file object)."""
    from .neighbors import NearestNeighbors
    from .tree import CoverTree

    if isinstance(obj, NearestNeighbors):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(obj)
        tree = obj.tree_
        kind = "estimator"
    elif isinstance(obj, CoverTree):
        tree = obj
        kind = "tree"
    else:
        raise TypeError(f"pcct can save a CoverTree or a NearestNeighbors, not {type(obj).__name__}.")
    version = tree._version  # one version for the whole file
    body = version.encode()
    header = {
        "kind": kind,
        "dtype": tree.dtype.name,
        "tree_bytes": len(body),
        "tree": tree._state(),
    }
    if kind == "estimator":
        header["estimator"] = _estimator_header(obj)
    try:
        hbytes = json.dumps(header, default=_json_default, sort_keys=True).encode("utf-8")
    except TypeError as e:
        raise ValueError(f"pcct cannot save this {type(obj).__name__}: {e}") from None
    head = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(hbytes)) + hbytes
    crc = zlib.crc32(body, zlib.crc32(head))
    tail = _CRC.pack(crc)
    if hasattr(file, "write"):
        file.write(head)
        file.write(body)
        file.write(tail)
        return
    with open(os.fspath(file), "wb") as f:
        f.write(head)
        f.write(body)
        f.write(tail)


def _damaged(name, why):
    return ValueError(f"{name} is not a readable pcct file: {why}.")


def load(file):
    """Read a CoverTree or a NearestNeighbors written by their ``save``.

    Parameters
    ----------
    file : str, os.PathLike or binary file object
        The file to read (a path, or an object with a ``read`` method).

    Returns
    -------
    obj : CoverTree or NearestNeighbors
        Whichever was saved, answering exactly as it did: the same points,
        ids (deleted ids stay unused), parameters and fitted attributes. A
        saved snapshot loads read-only.

    Raises
    ------
    ValueError
        If the file is not a pcct file, or is truncated or damaged.
    """
    if hasattr(file, "read"):
        data = file.read()
        name = repr(getattr(file, "name", "the file"))
    else:
        path = os.fspath(file)
        with open(path, "rb") as f:
            data = f.read()
        name = repr(path)
    return loads(data, name)


def loads(data, name="the data"):
    """Read a saved CoverTree or NearestNeighbors from a bytes-like object."""
    from .tree import CoverTree

    view = memoryview(data).cast("B")
    if len(view) < _PREFIX.size or bytes(view[:8]) != MAGIC:
        raise _damaged(name, "it does not start with the pcct magic bytes")
    _, version, hlen = _PREFIX.unpack_from(view)
    if version != FORMAT_VERSION:
        raise _damaged(name, f"format version {version}, this pcct reads version {FORMAT_VERSION}")
    if len(view) < _PREFIX.size + hlen + _CRC.size:
        raise _damaged(name, "it is truncated")
    crc_at = len(view) - _CRC.size
    if zlib.crc32(view[:crc_at]) != _CRC.unpack_from(view, crc_at)[0]:
        raise _damaged(name, "checksum mismatch (the file is truncated or damaged)")
    try:
        header = json.loads(bytes(view[_PREFIX.size : _PREFIX.size + hlen]).decode("utf-8"))
        kind = header["kind"]
        size = int(header["tree_bytes"])
        state = header["tree"]
        if kind not in ("tree", "estimator") or header["dtype"] != state["dtype"]:
            raise ValueError(f"kind {kind!r}")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise _damaged(name, f"bad header ({e})") from None
    start = _PREFIX.size + hlen
    if start + size != crc_at:
        raise _damaged(name, f"the tree should take {size} bytes, the file has {crc_at - start}")
    tree = CoverTree._restore(view[start:crc_at], state)
    if kind == "tree":
        return tree
    return _restore_estimator(header.get("estimator"), tree, name)


def _restore_estimator(info, tree, name):
    from .neighbors import NearestNeighbors

    try:
        if info["class"] != "NearestNeighbors":
            raise ValueError(f"class {info['class']!r}")
        params = dict(info["params"])
        attrs = info["attributes"]
        est = NearestNeighbors(**params)
        est._check_params()
        est.tree_ = tree
        est.effective_metric_ = str(attrs["effective_metric_"])
        est.effective_metric_params_ = dict(attrs["effective_metric_params_"])
        est.n_features_in_ = int(attrs["n_features_in_"])
        if "feature_names_in_" in attrs:
            est.feature_names_in_ = np.asarray(attrs["feature_names_in_"], dtype=object)
        if est.n_features_in_ != tree.n_features:
            raise ValueError("n_features_in_ differs from the tree's dimension")
        if attrs.get("read_only"):
            est._read_only = True
    except (ValueError, KeyError, TypeError) as e:
        raise _damaged(name, f"bad estimator header ({e})") from None
    return est
