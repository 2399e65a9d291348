"""pcct's file format, written by ``save`` and read by :func:`pcct.load`.

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

This module knows the frame only, not the objects: each class writes its
own header (``_save_parts``), and ``_io.py`` rebuilds the object a file
holds.
"""

from __future__ import annotations

import json
import os
import struct
import zlib

import numpy as np

__all__ = ["write", "read", "read_file", "damaged", "MAGIC", "FORMAT_VERSION", "KINDS"]

MAGIC = b"PCCTSAVE"
FORMAT_VERSION = 1
KINDS = ("tree", "estimator")
_PREFIX = struct.Struct("<8sII")  # magic, version, header length
_CRC = struct.Struct("<I")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"pcct cannot save a value of type {type(o).__name__}: {o!r}")


def write(file, kind, body, header, what):
    """Write one object to file (a path or a binary file object).

    kind is "tree" or "estimator", body the encoded tree, header the rest
    of the JSON header (``dtype``, ``tree``, and ``estimator`` for an
    estimator); what names the object in errors.
    """
    header = {"kind": kind, "tree_bytes": len(body), **header}
    try:
        hbytes = json.dumps(header, default=_json_default, sort_keys=True).encode("utf-8")
    except TypeError as e:
        raise ValueError(f"pcct cannot save this {what}: {e}") from None
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


def damaged(name, why):
    """The ValueError for a file that is not a readable pcct file."""
    return ValueError(f"{name} is not a readable pcct file: {why}.")


def read_file(file):
    """(data, name) of a path or a binary file object."""
    if hasattr(file, "read"):
        return file.read(), repr(getattr(file, "name", "the file"))
    path = os.fspath(file)
    with open(path, "rb") as f:
        return f.read(), repr(path)


def read(data, name="the data"):
    """Check the frame of saved bytes: (header, body), the JSON header as a
    dict and the encoded tree as a memoryview (not copied). ValueError,
    naming ``name``, if anything is wrong."""
    view = memoryview(data).cast("B")
    if len(view) < _PREFIX.size or bytes(view[:8]) != MAGIC:
        raise damaged(name, "it does not start with the pcct magic bytes")
    _, version, hlen = _PREFIX.unpack_from(view)
    if version != FORMAT_VERSION:
        raise damaged(name, f"format version {version}, this pcct reads version {FORMAT_VERSION}")
    if len(view) < _PREFIX.size + hlen + _CRC.size:
        raise damaged(name, "it is truncated")
    crc_at = len(view) - _CRC.size
    if zlib.crc32(view[:crc_at]) != _CRC.unpack_from(view, crc_at)[0]:
        raise damaged(name, "checksum mismatch (the file is truncated or damaged)")
    try:
        header = json.loads(bytes(view[_PREFIX.size : _PREFIX.size + hlen]).decode("utf-8"))
        kind = header["kind"]
        size = int(header["tree_bytes"])
        state = header["tree"]
        if kind not in KINDS or header["dtype"] != state["dtype"]:
            raise ValueError(f"kind {kind!r}")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise damaged(name, f"bad header ({e})") from None
    start = _PREFIX.size + hlen
    if start + size != crc_at:
        raise damaged(name, f"the tree should take {size} bytes, the file has {crc_at - start}")
    return header, view[start:crc_at]
