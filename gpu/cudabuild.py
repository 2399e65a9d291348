"""Build pcct's CUDA library on any Linux machine, with or without a GPU.

    python gpu/cudabuild.py toolchain      # fetch nvcc and the CUDA headers (pip wheels, cached)
    python gpu/cudabuild.py ptx            # compile gpu/kernels/pcct.cu to PTX
    python gpu/cudabuild.py env            # print CGO_CFLAGS / CGO_LDFLAGS for `go ... -tags cuda`
    python gpu/cudabuild.py testenv        # the same with a stand-in driver, for `go test -tags cuda` without a GPU
    python gpu/cudabuild.py lib OUT.so     # all of the above, then the c-shared library

The toolchain is NVIDIA's PyPI wheels, pinned to the CUDA 13.0 series (a
newer nvcc writes a PTX ISA that driver 580 cannot compile):
nvidia-cuda-nvcc, nvidia-nvvm and nvidia-cuda-crt (nvcc and cicc) and
nvidia-cuda-runtime (cuda.h). They are installed with pip into a cache
folder (PCCT_CUDA_CACHE, default build/cuda in the checkout) and reused.
cgo compiles gorgonia.org/cu against that cuda.h through the compatibility
header gpu/cudacompat/cuda.h, and links against an empty stub library
with the driver's soname, libcuda.so.1: the result loads the real driver
at run time, and only where one is installed.

setup.py imports this module; stdlib only.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEELS = [
    "nvidia-cuda-nvcc==13.0.88",
    "nvidia-nvvm==13.0.88",
    "nvidia-cuda-crt==13.0.88",
    "nvidia-cuda-runtime==13.0.96",
]
# The PTX's virtual architecture: Turing (7.5) and newer; the driver
# compiles it for the GPU it finds.
ARCH = "compute_75"
KERNELS = os.path.join(ROOT, "gpu", "kernels", "pcct.cu")
PTX = os.path.join(ROOT, "gpu", "kernels", "pcct.ptx")
COMPAT = os.path.join(ROOT, "gpu", "cudacompat")


class ToolchainError(RuntimeError):
    """The CUDA toolchain could not be installed or run."""


def cache_dir() -> str:
    return os.environ.get("PCCT_CUDA_CACHE") or os.path.join(ROOT, "build", "cuda")


def _cu13(cache: str) -> str:
    return os.path.join(cache, "wheels", "nvidia", "cu13")


def toolchain(cache: str | None = None, log=print) -> str:
    """Install the pinned wheels into the cache (once) and return the folder
    holding bin/nvcc and include/cuda.h."""
    cache = cache or cache_dir()
    target = os.path.join(cache, "wheels")
    stamp = os.path.join(cache, "wheels.txt")
    want = "\n".join(WHEELS) + "\n"
    cu13 = _cu13(cache)
    if os.path.exists(stamp) and open(stamp).read() == want and os.path.exists(os.path.join(cu13, "bin", "nvcc")):
        return cu13
    if os.path.exists(target):
        shutil.rmtree(target)
    os.makedirs(cache, exist_ok=True)
    log("pcct: installing the CUDA 13.0 toolchain wheels into " + target)
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
           "--no-deps", "--no-input", "--target", target, *WHEELS]
    try:
        subprocess.run(cmd, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise ToolchainError(f"could not install {' '.join(WHEELS)} with pip: {e}") from e
    if not os.path.exists(os.path.join(cu13, "bin", "nvcc")):
        raise ToolchainError(f"the wheels installed, but {cu13}/bin/nvcc is missing")
    with open(stamp, "w") as f:
        f.write(want)
    return cu13


def ptx(cu13: str, out: str = PTX, log=print) -> str:
    """Compile the kernels to PTX with the wheels' nvcc."""
    nvcc = os.path.join(cu13, "bin", "nvcc")
    cmd = [nvcc, "-ptx", f"-arch={ARCH}", "-O3", "-o", out, KERNELS]
    log("pcct: " + " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd))
    try:
        subprocess.run(cmd, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise ToolchainError(f"nvcc failed: {e}") from e
    check_ptx(cu13, out, log=log)
    return out


# The GPUs the PTX is assembled for at build time, as the driver will JIT
# it: the oldest the PTX targets and the H100/H200.
PTXAS_ARCHS = ("sm_75", "sm_90")


def check_ptx(cu13: str, path: str, log=print) -> None:
    """Assemble the PTX with the wheels' ptxas for PTXAS_ARCHS, as the
    driver will when it loads it: a kernel that needs too many registers or
    too much shared memory fails here, at build time, not on the GPU."""
    ptxas = os.path.join(cu13, "bin", "ptxas")
    for arch in PTXAS_ARCHS:
        cmd = [ptxas, f"-arch={arch}", "-o", os.devnull, path]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as e:
            raise ToolchainError(f"ptxas -arch={arch} rejects the kernels:\n{e.stderr}") from e
        except OSError as e:
            raise ToolchainError(f"could not run ptxas: {e}") from e
    log(f"pcct: ptxas assembles the kernels for {', '.join(PTXAS_ARCHS)}")


def _shared_library(source: str, out: str, what: str) -> None:
    """Compile C source text into a shared library with the driver's
    soname, libcuda.so.1."""
    # CC may be a command with arguments ("zig cc -target ..." for wheels).
    cc = shlex.split(os.environ.get("CC", "")) or [c for c in (shutil.which("gcc") or shutil.which("cc"),) if c]
    if not cc:
        raise ToolchainError(f"no C compiler (gcc or cc) to build {what}")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "cuda.c")
        with open(src, "w") as f:
            f.write(source)
        try:
            subprocess.run([*cc, "-shared", "-fPIC", "-w", "-Wl,-soname,libcuda.so.1", "-o", out, src],
                           check=True)
        except (OSError, subprocess.CalledProcessError) as e:
            raise ToolchainError(f"building {what} failed: {e}") from e


def stub(cache: str | None = None) -> str:
    """Build the empty libcuda.so with soname libcuda.so.1; return its folder."""
    folder = os.path.join(cache or cache_dir(), "stub")
    lib = os.path.join(folder, "libcuda.so")
    if not os.path.exists(lib):
        _shared_library("/* The driver provides every symbol at run time. */\n", lib,
                        "the libcuda.so.1 stub")
    return folder


def fake_driver(cu13: str, cache: str | None = None) -> str:
    """Build a stand-in libcuda.so.1 that defines every driver function of
    the wheel's cuda.h: cuInit succeeds, cuDeviceGetCount reports no
    device, everything else fails with CUDA_ERROR_NO_DEVICE (100).

    An executable (a `go test -tags cuda` binary) must resolve every symbol
    it links, which the empty stub does not; with this one the GPU tests
    build and run on a machine without a GPU (LD_LIBRARY_PATH pointing at
    it), and skip, saying why. Never install it where a real driver is.
    Returns its folder."""
    import re

    folder = os.path.join(cache or cache_dir(), "fakedriver")
    lib = os.path.join(folder, "libcuda.so.1")
    if os.path.exists(lib):
        return folder
    text = open(os.path.join(cu13, "include", "cuda.h")).read()
    names = set(re.findall(r"\bCUresult\s+CUDAAPI\s+(cu\w+)\s*\(", text))
    names |= set(re.findall(r"#define\s+cu\w+\s+(?:__CUDA_API_PTD?S?Z?\()?(cu\w+)", text))
    names |= {n + "_ptsz" for n in names} | {n + "_ptds" for n in names}
    special = {
        "cuInit": "int cuInit(unsigned int flags) { (void)flags; return 0; }",
        "cuDeviceGetCount": "int cuDeviceGetCount(int *n) { *n = 0; return 0; }",
        "cuDriverGetVersion": "int cuDriverGetVersion(int *v) { *v = 0; return 0; }",
    }
    lines = ["/* Generated by gpu/cudabuild.py: a driver with no device. */"]
    for name in sorted(names):
        lines.append(special.get(name, f"int {name}() {{ return 100; }}"))
    _shared_library("\n".join(lines) + "\n", lib, "the stand-in driver")
    os.symlink("libcuda.so.1", os.path.join(folder, "libcuda.so"))
    return folder


def cgo_env(cu13: str, stub_dir: str, base: dict | None = None) -> dict:
    """The environment for `go build/vet -tags cuda`: the compatibility
    header first on the include path, then the wheel's headers; the stub on
    the library path, kept as NEEDED (--no-as-needed)."""
    env = dict(os.environ if base is None else base)
    env["CGO_ENABLED"] = "1"
    env["CGO_CFLAGS"] = " ".join(filter(None, [f"-I{COMPAT}", f"-I{os.path.join(cu13, 'include')}", env.get("CGO_CFLAGS", "")]))
    env["CGO_LDFLAGS"] = " ".join(filter(None, ["-Wl,--no-as-needed", f"-L{stub_dir}", env.get("CGO_LDFLAGS", "")]))
    return env


def prepare(log=print) -> dict:
    """Toolchain, PTX and stub; return the cgo environment."""
    cu13 = toolchain(log=log)
    ptx(cu13, log=log)
    return cgo_env(cu13, stub())


def build_library(out: str, go: str = "go", log=print) -> None:
    """Build the CUDA c-shared library at out."""
    env = prepare(log=log)
    # The same Go experiment as setup.py's CPU build: with the CUDA library
    # loaded, the CPU still runs the tree's searches and the brute-force
    # index, and their vector kernels exist only under GOEXPERIMENT=simd.
    experiments = [e for e in env.get("GOEXPERIMENT", "").split(",") if e]
    if "simd" not in experiments and "nosimd" not in experiments:
        env["GOEXPERIMENT"] = ",".join(experiments + ["simd"])
    cmd = [go, "build", "-tags", "cuda", "-buildmode=c-shared", "-trimpath", "-o", out, "./capi"]
    log("pcct: " + " ".join(cmd))
    try:
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise ToolchainError(f"go build -tags cuda failed: {e}") from e
    header = os.path.splitext(out)[0] + ".h"
    if os.path.exists(header):
        os.remove(header)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    cmd = argv[0]
    try:
        if cmd == "toolchain":
            print(toolchain())
        elif cmd == "ptx":
            ptx(toolchain())
        elif cmd in ("env", "testenv"):
            # testenv: for `go test -tags cuda` on a machine without a GPU,
            # linking against (and loading) the stand-in driver.
            log = lambda s: print(s, file=sys.stderr)
            cu13 = toolchain(log=log)
            ptx(cu13, log=log)
            if cmd == "env":
                env = cgo_env(cu13, stub())
            else:
                fake = fake_driver(cu13)
                env = cgo_env(cu13, fake)
                print(f"export LD_LIBRARY_PATH='{fake}'")
            for k in ("CGO_CFLAGS", "CGO_LDFLAGS"):
                print(f"export {k}='{env[k]}'")
        elif cmd == "lib" and len(argv) == 2:
            build_library(os.path.abspath(argv[1]), go=os.environ.get("GO", "go"))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except ToolchainError as e:
        print(f"pcct: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
