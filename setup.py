"""Build step of pcct: compile the Go core into the package.

`pip install .` runs build_py below, which runs

    go build -buildmode=c-shared -trimpath -o <build_lib>/pcct/libpcct.so ./capi

and then, on Linux, builds the CUDA library libpcct_cuda.so the same way
with -tags cuda (gpu/cudabuild.py: nvcc and the CUDA headers come from
NVIDIA's pip wheels, cached in build/cuda; no GPU is needed to build it).
The environment variable PCCT_CUDA chooses:

    PCCT_CUDA=auto (default)  build it when the toolchain installs; else
                              skip it with one line (the CPU build works alone)
    PCCT_CUDA=0               do not build it
    PCCT_CUDA=1               build it, or fail

The wheel is marked as holding a compiled extension so it gets a platform
tag, and tagged py3-none: the library is loaded with ctypes and does not
depend on the Python version or ABI, so one wheel serves every Python >= 3.10.
`make wheel` turns it into a manylinux wheel (auditwheel repair). Everything
else is declared in pyproject.toml.
"""

import os
import shutil
import subprocess
import sys
import tempfile

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

ROOT = os.path.dirname(os.path.abspath(__file__))
LIBNAME = "libpcct.dll" if sys.platform == "win32" else "libpcct.so"
CUDA_LIBNAME = "libpcct_cuda.so"


def find_go():
    """Return the go command: $GO, go on PATH, or the standard install."""
    env = os.environ.get("GO")
    if env:
        return env
    found = shutil.which("go")
    if found:
        return found
    for candidate in ("/usr/local/go/bin/go", os.path.expanduser("~/go/bin/go")):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit(
        "error: building pcct needs the Go toolchain (Go >= 1.26), and `go` was not "
        "found on PATH. Install Go (your distribution's package; with GOTOOLCHAIN=auto, a "
        "Go >= 1.21 fetches the release pcct needs itself), or set GO=/path/to/go, "
        "then rerun `pip install .`. A manylinux wheel of pcct (`make wheel`) installs "
        "without Go."
    )


class BuildPyWithGo(build_py):
    """build_py that also compiles the Go shared library into the package."""

    def run(self):
        super().run()
        self.build_go()
        self.build_cuda()

    def build_cuda(self):
        """Build libpcct_cuda.so as PCCT_CUDA says (see the module doc)."""
        mode = os.environ.get("PCCT_CUDA", "auto").strip().lower()
        self._cuda_built = False
        if mode in ("0", "off", "no", "false"):
            print("pcct: CUDA build skipped (PCCT_CUDA=0)")
            return
        required = mode in ("1", "on", "yes", "true", "require")
        if not sys.platform.startswith("linux"):
            if required:
                raise SystemExit("error: PCCT_CUDA=1, but the CUDA build is for Linux only.")
            print(f"pcct: CUDA build skipped (it is for Linux; this is {sys.platform})")
            return
        sys.path.insert(0, os.path.join(ROOT, "gpu"))
        try:
            import cudabuild
        finally:
            sys.path.pop(0)
        out = os.path.abspath(os.path.join(self.build_lib, "pcct", CUDA_LIBNAME))
        try:
            cudabuild.build_library(out, go=find_go(), log=lambda msg: self.announce(msg, level=2))
        except cudabuild.ToolchainError as e:
            if required:
                raise SystemExit(f"error: PCCT_CUDA=1, but the CUDA build failed: {e}")
            print(f"pcct: CUDA build skipped ({e}); set PCCT_CUDA=1 to make this an error, "
                  "PCCT_CUDA=0 to silence it")
            return
        self._cuda_built = True

    def build_go(self):
        go = find_go()
        out_dir = os.path.join(self.build_lib, "pcct")
        os.makedirs(out_dir, exist_ok=True)
        out = os.path.abspath(os.path.join(out_dir, LIBNAME))
        env = dict(os.environ)
        env["CGO_ENABLED"] = "1"
        # Go's SIMD package (experimental in Go 1.26) gives the brute-force
        # index its vector kernel; without it a plain Go kernel is built.
        experiments = [e for e in env.get("GOEXPERIMENT", "").split(",") if e]
        if "simd" not in experiments and "nosimd" not in experiments:
            env["GOEXPERIMENT"] = ",".join(experiments + ["simd"])
        if not (env.get("GOCACHE") or env.get("XDG_CACHE_HOME") or env.get("HOME")):
            env["GOCACHE"] = os.path.join(tempfile.gettempdir(), "pcct-go-cache")
        cmd = [go, "build", "-buildmode=c-shared", "-trimpath", "-o", out, "./capi"]
        self.announce("running " + " ".join(cmd), level=2)
        try:
            subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        except FileNotFoundError:
            raise SystemExit(f"error: could not run the Go toolchain at {go!r}.")
        except subprocess.CalledProcessError as e:
            raise SystemExit(
                f"error: `{' '.join(cmd)}` failed with exit status {e.returncode} "
                "(its output is above). Building pcct needs Go >= 1.26 and a C "
                "compiler for cgo (e.g. `apt-get install gcc`)."
            )
        # go build also writes a C header; Python does not need it.
        header = os.path.splitext(out)[0] + ".h"
        if os.path.exists(header):
            os.remove(header)

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        outputs.append(os.path.join(self.build_lib, "pcct", LIBNAME))
        if getattr(self, "_cuda_built", False):
            outputs.append(os.path.join(self.build_lib, "pcct", CUDA_LIBNAME))
        return outputs


class BdistWheelAnyPython(bdist_wheel):
    """bdist_wheel tagged py3-none-<platform>: ctypes, not the CPython ABI."""

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


class BinaryDistribution(Distribution):
    """A distribution with a compiled library: platform-tagged wheels."""

    def has_ext_modules(self):
        return True


setup(
    cmdclass={"build_py": BuildPyWithGo, "bdist_wheel": BdistWheelAnyPython},
    distclass=BinaryDistribution,
)
