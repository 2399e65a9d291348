#!/usr/bin/env bash
# make scale-check: issue 10's thread-scaling figures in one go, on a
# machine with many cores (the 16-core GPU machine, say), in a few
# minutes. It needs Go there (on the PATH, or .device/env.sh as
# `make gpu-check-prepare` carries it) and, for the real sets, the
# datasets ($PCCT_DATASETS, or .gpucheck/datasets as gpu-check-prepare
# copies them); the Python step runs where pcct imports.
#
#   1. the machine: cores and CPU model;
#   2. the core's large benchmark (BenchmarkBuildLarge, BenchmarkUpdate:
#      1,000,000 x 3 and 100,000 x 16 clustered points; builds, 10%
#      insertions and deletions) at each thread count of PCCT_BENCH_JOBS
#      (default 1,2,4,8,16), one run each, wall time; then the build of
#      300,000 x 16 (25 s on one thread of the development machine);
#   3. the real sets (BenchmarkBuildReal, BenchmarkUpdateReal in tests_go)
#      at the same thread counts, best of 3;
#   4. benchmarks/build.py at the largest thread count against scikit-
#      learn's and scipy's single-threaded builds.
#
# Each step has its own time limit; a step that fails does not stop the
# others, and the exit status says whether any failed. Output:
# $OUT/scaling.log (and the Go benchmarks' raw lines in $OUT/*.txt).
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
exec > >(tee "$OUT/scaling.log") 2>&1
PY="${PYTHON:-python3}"
JOBS="${PCCT_BENCH_JOBS:-1,2,4,8,16}"
export PCCT_BENCH_JOBS="$JOBS"
if [ -z "${PCCT_DATASETS:-}" ] && [ -d .gpucheck/datasets ]; then
    export PCCT_DATASETS="$PWD/.gpucheck/datasets"
fi
# shellcheck source=benchmarks/steps.sh
source benchmarks/steps.sh

step "machine"
nproc
grep -m1 'model name' /proc/cpuinfo || true
if ! command -v go >/dev/null && [ -f .device/env.sh ]; then
    # shellcheck disable=SC1091
    source .device/env.sh
fi
if command -v go >/dev/null; then
    run "build the benchmarks" 240 env GOEXPERIMENT=simd go test -c -o "$OUT/core.test" ./core
    run "build the real-set benchmarks" 120 env GOEXPERIMENT=simd go test -c -o "$OUT/tests_go.test" ./tests_go
    run "large sets, threads $JOBS" 420 "$OUT/core.test" -test.run '^$' \
        -test.bench '^Benchmark(BuildLarge|Update)$/^synthetic$/^d=(3|16)$/^n=(1000000|100000)$' \
        -test.benchtime 1x -test.timeout 410s
    # The batch construction's tasks split their large sets on idle
    # threads near the end of a build: 300,000 x 16's tasks (its 16
    # clusters, about 19,000 points each) are large enough to, 100,000 x
    # 16's are not.
    run "300,000 x 16 build, threads $JOBS" 300 "$OUT/core.test" -test.run '^$' \
        -test.bench '^BenchmarkBuildLarge$/^synthetic$/^d=16$/^n=300000$' \
        -test.benchtime 1x -test.timeout 290s
    run "real sets, threads $JOBS" 240 "$OUT/tests_go.test" -test.run '^$' \
        -test.bench 'BuildReal|UpdateReal' -test.benchtime 3x -test.timeout 230s
else
    echo "!! no Go here: the Go benchmarks are skipped"
    failed+=("go (absent)")
fi
top="${JOBS##*,}"
run "fit against scikit-learn and scipy, $top threads" 180 "$PY" benchmarks/build.py --threads "$top" --reps 5

finish scale-check
