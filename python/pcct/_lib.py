"""Loader of pcct's shared library (the Go core behind a C ABI).

The library is built by ``go build -buildmode=c-shared`` and shipped inside
the package. It is loaded lazily, on the first call that needs it, because
loading it starts a Go runtime in this process, and a Go runtime does not
survive ``fork()``: a child forked after the load hangs on its first call
into Go. The loader detects such a child and raises instead.

Every exported function except :func:`error_message` and :func:`version`
returns 0 on success or a positive error ticket; :func:`check` turns a
ticket into ``ValueError``, ``RuntimeError``, ``MemoryError`` or
:class:`StoppedError` (a call stopped through its control words; see
``_run.py``).

Only one Go shared library can live in a process (golang/go#18976,
golang/go#65050), so pcct loads exactly one, and the package never loads
another. There are two builds: the CPU build (``libpcct.so``) and, where
``pip install`` could build it, the CUDA build (``libpcct_cuda.so``); the
CUDA build is loaded only after the NVIDIA driver was found to work
(:func:`select`, :mod:`pcct._gpu`).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from ctypes import POINTER, c_char_p, c_double, c_int32, c_int64, c_size_t, c_uint64, c_void_p

from . import _callback

__all__ = ["lib", "check", "library_path", "select", "selection", "version", "gpu_info",
           "ForkedChildError", "StoppedError", "AnswerLimitError"]

# uintptr_t: the width of a pointer on every platform Go's c-shared supports.
c_uintptr = c_size_t

# Error kinds reported by pcct_error_message.
_KIND_VALUE = 1
_KIND_INTERNAL = 2
_KIND_MEMORY = 3
_KIND_STOPPED = 4  # the call was stopped through its control words
_KIND_LIMIT = 5  # a radius batch found more answers than the limit it was given


class ForkedChildError(RuntimeError):
    """Raised in a process forked after pcct's Go runtime was started."""


class StoppedError(RuntimeError):
    """A long call was stopped through its control words (error kind 4).

    pcct stops a call this way only when the calling thread was interrupted
    (Ctrl-C), and then raises ``KeyboardInterrupt`` instead; this exception
    reaches a caller only if something else set the stop word.
    """


class AnswerLimitError(MemoryError):
    """A batch of radius queries found more answers than the limit it was
    given (error kind 5), and stopped before taking more memory. The
    query code then counts the answers and raises an ordinary MemoryError
    that names their number."""


def _library_name(cuda: bool = False) -> str:
    base = "libpcct_cuda" if cuda else "libpcct"
    return base + (".dll" if sys.platform == "win32" else ".so")


def _package_dir() -> str:
    return os.path.dirname(os.path.abspath(__file__))


