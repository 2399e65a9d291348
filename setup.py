"""Build step of pcct: compile the Go core into the package.

`pip install .` runs build_py below, which runs

    go build -buildmode=c-shared -trimpath -o <build_lib>/pcct/libpcct.so ./capi

The wheel is marked as holding a compiled extension so it gets a platform
tag. Everything else is declared in pyproject.toml.
"""

import os
import shutil
import subprocess
import sys
import tempfile

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))
LIBNAME = "libpcct.dll" if sys.platform == "win32" else "libpcct.so"


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
        "found on PATH. Install Go from https://go.dev/dl/ (or your package manager), "
        "or set GO=/path/to/go, then rerun `pip install .`."
    )


class BuildPyWithGo(build_py):
    """build_py that also compiles the Go shared library into the package."""

    def run(self):
        super().run()
        self.build_go()

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
        return outputs + [os.path.join(self.build_lib, "pcct", LIBNAME)]


class BinaryDistribution(Distribution):
    """A distribution with a compiled library: platform-tagged wheels."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPyWithGo}, distclass=BinaryDistribution)
