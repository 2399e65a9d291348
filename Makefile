# pcct: the two commands are `make demo` and `make test`.
#
# Everything Python runs in .venv (created with $(PYTHON), 3.10 or newer);
# the package is installed there with `pip install .[test]`, whose build step
# compiles the Go core into the package. The install is redone when a Go or
# Python source, go.mod/go.sum or the packaging files change.

PYTHON ?= python3
GO     ?= go
GOFMT  ?= $(shell $(GO) env GOROOT 2>/dev/null)/bin/gofmt
VENV   := .venv
VPY    := $(VENV)/bin/python
VPIP   := $(VPY) -m pip
STAMP  := $(VENV)/.pcct-installed

GO_SRC  := $(shell find core capi gpu -name '*.go' -not -name '*_test.go' 2>/dev/null)
PY_SRC  := $(shell find python/pcct -name '*.py' 2>/dev/null)
PKG_SRC := go.mod go.sum pyproject.toml setup.py MANIFEST.in

export GO

.PHONY: all demo test go-test py-test fmt-check vet install venv wheel clean bench bench-smoke

all: test

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "pcct needs Python >= 3.10, got " + sys.version.split()[0] + ": set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)

venv: $(VPY)

$(STAMP): $(VPY) $(GO_SRC) $(PY_SRC) $(PKG_SRC)
	$(VPIP) install --disable-pip-version-check '.[test]'
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(VPY) -m pcct.demo

fmt-check:
	@files="$$($(GOFMT) -l $$(find . -name '*.go' -not -path './.venv/*' -not -path './build/*' -not -path './.git/*'))"; \
	if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi; \
	echo "gofmt: ok"

vet:
	$(GO) vet ./...
	GOEXPERIMENT=simd $(GO) vet ./core ./capi

# The race detector over the concurrent tests: the core package (snapshots
# read while updates run, parallel batches, dynamic sequences) and the
# black-box batch, monitor and empty-tree tests. It needs cgo (a C compiler).
RACE_RUN ?= Batch|Monitor|EmptyTree

# The brute-force index's vector kernel exists only under Go's SIMD
# experiment (the Python package is built with it): its tests run both ways.
SIMD_RUN ?= Brute|Choose

go-test: fmt-check vet
	$(GO) test ./...
	GOEXPERIMENT=simd $(GO) test -run '$(SIMD_RUN)' ./core
	$(GO) test -race ./core
	$(GO) test -race -run '$(RACE_RUN)' ./tests_go

py-test: $(STAMP)
	$(VPY) -m pytest tests_py

# Set-up first (a failed build stops here), then the Go checks, the benchmark
# smoke run, then pytest; each runs even when an earlier one failed, and the
# target fails if any did.
test: $(STAMP)
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

bench: $(STAMP)
	$(VPIP) install --disable-pip-version-check -r benchmarks/requirements.txt
	$(VPY) benchmarks/run.py $(BENCH_ARGS)

bench-smoke: $(STAMP)
	$(VPY) benchmarks/run.py --smoke

wheel: $(VPY)
	$(VPIP) wheel --no-deps -w dist .

clean:
	rm -rf $(VENV) build dist python/pcct.egg-info .pytest_cache
	rm -f python/pcct/libpcct*.so python/pcct/libpcct*.h
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
