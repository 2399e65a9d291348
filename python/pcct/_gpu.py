"""Whether this process can use a GPU, found out without pcct's library.

pcct ships two builds of its Go library: the CPU build, and a CUDA build
(``libpcct_cuda.so``) linked against the NVIDIA driver (``libcuda.so.1``).
Only one Go runtime may live in a process, and the CUDA build's Go
runtime ends the process if the driver fails to start (gorgonia.org/cu
calls ``cuInit`` when it loads). So before loading anything, the loader
asks the driver itself, through ctypes: can ``libcuda.so.1`` be loaded,
does ``cuInit`` succeed, is there a device? Only then does it load the
CUDA build; otherwise the CPU build. A machine without a driver never sees
an error from this: :func:`probe` returns the reason instead.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["probe", "driver_version", "CUDA_ERRORS"]

# The driver's error codes that explain a failed probe (cuda.h, CUresult).
CUDA_ERRORS = {
    3: "CUDA_ERROR_NOT_INITIALIZED",
    34: "CUDA_ERROR_STUB_LIBRARY (a stub libcuda.so.1 was found, not a driver)",
    35: "CUDA_ERROR_INSUFFICIENT_DRIVER (the driver is older than the CUDA runtime)",
    46: "CUDA_ERROR_DEVICES_UNAVAILABLE",
    100: "CUDA_ERROR_NO_DEVICE",
    101: "CUDA_ERROR_INVALID_DEVICE",
    304: "CUDA_ERROR_OPERATING_SYSTEM",
    804: "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE",
    999: "CUDA_ERROR_UNKNOWN",
}


def _error(code: int) -> str:
    return CUDA_ERRORS.get(code, f"error {code}")


def probe(libname: str = "libcuda.so.1") -> tuple[bool, str]:
    """Ask the NVIDIA driver whether a CUDA device is usable.

    Returns
    -------
    usable : bool
        True when the driver loads, initialises and reports a device.
    detail : str
        The number of devices, or why none is usable.
    """
    if not sys.platform.startswith("linux"):
        return False, f"pcct's CUDA build is for Linux (this is {sys.platform})"
    try:
        cuda = ctypes.CDLL(libname)
    except OSError:
        return False, f"no NVIDIA driver ({libname} could not be loaded)"
    try:
        cu_init = cuda.cuInit
        count_fn = cuda.cuDeviceGetCount
    except AttributeError:
        return False, f"{libname} is not an NVIDIA driver (cuInit is missing)"
    cu_init.restype = ctypes.c_int
    cu_init.argtypes = [ctypes.c_uint]
    count_fn.restype = ctypes.c_int
    count_fn.argtypes = [ctypes.POINTER(ctypes.c_int)]
    rc = cu_init(0)
    if rc != 0:
        return False, f"the NVIDIA driver did not start (cuInit: {_error(rc)})"
    n = ctypes.c_int(0)
    rc = count_fn(ctypes.byref(n))
    if rc != 0:
        return False, f"the NVIDIA driver could not count devices ({_error(rc)})"
    if n.value == 0:
        return False, "the NVIDIA driver reports no CUDA device"
    return True, f"{n.value} CUDA device{'s' if n.value > 1 else ''}"


def driver_version() -> str | None:
    """The NVIDIA kernel driver's version (e.g. "580.159"), read from
    /proc/driver/nvidia/version, or None where it cannot be read."""
    try:
        with open("/proc/driver/nvidia/version") as f:
            line = f.readline()
    except OSError:
        return None
    for word in line.split():
        parts = word.split(".")
        if len(parts) >= 2 and all(p.isdigit() for p in parts):
            return word
    return None
