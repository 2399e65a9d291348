#!/usr/bin/env bash
# make gpu-check-prepare: build here, on any Linux machine, what the GPU
# machine needs for `make gpu-check` (it has no Go and no network):
#   python/pcct/libpcct.so, python/pcct/libpcct_cuda.so  both builds of the library
#   gpu/kernels/pcct.ptx                                 the kernels, for go test there
#   .gpucheck/datasets/                                  the real datasets (if found here)
#   .device/                                             Go toolchain + vendored modules
#                                                        (../shared/device/pack, if present)
# All of them are ignored by git; name them in the device run's carry list.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${1:-python3}"
GO="${2:-go}"
export GO

echo "== the CUDA build (nvcc from NVIDIA's pip wheels, stub libcuda.so.1)"
"$PY" gpu/cudabuild.py lib python/pcct/libpcct_cuda.so
echo "== the CPU build (with Go's SIMD experiment, as setup.py builds it)"
GOEXPERIMENT="${GOEXPERIMENT:-simd}" CGO_ENABLED=1 "$GO" build -buildmode=c-shared -trimpath -o python/pcct/libpcct.so ./capi
rm -f python/pcct/libpcct.h python/pcct/libpcct_cuda.h

datasets="${PCCT_DATASETS:-../shared/datasets}"
mkdir -p .gpucheck/datasets
if [ -d "$datasets" ]; then
    cp "$datasets"/* .gpucheck/datasets/
    echo "== datasets copied from $datasets"
else
    echo "== no datasets at $datasets: their GPU tests will skip there"
fi

if [ -x ../shared/device/pack ]; then
    echo "== Go toolchain and modules for go test -tags cuda there"
    ../shared/device/pack
else
    echo "== no ../shared/device/pack: the Go GPU tests and benchmark will not run there"
fi
du -sh python/pcct/libpcct*.so gpu/kernels/pcct.ptx .gpucheck .device 2>/dev/null || true
cat <<'MSG'
Ready. On the GPU machine, run (from the repository root), carrying
  .device .gpucheck python/pcct/libpcct.so python/pcct/libpcct_cuda.so gpu/kernels/pcct.ptx
the command
  bash gpu/check/run.sh
(under 5 minutes on an H200; results in $OUT/gpu-check.log and $OUT/bench.md).
MSG
