"""Long calls into Go that Ctrl-C can stop and a progress bar can follow.

A call into Go through ctypes cannot be interrupted: Python runs its signal
handlers (and so raises ``KeyboardInterrupt``) only between bytecodes of the
main thread. :func:`run` therefore makes the call in a worker thread and
lets the calling thread wait in short intervals, where Ctrl-C is seen at
once. The call gets a pair of int64 *control words* (every long export of
the C ABI takes one):

- ``control[0]`` is increased by Go as work completes (queries answered,
  points inserted or deleted). Go never resets it, so one pair counts
  across several calls. The waiting thread polls it to draw progress; Go
  never calls into Python.
- ``control[1]`` set to non-zero asks Go to stop soon: the call then fails
  with error kind 4 (:class:`pcct._lib.StoppedError`), and a stopped build,
  insertion or deletion makes no new version.

On ``KeyboardInterrupt`` (or any other exception raised in the waiting
thread) :func:`run` sets ``control[1]``, waits for the worker to return,
and re-raises. Whatever the worker computed is dropped, so the tree or
estimator that started the call is exactly as it was before.

Go polls the stop word between blocks of 32 queries, and a build,
insertion or deletion between blocks of 64 points located, so a call
stops within milliseconds; the rest of an insertion batch (its conflict
resolution, up to 4,096 points) can take a little longer. The wait is
bounded by :data:`STOP_GRACE_SECONDS`: past it, the ``KeyboardInterrupt``
is raised anyway, and the worker, left running as a daemon thread,
returns (and is dropped) once Go reaches its next check. It keeps the
input and output arrays alive until then.

Small calls are made directly, without a thread (a thread costs about 0.1
to 0.5 ms; see :data:`THREAD_WORK`), and so are calls from threads other
than the main one, where Python never raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time

__all__ = ["run", "wanted", "THREAD_WORK", "POLL_SECONDS", "STOP_GRACE_SECONDS"]

# A call runs in a worker thread (when made from the main thread) once its
# work bound reaches this many coordinate operations. The bound is the
# brute-force cost: rows processed x points in the tree x features. A cover
# tree query never does much more work than a scan of every point, and a
# scan of 1e7 coordinates takes a few milliseconds, so a direct call below
# this threshold ends well within the 0.1 s that Ctrl-C may wait, while the
# thread (0.1 to 0.5 ms) costs at most a few per cent of a call above it.
THREAD_WORK = 10_000_000

# How long the waiting thread sleeps between looks at the worker and the
# progress count: the worst delay before Ctrl-C is acted upon (Go then stops
# within one block of 32 queries, or one batch of insertions).
POLL_SECONDS = 0.05

# After a stop request, how long to wait for Go to return before raising
# KeyboardInterrupt anyway (the worker then finishes in the background).
STOP_GRACE_SECONDS = 0.25

# A progress bar is redrawn at most this often.
_REDRAW_SECONDS = 0.1


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def wanted(work: float, verbose) -> bool:
    """Whether a call of the given work bound goes through a worker thread:
    when progress is shown, or when it is made from the main thread (the
    only one that receives ``KeyboardInterrupt``) and is not small."""
    if verbose:
        return True
    return work >= THREAD_WORK and _in_main_thread()


class _Control:
    """A pair of int64 control words in C memory (aligned, so that Go's
    atomic operations and Python's plain loads and stores of whole words
    see each other)."""

    __slots__ = ("words", "address")

    def __init__(self):
        self.words = (ctypes.c_int64 * 2)()
        self.address = ctypes.addressof(self.words)

    @property
    def done(self) -> int:
        return int(self.words[0])

    def stop(self) -> None:
        self.words[1] = 1


class _Line:
    """A plain progress line on stderr, used when tqdm is not installed.

    On a terminal the line is redrawn in place; elsewhere (a log file, a
    notebook's stream) a line is written at most every few seconds, and
    once at the end.
    """

    def __init__(self, total, desc, unit):
        self.total, self.desc, self.unit = total, desc, unit
        self.start = time.monotonic()
        self.last = -1.0
        self.n = 0
        stream = sys.stderr
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.every = _REDRAW_SECONDS if self.tty else 5.0
        self._write(final=False, force=True)

    def _text(self):
        elapsed = time.monotonic() - self.start
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        return f"{self.desc}: {self.n:,}/{self.total:,} {self.unit}{pct} in {elapsed:.1f} s"

    def _write(self, final, force=False):
        now = time.monotonic()
        if not (force or final or now - self.last >= self.every):
            return
        self.last = now
        stream = sys.stderr
        try:
            if self.tty:
                stream.write("\r" + self._text() + ("\n" if final else ""))
            else:
                stream.write(self._text() + "\n")
            stream.flush()
        except (OSError, ValueError):  # a closed stream: progress is optional
            pass

    def update_to(self, n):
        if n != self.n:
            self.n = n
            self._write(final=False)

    def close(self, n=None):
        if n is not None:
            self.n = n
        self._write(final=True)


class _Bar:
    """A tqdm progress bar (tqdm.auto: a widget in Jupyter when ipywidgets
    is installed, text otherwise), or a :class:`_Line` without tqdm."""

    def __init__(self, total, desc, unit):
        self.bar = None
        self.line = None
        try:
            with _quiet_tqdm_warnings():
                from tqdm.auto import tqdm
            self.bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=True,
                            mininterval=_REDRAW_SECONDS, leave=True)
        except Exception:  # tqdm missing, or a notebook front end it cannot use
            self.bar = None
            self.line = _Line(total, desc, unit)

    def update_to(self, n):
        if self.bar is not None:
            n = min(n, self.bar.total) if self.bar.total else n
            if n > self.bar.n:
                self.bar.update(n - self.bar.n)
        else:
            self.line.update_to(n)

    def close(self, n=None):
        if self.bar is not None:
            if n is not None:
                self.update_to(n)
            self.bar.close()
        else:
            self.line.close(n)


class _quiet_tqdm_warnings:
    """tqdm.auto warns when it falls back to text in a notebook without
    ipywidgets, or uses its widget; neither is the user's concern."""

    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def run(work, *, total, desc, unit, verbose=False, cost=None):
    """Run ``work(control)`` and return its result.

    Parameters
    ----------
    work : callable
        Makes one or more calls into Go, passing ``control`` (an int
        address of the two control words, or None) to each, and returns
        their result. It may raise, e.g. through ``_lib.check``.
    total : int
        The number of work units (queries, points) that Go will count in
        ``control[0]``; the progress bar's end.
    desc, unit : str
        The progress bar's label and unit ("fit", "queries", ...).
    verbose : bool
        Show a progress bar (tqdm if installed, else a line on stderr).
    cost : float, optional
        The call's work bound (see :data:`THREAD_WORK`); None means large.

    Raises
    ------
    KeyboardInterrupt
        If the waiting thread was interrupted: the call is stopped and its
        result dropped.
    """
    if not wanted(THREAD_WORK if cost is None else cost, verbose):
        return work(None)

    control = _Control()
    box = {}
    finished = threading.Event()

    def target():
        try:
            box["result"] = work(control.address)
        except BaseException as e:  # handed to the waiting thread
            box["error"] = e
        finally:
            finished.set()

    bar = _Bar(total, desc, unit) if verbose else None
    worker = threading.Thread(target=target, name=f"pcct {desc}", daemon=True)
    interrupted = None
    try:
        worker.start()
        while not finished.wait(POLL_SECONDS):
            if bar is not None:
                bar.update_to(control.done)
    except BaseException as e:  # KeyboardInterrupt, or an exception of a signal handler
        interrupted = e
        control.stop()
        _wait_out(finished, STOP_GRACE_SECONDS)
    if finished.is_set():
        worker.join()
    if bar is not None:
        try:
            bar.close(None if interrupted is not None else control.done)
        except Exception:  # pragma: no cover - progress is optional
            pass
    if interrupted is not None:
        # Drop the worker's result or error (a StoppedError, as asked); a
        # new version it made is freed by its finalizer. A worker still in
        # Go drops its own when it returns: nobody reads the box again.
        box.clear()
        raise interrupted
    if "error" in box:
        error = box.pop("error")
        try:
            raise error
        finally:
            error = None
    return box["result"]


def _wait_out(finished, grace):
    """Wait up to grace seconds for the stopped worker; further Ctrl-Cs
    cannot hurry Go and are ignored meanwhile."""
    deadline = time.monotonic() + grace
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return finished.is_set()
        try:
            if finished.wait(min(POLL_SECONDS, left)):
                return True
        except KeyboardInterrupt:
            continue
