"""How much memory this process can still take, and the MemoryError for an
answer that would not fit.

Go cannot recover from running out of memory: its runtime aborts the whole
process. So pcct never lets Go (or numpy) attempt an allocation that
cannot succeed: before a call whose answer grows with the data (k-NN
arrays and graphs, radius answers), it compares the answer's size with
:func:`available_bytes` and raises :class:`MemoryError` instead, naming the
size and what to do.
"""

from __future__ import annotations

import os

__all__ = ["available_bytes", "too_large", "check_pairs", "format_bytes"]


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _address_space_left():
    """Bytes left under the address-space limit (ulimit -v, prlimit --as),
    or None without a limit."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Unix
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    statm = _read("/proc/self/statm")
    if statm is None:  # pragma: no cover - not Linux
        return None
    used = int(statm.split()[0]) * os.sysconf("SC_PAGE_SIZE")
    return soft - used


def _physical_available():
    """MemAvailable of /proc/meminfo: what the kernel can give without
    swapping, or None where it is not known."""
    info = _read("/proc/meminfo")
    if info is None:  # pragma: no cover - not Linux
        return None
    for line in info.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None  # pragma: no cover - kernels before 3.14


def _cgroup_left():
    """Bytes left under this process's cgroup (v2) memory limit, or None."""
    groups = _read("/proc/self/cgroup")
    if groups is None:  # pragma: no cover - not Linux
        return None
    for line in groups.splitlines():
        if line.startswith("0::"):
            base = os.path.join("/sys/fs/cgroup", line[3:].strip().lstrip("/"))
            limit = _read(os.path.join(base, "memory.max"))
            current = _read(os.path.join(base, "memory.current"))
            if limit is None or current is None or limit.strip() == "max":
                return None
            return int(limit) - int(current)
    return None


def available_bytes():
    """The memory this process can still allocate: the least of what its
    address-space limit, its cgroup's limit and the machine's available
    memory leave. None where none of them is known."""
    known = [b for b in (_address_space_left(), _cgroup_left(), _physical_available())
             if b is not None]
    if not known:
        return None
    return max(min(known), 0)


def format_bytes(n):
    """1536 -> '1.5 KB'."""
    n = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return None  # pragma: no cover


def too_large(what, pairs, per_pair, available, advice):
    """The MemoryError for an answer of ``pairs`` (query, neighbour) pairs
    at ``per_pair`` bytes each that does not fit in ``available`` bytes."""
    return MemoryError(
        f"{what} would return {pairs:,} (query, neighbour) pairs, about "
        f"{format_bytes(pairs * per_pair)} with its working copies, but this process can "
        f"allocate only {format_bytes(available)} more. {advice}"
    )


# Answers smaller than this are not checked: reading the limits costs about
# 0.1 ms with the GIL held, and numpy raises MemoryError by itself for an
# array that small that cannot be allocated.
SMALL_BYTES = 16 << 20


def check_pairs(what, pairs, per_pair, advice):
    """Raise :func:`too_large`'s MemoryError if ``pairs`` pairs of
    ``per_pair`` bytes do not fit in the memory available (answers below
    :data:`SMALL_BYTES` pass unchecked)."""
    if pairs * per_pair < SMALL_BYTES:
        return
    available = available_bytes()
    if available is not None and pairs * per_pair > available:
        raise too_large(what, pairs, per_pair, available, advice)


def pair_budget(per_pair, most=None):
    """How many pairs of ``per_pair`` bytes fit in the memory available
    (None: no bound known, or none needed). With ``most``, the most pairs
    the answer can hold, an answer below :data:`SMALL_BYTES` gets no bound
    and the limits are not read (four files: under cProfile 0.15 ms of a
    one-point radius query's 0.39)."""
    if most is not None and most * per_pair < SMALL_BYTES:
        return None
    available = available_bytes()
    if available is None:
        return None
    return available // per_pair
