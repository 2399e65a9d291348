package coretest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/pcct-dev/pcct/core"
)

// extremeCases are 1-D data sets with a huge dynamic range: distances from
// subnormal to near the largest float64.
var extremeCases = []struct {
	name string
	data []float64
}{
	{"tiny", []float64{0, 5e-324, 1e-323, 1e-310, 2e-310, 1e-300, 1}},
	{"wide", []float64{1e-300, 2e-300, 1e300, 1e-200, 0, -1e250, 3}},
	{"huge", []float64{1e300, -1e300, 5e299, 1e299, 0}},
}

// TestExtremeScales builds trees over data spanning hundreds of orders of
// magnitude, with several level bases, checks them and compares every k-NN
// answer with brute force.
func TestExtremeScales(t *testing.T) {
	t.Parallel()
	for _, c := range extremeCases {
		for _, base := range []float64{0, 1.3, 3.5} {
			for _, mc := range metrics {
				t.Run(fmt.Sprintf("%s/base=%v/%s", c.name, base, mc.name), func(t *testing.T) {
					checkAllKNN(t, c.data, core.Options{Metric: mc.m, Base: base})
				})
			}
		}
	}
}

// checkAllKNN builds a 1-D tree (Build may refuse the data with an error),
// checks it and compares k-NN answers for every data point as a query.
func checkAllKNN(t *testing.T, data []float64, opts core.Options) {
	t.Helper()
	tr, err := core.Build(data, 1, opts)
	if err != nil {
		t.Logf("Build refused the data: %v", err)
		return
	}
	if err := tr.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	for _, q := range data {
		for k := 1; k <= len(data); k++ {
			got, err := tr.KNearest([]float64{q}, k)
			if err != nil {
				t.Fatal(err)
			}
			want := expect[float64](bruteSorted(opts.Metric, data, 1, []float64{q}, -1)[:k])
			if d := diffNeighbors(got, want); d != "" {
				t.Fatalf("query %v, k=%d: %s", q, k, d)
			}
		}
	}
}

// overflowData has finite coordinates whose differences overflow float64:
// the distance between -1e308 and 1e308 is +Inf.
var overflowData = []float64{-1e308, 0, 1e308}

// TestOverflowingDistances: Build accepts finite coordinates, but the
// distance between two of them can overflow to +Inf. Build must then either
// return an error or build a valid tree. With the default base it builds a
// tree that fails Check: ceilLog(+Inf) uses math.Frexp, which returns
// exponent 0 for +Inf, so a node gets level 0 below the root's level 1023
// ("node 2 has level 0 below the minimum 1023").
func TestOverflowingDistances(t *testing.T) {
	t.Parallel()
	if d := core.Distance(core.Metric{}, overflowData[:1], overflowData[2:]); !math.IsInf(d, 1) {
		t.Fatalf("distance = %v, expected +Inf", d)
	}
	for _, mc := range metrics {
		t.Run(mc.name, func(t *testing.T) {
			checkAllKNN(t, overflowData, core.Options{Metric: mc.m})
		})
	}
}

// TestOverflowingDistancesBaseHang: with a level base other than 2, Build
// over the same data never returns: scale.ceilLog(+Inf) loops on
// "for s.pow(j) < d { j++ }" forever. The build runs in a child process
// (this test binary, re-run on the helper below) that is killed after 5
// seconds, so the hang cannot stall the suite.
func TestOverflowingDistancesBaseHang(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("cannot find the test binary: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^TestHelperOverflowBuild$", "-test.v")
	cmd.Env = append(os.Environ(), "PCCT_HELPER_OVERFLOW_BUILD=1")
	out, err := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Build(%v, Base 1.3) did not return within 5 s (killed)", overflowData)
	}
	if err != nil {
		t.Fatalf("helper failed: %v\n%s", err, out)
	}
}

// TestHelperOverflowBuild is the child process of
// TestOverflowingDistancesBaseHang; it does nothing in a normal run.
func TestHelperOverflowBuild(t *testing.T) {
	if os.Getenv("PCCT_HELPER_OVERFLOW_BUILD") != "1" {
		t.Skip("helper process for TestOverflowingDistancesBaseHang")
	}
	checkAllKNN(t, overflowData, core.Options{Base: 1.3})
}