def _env_off(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("0", "off", "no", "false")


def select() -> tuple[str, bool, str]:
    """Choose the library this process loads: (path, is the CUDA build,
    why).

    - ``PCCT_LIBRARY`` names a library to load whatever it is (for
      development against a fresh build); it is taken as the CUDA build if
      its file name says so.
    - Otherwise the CUDA build (``libpcct_cuda.so`` in the package, or
      ``PCCT_CUDA_LIBRARY``) is chosen only when it exists, ``PCCT_CUDA``
      is not ``0``, and the NVIDIA driver loads, starts and reports a device
      (:func:`pcct._gpu.probe`, through ctypes, before any Go library is
      loaded).
    - Else the CPU build, ``libpcct.so`` in the package.

    Never both: a process holds one Go runtime.
    """
    override = os.environ.get("PCCT_LIBRARY")
    if override:
        return override, "cuda" in os.path.basename(override), "PCCT_LIBRARY is set"
    cpu = os.path.join(_package_dir(), _library_name())
    cuda = os.environ.get("PCCT_CUDA_LIBRARY") or os.path.join(_package_dir(), _library_name(True))
    if not os.path.exists(cuda):
        return cpu, False, "pcct was built without CUDA"
    if _env_off("PCCT_CUDA"):
        return cpu, False, "PCCT_CUDA=0 turns the CUDA build off"
    from ._gpu import probe

    usable, detail = probe()
    if not usable:
        return cpu, False, detail
    return cuda, True, detail


_selection: tuple[str, bool, str] | None = None


def selection() -> tuple[str, bool, str]:
    """The library chosen for this process (see :func:`select`), chosen
    once: (path, is the CUDA build, why)."""
    global _selection
    if _selection is None:
        _selection = select()
    return _selection


def library_path() -> str:
    """Return the path of the shared library this process loads.

    The environment variable ``PCCT_LIBRARY`` overrides the library shipped
    inside the package (for development against a fresh build); otherwise
    the CUDA build is chosen where a GPU is usable (see :func:`select`).
    """
    return selection()[0]


# (name, restype, argtypes) of every export.
_SIGNATURES = [
    ("pcct_error_message", c_int64, [c_int64, c_char_p, c_int64, POINTER(c_int32)]),
    ("pcct_tree_build", c_int64,
     [c_void_p, c_int32, c_int64, c_int64, c_int32, c_double, c_uint64, c_int32,
      c_void_p, POINTER(c_uintptr)]),
    ("pcct_tree_build_metric", c_int64,
     [c_void_p, c_int32, c_int64, c_int64, c_int32, c_double, c_void_p, c_int64, c_uint64,
      c_int32, c_void_p, POINTER(c_uintptr)]),
    ("pcct_tree_build_callback", c_int64,
     [c_void_p, c_int32, c_int64, c_int64, c_void_p, c_char_p, c_uint64, c_int32, c_void_p,
      POINTER(c_uintptr)]),
    ("pcct_tree_decode_callback", c_int64,
     [c_void_p, c_int64, c_int32, c_void_p, c_char_p, POINTER(c_uintptr)]),
    ("pcct_index_build", c_int64,
     [c_void_p, c_int32, c_int64, c_int64, c_int32, c_double, c_uint64, c_int32, c_int32,
      c_void_p, POINTER(c_uintptr), c_void_p]),
    ("pcct_index_build_metric", c_int64,
     [c_void_p, c_int32, c_int64, c_int64, c_int32, c_double, c_void_p, c_int64, c_uint64,
      c_int32, c_int32, c_void_p, POINTER(c_uintptr), c_void_p]),
    ("pcct_screen_kernel", c_int64, [c_char_p, c_int64]),
    ("pcct_tree_free", c_int64, [c_uintptr]),
    ("pcct_tree_stats", c_int64, [c_uintptr, POINTER(c_int64), c_int64, POINTER(c_int64)]),
    ("pcct_tree_shape", c_int64, [c_uintptr, POINTER(c_int64), c_int64, POINTER(c_int64)]),
    ("pcct_tree_level_counts", c_int64,
     [c_uintptr, POINTER(c_int64), POINTER(c_int64), c_int64, POINTER(c_int64)]),
    ("pcct_tree_insert", c_int64,
     [c_uintptr, c_void_p, c_int64, c_int64, c_int32, c_void_p, POINTER(c_uintptr),
      POINTER(c_int64)]),
    ("pcct_tree_delete", c_int64,
     [c_uintptr, c_void_p, c_int64, c_int32, c_void_p, POINTER(c_uintptr)]),
    ("pcct_tree_metric", c_int64, [c_uintptr, POINTER(c_int32), POINTER(c_double)]),
    ("pcct_tree_live_ids", c_int64, [c_uintptr, c_void_p, c_int64, POINTER(c_int64)]),
    ("pcct_tree_structure", c_int64,
     [c_uintptr, c_void_p, c_void_p, c_void_p, c_void_p, c_int64, POINTER(c_int64)]),
    ("pcct_tree_encode", c_int64, [c_uintptr, POINTER(c_uintptr), POINTER(c_int64)]),
    ("pcct_bytes_fill", c_int64, [c_uintptr, c_void_p]),
    ("pcct_tree_decode", c_int64, [c_void_p, c_int64, c_int32, POINTER(c_uintptr)]),
    ("pcct_kneighbors", c_int64,
     [c_uintptr, c_void_p, c_int64, c_int64, c_int64, c_int32, c_int32, c_void_p, c_void_p,
      c_void_p]),
    ("pcct_kneighbors_fitted", c_int64,
     [c_uintptr, c_int64, c_int64, c_int64, c_int32, c_int32, c_void_p, c_void_p, c_void_p]),
    ("pcct_kneighbors_ids", c_int64,
     [c_uintptr, c_void_p, c_int64, c_int64, c_int32, c_int32, c_void_p, c_void_p, c_void_p]),
    ("pcct_radius", c_int64,
     [c_uintptr, c_void_p, c_int64, c_int64, c_double, c_int32, c_int32, c_void_p, c_int64,
      c_void_p, POINTER(c_uintptr), POINTER(c_int64)]),
    ("pcct_radius_fitted", c_int64,
     [c_uintptr, c_int64, c_int64, c_double, c_int32, c_int32, c_void_p, c_int64, c_void_p,
      POINTER(c_uintptr), POINTER(c_int64)]),
    ("pcct_radius_ids", c_int64,
     [c_uintptr, c_void_p, c_int64, c_double, c_int32, c_int32, c_void_p, c_int64, c_void_p,
      POINTER(c_uintptr), POINTER(c_int64)]),
    ("pcct_radius_count", c_int64,
     [c_uintptr, c_void_p, c_void_p, c_int64, c_int64, c_int64, c_double, c_int32, c_void_p,
      c_void_p]),
    ("pcct_radius_fill", c_int64, [c_uintptr, c_void_p, c_void_p]),
    ("pcct_result_free", c_int64, [c_uintptr]),
    ("pcct_kneighbors_on", c_int64,
     [c_uintptr, c_int32, c_void_p, c_int64, c_int64, c_int64, c_int32, c_int32, c_double,
      c_void_p, c_void_p, c_void_p]),
    ("pcct_kneighbors_fitted_on", c_int64,
     [c_uintptr, c_int32, c_int64, c_int64, c_int64, c_int32, c_int32, c_double, c_void_p,
      c_void_p, c_void_p]),
    ("pcct_kneighbors_ids_on", c_int64,
     [c_uintptr, c_int32, c_void_p, c_int64, c_int64, c_int32, c_int32, c_double, c_void_p,
      c_void_p, c_void_p]),
    ("pcct_radius_on", c_int64,
     [c_uintptr, c_int32, c_void_p, c_int64, c_int64, c_double, c_int32, c_int32, c_void_p,
      c_int64, c_void_p, POINTER(c_uintptr), POINTER(c_int64)]),
    ("pcct_radius_fitted_on", c_int64,
     [c_uintptr, c_int32, c_int64, c_int64, c_double, c_int32, c_int32, c_void_p, c_int64,
      c_void_p, POINTER(c_uintptr), POINTER(c_int64)]),
    ("pcct_radius_ids_on", c_int64,
     [c_uintptr, c_int32, c_void_p, c_int64, c_double, c_int32, c_int32, c_void_p, c_int64,
      c_void_p, POINTER(c_uintptr), POINTER(c_int64)]),
    ("pcct_precomputed_kneighbors", c_int64,
     [c_int32, c_void_p, c_void_p, c_void_p, c_void_p, c_int64, c_int64, c_int64, c_int64,
      c_int64, c_int32, c_void_p, c_void_p, c_void_p]),
    ("pcct_precomputed_radius_count", c_int64,
     [c_int32, c_void_p, c_void_p, c_void_p, c_void_p, c_int64, c_int64, c_int64, c_int64,
      c_void_p, c_int64, c_int32, c_void_p, c_void_p]),
    ("pcct_precomputed_radius", c_int64,
     [c_int32, c_void_p, c_void_p, c_void_p, c_void_p, c_int64, c_int64, c_int64, c_int64,
      c_void_p, c_int64, c_int32, c_int32, c_void_p, c_void_p, c_int64, c_void_p, c_void_p]),
    # sparse.go: indexes over sparse (CSR) rows; a query's rows are
    # (indptr, indices, data, nrows, ncols, nnz), or NULL indptr and the
    # fitted points (ids, first, count).
    ("pcct_sparse_build", c_int64,
     [c_int32, c_void_p, c_void_p, c_void_p, c_int64, c_int64, c_int64, c_int32, c_double,
      c_uint64, c_int32, c_int32, c_void_p, POINTER(c_uintptr), c_void_p]),
    ("pcct_sparse_info", c_int64, [c_uintptr, POINTER(c_int64), c_int64, POINTER(c_int64)]),
    ("pcct_sparse_live_ids", c_int64, [c_uintptr, c_void_p, c_int64, POINTER(c_int64)]),
    ("pcct_sparse_free", c_int64, [c_uintptr]),
    ("pcct_sparse_insert", c_int64,
     [c_uintptr, c_void_p, c_void_p, c_void_p, c_int64, c_int64, c_int64, c_int32, c_void_p,
      POINTER(c_uintptr), POINTER(c_int64)]),
    ("pcct_sparse_delete", c_int64,
     [c_uintptr, c_void_p, c_int64, c_int32, c_void_p, POINTER(c_uintptr)]),
    ("pcct_sparse_kneighbors", c_int64,
     [c_uintptr, c_void_p, c_void_p, c_void_p, c_int64, c_int64, c_int64, c_void_p, c_int64,
      c_int64, c_int64, c_int32, c_int32, c_void_p, c_void_p, c_void_p]),
    ("pcct_sparse_radius_count", c_int64,
     [c_uintptr, c_void_p, c_void_p, c_void_p, c_int64, c_int64, c_int64, c_void_p, c_int64,
      c_int64, c_void_p, c_int64, c_int32, c_void_p, c_void_p]),
    ("pcct_sparse_radius", c_int64,
     [c_uintptr, c_void_p, c_void_p, c_void_p, c_int64, c_int64, c_int64, c_void_p, c_int64,
      c_int64, c_void_p, c_int64, c_int32, c_int32, c_void_p, c_int64, c_void_p,
      POINTER(c_uintptr), POINTER(c_int64)]),
    ("pcct_sparse_encode", c_int64, [c_uintptr, POINTER(c_uintptr), POINTER(c_int64)]),
    ("pcct_sparse_decode", c_int64,
     [c_void_p, c_int64, c_int32, c_int32, c_void_p, POINTER(c_uintptr)]),
    ("pcct_radius_each", c_int64,
     [c_uintptr, c_void_p, c_void_p, c_int64, c_int64, c_int64, c_void_p, c_int32, c_int32,
      c_void_p, c_int64, c_void_p, POINTER(c_uintptr), POINTER(c_int64)]),
    ("pcct_radius_count_each", c_int64,
     [c_uintptr, c_void_p, c_void_p, c_int64, c_int64, c_int64, c_void_p, c_int32, c_void_p,
      c_void_p]),
    ("pcct_kneighbors_bound", c_int64,
     [c_uintptr, c_void_p, c_void_p, c_int64, c_int64, c_int64, c_int64, c_double, c_double,
      c_int32,
      c_void_p, c_void_p, c_void_p]),
    ("pcct_tree_points", c_int64, [c_uintptr, c_void_p, c_int64, c_void_p]),
    ("pcct_count_pairs", c_int64,
     [c_uintptr, c_uintptr, c_void_p, c_int64, c_int32, c_void_p, c_void_p]),
    ("pcct_pairs", c_int64,
     [c_uintptr, c_uintptr, c_int32, c_double, c_int32, c_int32, c_void_p, c_int64,
      POINTER(c_uintptr), POINTER(c_int64)]),
    ("pcct_pairs_fill", c_int64, [c_uintptr, c_void_p, c_void_p, c_void_p]),
    ("pcct_gpu_info", c_int64, [c_char_p, c_int64, POINTER(c_int64), POINTER(c_int32)]),
    ("pcct_version", c_int64, [c_char_p, c_int64]),
    ("pcct_test_panic", c_int64, [c_int32]),
    # cluster.go: the applications of package cluster and the level covers.
    ("pcct_mst", c_int64,
     [c_uintptr, c_int32, c_void_p, c_void_p, c_void_p, c_void_p, c_int64]),
    ("pcct_single_linkage", c_int64, [c_uintptr, c_int32, c_void_p, c_void_p, c_int64]),
    ("pcct_dbscan", c_int64,
     [c_uintptr, c_double, c_int64, c_void_p, c_int32, c_void_p, c_void_p, c_void_p, c_int64]),
    ("pcct_dbscan_points", c_int64,
     [c_void_p, c_int32, c_int64, c_int64, c_int32, c_double, c_double, c_int64, c_void_p,
      c_int32, c_void_p, c_void_p, c_void_p]),
    ("pcct_mst_points", c_int64,
     [c_void_p, c_int32, c_int64, c_int64, c_int32, c_double, c_int32, c_void_p, c_void_p,
      c_void_p, c_void_p]),
    ("pcct_single_linkage_points", c_int64,
     [c_void_p, c_int32, c_int64, c_int64, c_int32, c_double, c_int32, c_void_p, c_void_p]),
    ("pcct_hdbscan_tree", c_int64,
     [c_uintptr, c_int64, c_double, c_int32, c_void_p, c_void_p, c_void_p, c_void_p, c_int64]),
    ("pcct_hdbscan_labels", c_int64,
     [c_void_p, c_void_p, c_void_p, c_int64, c_int64, c_double, c_int64, c_int32, c_int32,
      c_void_p, c_void_p, c_void_p]),
    ("pcct_labels_at_cut", c_int64, [c_void_p, c_int64, c_double, c_int64, c_void_p]),
    ("pcct_tree_cover", c_int64,
     [c_uintptr, c_int64, c_void_p, c_void_p, c_void_p, c_int64, POINTER(c_int64)]),
    ("pcct_centers_near", c_int64,
     [c_uintptr, c_void_p, c_int64, c_int64, c_double, c_void_p, c_void_p, c_void_p, c_void_p,
      c_int64, POINTER(c_int64)]),
]

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_forked = False  # this process was forked after _lib was loaded


def _after_fork_in_child() -> None:
    global _forked
    if _lib is not None:
        _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _fork_error() -> ForkedChildError:
    return ForkedChildError(
        "pcct cannot be used in a process forked after pcct's Go runtime was "
        "started in its parent (a forked Go runtime hangs). Use the 'spawn' or "
        "'forkserver' start method, e.g. "
        "multiprocessing.set_start_method('spawn') or "
        "multiprocessing.get_context('forkserver'); with joblib, the default "
        "'loky' backend is fine."
    )


def _load() -> ctypes.CDLL:
    global _lib
    with _lock:
        if _lib is not None:
            return _lib
        global _selection
        path, is_cuda, _ = selection()
        if not os.path.exists(path):
            raise ImportError(
                f"pcct's shared library is missing at {path!r}: the package was not "
                "built. Install it with 'pip install .' from a source checkout "
                "(this runs 'go build -buildmode=c-shared'), or set PCCT_LIBRARY to "
                "a library built by 'go build -buildmode=c-shared -o libpcct.so ./capi'."
            )
        # CDLL (not PyDLL): ctypes releases the GIL during every call, so Go's
        # goroutines run while other Python threads go on.
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            if not is_cuda or os.environ.get("PCCT_LIBRARY"):
                raise
            # The driver answered the probe but the CUDA build does not load
            # (a driver too old for its symbols, say): no Go runtime started,
            # so the CPU build can still be loaded.
            path = os.path.join(_package_dir(), _library_name())
            _selection = (path, False, f"the CUDA build could not be loaded ({e})")
            lib = ctypes.CDLL(path)
        for name, restype, argtypes in _SIGNATURES:
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        _lib = lib
        return lib


def lib() -> ctypes.CDLL:
    """Return the loaded library, loading it on first use.

    Raises
    ------
    ForkedChildError
        In a process forked after the library was loaded in its parent.
    """
    if _forked:
        raise _fork_error()
    if _lib is not None:
        return _lib
    return _load()


def usable() -> bool:
    """Whether calls into the library may be made in this process now."""
    return _lib is not None and not _forked


def error_message(ticket: int) -> tuple[int, str]:
    """Fetch and forget the message of an error ticket: (kind, message).

    Two calls: the first (no buffer) reports the message's length and kind
    and keeps the ticket; the second copies the message into a buffer of
    that size and forgets the ticket.
    """
    fn = lib().pcct_error_message
    kind = c_int32(0)
    n = fn(ticket, None, 0, ctypes.byref(kind))
    if n < 0:
        return _KIND_INTERNAL, f"pcct: unknown error ticket {ticket}"
    buf = ctypes.create_string_buffer(n + 1)
    m = fn(ticket, buf, n + 1, ctypes.byref(kind))
    if m < 0:  # pragma: no cover - a ticket has one reader
        return _KIND_INTERNAL, f"pcct: error ticket {ticket} vanished"
    return kind.value, buf.raw[: min(n, m)].decode("utf-8", errors="replace")


def check(status: int) -> None:
    """Raise the exception a status code stands for; do nothing for 0."""
    if status == 0:
        return
    kind, msg = error_message(status)
    cause = _callback.pending(msg)
    if cause is not None:
        # A Python function used as the metric raised: that is the error.
        raise cause
    if kind == _KIND_VALUE:
        raise ValueError(msg)
    if kind == _KIND_MEMORY:
        raise MemoryError(msg)
    if kind == _KIND_STOPPED:
        raise StoppedError(msg)
    if kind == _KIND_LIMIT:
        raise AnswerLimitError(msg)
    raise RuntimeError(msg)


def version() -> str:
    """Return the library's version string, e.g. ``'pcct 0.1.0 (go1.26.0)'``."""
    buf = ctypes.create_string_buffer(256)
    lib().pcct_version(buf, len(buf))
    return buf.value.decode("utf-8", errors="replace")


def screen_kernel() -> str:
    """The kernel that screens Euclidean distances in a brute-force index on
    this CPU (see ``core.ScreenKernel``)."""
    buf = ctypes.create_string_buffer(128)
    lib().pcct_screen_kernel(buf, len(buf))
    return buf.value.decode()


def gpu_info() -> tuple[bool, str]:
    """(usable, description): the GPU that ``device="cuda"`` uses, e.g.
    "NVIDIA H200 (device 0, compute 9.0, 139.8 GiB, CUDA 13.0 driver),
    NVIDIA driver 580.159", or why there is none. Loads the library."""
    path, is_cuda, why = selection()
    if not is_cuda:
        return False, why
    fn = lib().pcct_gpu_info
    n = c_int64(0)
    built = c_int32(0)
    st = fn(None, 0, ctypes.byref(n), ctypes.byref(built))
    if st:
        _, msg = error_message(st)
        return False, msg
    buf = ctypes.create_string_buffer(n.value + 1)
    st = fn(buf, len(buf), ctypes.byref(n), ctypes.byref(built))
    if st:  # pragma: no cover - the device does not go away
        _, msg = error_message(st)
        return False, msg
    desc = buf.value.decode("utf-8", errors="replace")
    from ._gpu import driver_version

    driver = driver_version()
    return True, desc + (f", NVIDIA driver {driver}" if driver else "")


def go_version() -> str:
    """Return the Go version the library was built with, e.g. ``'go1.26.0'``
    (read from :func:`version`)."""
    v = version()
    if "(" in v and v.endswith(")"):
        return v[v.rindex("(") + 1 : -1]
    return "unknown"  # pragma: no cover - pcct_version always names it


def free_tree(handle: int) -> None:
    """Free a tree handle; used by ``weakref.finalize``.

    Does nothing in a forked child (calling Go there would hang; the
    memory belongs to a runtime that no longer runs) or at a zero handle.
    """
    if handle and usable():
        status = lib().pcct_tree_free(handle)
        if status:
            error_message(status)  # forget the ticket; nothing to raise to


def free_sparse(handle: int) -> None:
    """Free a sparse index handle; used by ``weakref.finalize`` (as
    :func:`free_tree`)."""
    if handle and usable():
        status = lib().pcct_sparse_free(handle)
        if status:
            error_message(status)


def free_result(handle: int) -> None:
    """Abandon a result handle (radius or encoding) that will not be filled."""
    if handle and usable():
        status = lib().pcct_result_free(handle)
        if status:
            error_message(status)
