"""Python functions as metrics: a ctypes callback that the Go library calls
for every distance it measures.

This is slow: each distance is a call from Go into Python (a few
microseconds, with the GIL), where a built-in metric costs nanoseconds. It
is correct with ``n_jobs > 1``: Go's goroutines call the function from
several threads, and each call takes the GIL, so the function runs one
call at a time. Ctrl-C stops a long call as it stops any other (see
``_run.py``). An exception raised by the function fails the call into Go
(the callback returns NaN, which Go refuses), and :func:`pending` lets
``_lib.check`` raise that exception instead of Go's message.

This module imports nothing else of pcct.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
import weakref

import numpy as np

__all__ = ["PyMetric", "pending", "DISTANCE_FN"]

# double (*)(const void *a, const void *b, int64_t d): capi/callback.go.
DISTANCE_FN = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)

_ids = itertools.count(1)
# name -> PyMetric, for pending(): the metric's name is in Go's messages.
_live = weakref.WeakValueDictionary()


class PyMetric:
    """A Python function ``func(a, b, **kwargs) -> float`` wrapped for Go,
    for points of ``dtype``.

    Attributes
    ----------
    name : str
        The name Go gives the metric in its messages (unique per object).
    pointer : int
        The C function pointer Go calls; valid while this object lives.
    """

    def __init__(self, func, kwargs, dtype):
        self.func = func
        self.kwargs = dict(kwargs or {})
        self.dtype = np.dtype(dtype)
        label = getattr(func, "__qualname__", None) or type(func).__name__
        label = "".join(c if c.isascii() and (c.isalnum() or c in "._<>") else "_" for c in label)
        self.name = f"python function {label} #{next(_ids)}"
        self._error = None
        self._lock = threading.Lock()
        ctype = ctypes.c_float if self.dtype == np.float32 else ctypes.c_double
        row = ctypes.POINTER(ctype)

        def call(a, b, d):
            try:
                # Copies: Go's rows are valid only during the call.
                x = np.ctypeslib.as_array(ctypes.cast(a, row), shape=(d,)).copy()
                y = np.ctypeslib.as_array(ctypes.cast(b, row), shape=(d,)).copy()
                return float(func(x, y, **self.kwargs))
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                with self._lock:
                    if self._error is None:
                        self._error = e
                return float("nan")

        self._c = DISTANCE_FN(call)
        self.pointer = ctypes.cast(self._c, ctypes.c_void_p).value
        _live[self.name] = self

    def take_error(self):
        """The first exception the function raised since the last call,
        forgotten."""
        with self._lock:
            e, self._error = self._error, None
        return e


def pending(message):
    """The exception a Python metric named in Go's message raised, if any
    (forgotten once returned)."""
    for name, metric in list(_live.items()):
        if f'"{name}"' in message:  # Go quotes the name (%q)
            return metric.take_error()
    return None
