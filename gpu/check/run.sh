#!/usr/bin/env bash
# make gpu-check: every GPU test and the benchmark against torch, in one go,
# on the GPU machine (an H200 with driver 580, CUDA 13.0, Python with numpy,
# scipy, scikit-learn, pytest and torch; no Go, no network). Prepare it
# first with `make gpu-check-prepare` on a build machine (see prepare.sh).
#
#   1. the machine and pcct's choice of library (python -m pcct info);
#   2. go test -tags cuda -run GPU ./gpu: every kernel against core's CPU
#      brute force (random data up to 1,000,000 points, d = 2, 3, 16, 128,
#      784, k up to 4,096, ties, duplicates, near-ties, offsets, float32 and
#      float64, queries in chunks, concurrent searches, the build engine);
#   3. pytest -m gpu: NearestNeighbors(device="cuda") against device="cpu",
#      on random and real data, with updates and threads;
#   4. the benchmark: pcct's GPU search and torch's GEMM + topk, measured in
#      the same run (gpu/check/bench.py), printed as a table;
#   5. the CPU's search against the GPU's on a few shapes (crossover.py),
#      the evidence behind device="auto"'s threshold.
#
# Each step has its own time limit, so that the whole stays under 5
# minutes; a step that fails does not stop the others. The exit status is
# non-zero if any step failed. Output: $OUT/gpu-check.log, $OUT/bench.md.
set -u
cd "$(dirname "$0")/../.."
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
export PCCT_DATASETS="${PCCT_DATASETS:-$PWD/.gpucheck/datasets}"
# shellcheck source=benchmarks/steps.sh
source benchmarks/steps.sh

step "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo "no nvidia-smi"
nproc
for f in python/pcct/libpcct.so python/pcct/libpcct_cuda.so gpu/kernels/pcct.ptx; do
    [ -f "$f" ] || echo "!! $f is missing: run make gpu-check-prepare on the build machine and carry it"
done
run "pcct info" 60 "$PY" -m pcct info

gobench=""
if [ -f .device/env.sh ]; then
    # shellcheck disable=SC1091
    source .device/env.sh
    export CGO_CFLAGS="-I$PWD/gpu/cudacompat -I${CUDA_HOME:-/usr/local/cuda}/include"
    run "go test -tags cuda (GPU against CPU)" 170 env PCCT_GPU_TEST_SCALE=1 \
        go test -tags cuda -count=1 -v -run GPU -timeout 160s ./gpu
    step "go benchmark"
    timeout 100 go test -tags cuda -count=1 -run '^$' -bench GPUKNearest -benchtime 3x -timeout 95s ./gpu \
        | tee "$OUT/go-bench.txt" || failed+=("go benchmark")
    gobench="$OUT/go-bench.txt"
else
    echo; echo "!! no .device/env.sh (no Go here): the Go GPU tests and benchmark are skipped"
    failed+=("go tests (not carried)")
fi

# faulthandler_timeout: a test still running after 90 s prints every Python
# thread's stack (a hang says where it is).
run "pytest -m gpu" 240 "$PY" -m pytest -q -m gpu -p no:cacheprovider --durations=8 \
    -o faulthandler_timeout=90 tests_py/test_gpu.py
run "benchmark against torch" 90 "$PY" gpu/check/bench.py --go-bench "$gobench" --out "$OUT/bench.md"
run "CPU against GPU (device='auto')" 120 "$PY" gpu/check/crossover.py --budget 80

finish gpu-check
