"""``python -m pcct``: print pcct's version, its Go runtime and the CPUs it sees."""

import os
import platform
import sys


def main() -> int:
    import numpy
    import sklearn

    import pcct
    from pcct import _lib
    from pcct.tree import _cpu_count

    print(f"pcct {pcct.__version__}")
    print(f"library: {_lib.version()} at {_lib.library_path()}")
    print(f"python {platform.python_version()} ({sys.executable})")
    print(f"numpy {numpy.__version__}, scikit-learn {sklearn.__version__}")
    print(f"CPUs: {_cpu_count()} usable (n_jobs=-1), {os.cpu_count()} in the machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
