"""``python -m pcct``: print pcct's version, its Go runtime and the CPUs it sees.

``python -m pcct info`` prints the same facts as a short report: pcct's
version, the Go version the library was built with, the CPU threads pcct
uses with ``n_jobs=-1``, which build of the library is loaded (CPU or
CUDA), and the GPU with its driver's CUDA version, or why none is usable
(see :func:`pcct.gpu_info`).
"""

import os
import platform
import sys

USAGE = """usage: python -m pcct [info]

  (no argument)  versions of pcct, its library, Python, numpy and scikit-learn; CPUs
  info           pcct's version, the Go version, the CPU threads, whether a GPU is usable,
                 and the brute-force screening kernel
"""


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        return _versions()
    if argv == ["info"]:
        return info()
    if argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0
    print(USAGE, end="", file=sys.stderr)
    return 2


def _versions() -> int:
    import numpy
    import sklearn

    import pcct
    from pcct import _lib
    from pcct._validation import cpu_count

    print(f"pcct {pcct.__version__}")
    print(f"library: {_lib.version()} at {_lib.library_path()}")
    print(f"python {platform.python_version()} ({sys.executable})")
    print(f"numpy {numpy.__version__}, scikit-learn {sklearn.__version__}")
    print(f"CPUs: {cpu_count()} usable (n_jobs=-1), {os.cpu_count()} in the machine")
    return 0


def info() -> int:
    """Print pcct's version, the Go version, the CPU threads, the GPU and the
    kernel that screens brute-force distances."""
    import pcct
    from pcct import _lib
    from pcct._validation import cpu_count

    print(f"pcct: {pcct.__version__}")
    print(f"Go: {_lib.go_version()} (library: {_lib.version()})")
    print(f"CPU threads: {cpu_count()} usable (n_jobs=-1), {os.cpu_count()} in the machine")
    path, is_cuda, _ = _lib.selection()
    print(f"library: {'CUDA' if is_cuda else 'CPU'} build at {path}")
    usable, detail = pcct.gpu_info()
    if usable:  # pragma: no cover - needs a GPU
        print(f"GPU: {detail}")
    else:
        print(f"GPU: not available ({detail})")
    print(f"Brute-force screening kernel: {_lib.screen_kernel()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
