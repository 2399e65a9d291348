package core

import (
	"math"
	"math/rand/v2"
	"testing"
)

// buildCases are the two constructions Build chooses between, each with
// data it takes: the grid one in three dimensions, the batch one above.
var buildCases = []struct {
	name  string
	dim   int
	rows  func(rng *rand.Rand, n, dim int) []float64
	slope float64 // the most the evaluations' growth exponent may reach
}{
	{"grid", 3, clusterRows, 1.25},
	// On data of full intrinsic dimension 8 the evaluations a point grow
	// with n until n is far beyond a test's size, for every construction
	// (Gaussian clusters: n^1.6-1.7 from 2,000 to 32,000 points), so the
	// batch construction is measured on a two-dimensional surface in 8-D.
	{"batch", 8, surfaceRows, 1.3},
}

// checkBuild builds data (float64, then float32) with opts, checks that
// the float64 build took the construction want, the invariants of both
// trees, and their k-nearest answers against brute force.
func checkBuild(t *testing.T, data []float64, dim int, opts Options, want string, rng *rand.Rand) {
	t.Helper()
	var built string
	opts.built = &built
	tr, err := Build(data, dim, opts)
	if err != nil {
		t.Fatal(err)
	}
	if built != want {
		t.Fatalf("built by %q, want %q", built, want)
	}
	if err := tr.Check(); err != nil {
		t.Fatal(err)
	}
	againstBrute(t, tr, data, dim, rng)
	d32 := make([]float32, len(data))
	for i, x := range data {
		d32[i] = float32(x)
	}
	t32, err := Build(d32, dim, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := t32.Check(); err != nil {
		t.Fatalf("float32: %v", err)
	}
	againstBrute(t, t32, d32, dim, rng)
}

// TestBuildEvals fits the growth of each construction's distance
// evaluations with n: O(n log n) gives an exponent a little above 1;
// anything near 2 is a quadratic build.
func TestBuildEvals(t *testing.T) {
	sizes := []int{2000, 8000, 32000}
	if raceEnabled || testing.Short() {
		sizes = sizes[:2]
	}
	for _, c := range buildCases {
		t.Run(c.name, func(t *testing.T) {
			var logN, logE []float64
			for _, n := range sizes {
				rng := rand.New(rand.NewPCG(9, 9))
				var built string
				tr, err := Build(c.rows(rng, n, c.dim), c.dim, Options{Seed: 1, Jobs: 2, built: &built})
				if err != nil {
					t.Fatal(err)
				}
				if built != c.name {
					t.Fatalf("built by %q", built)
				}
				build, _ := tr.DistanceEvals()
				logN, logE = append(logN, math.Log(float64(n))), append(logE, math.Log(float64(build)))
			}
			slope := (logE[len(logE)-1] - logE[0]) / (logN[len(logN)-1] - logN[0])
			if slope > c.slope {
				t.Fatalf("evaluations grow as n^%.2f", slope)
			}
			t.Logf("evaluations grow as n^%.2f", slope)
		})
	}
}

// TestBuildStops checks each construction's monitor (a stop request, and
// the progress count) and budget of distance evaluations.
func TestBuildStops(t *testing.T) {
	for _, c := range buildCases {
		t.Run(c.name, func(t *testing.T) {
			data := c.rows(rand.New(rand.NewPCG(2, 3)), 5000, c.dim)
			var done, stop int64
			stop = 1
			if _, err := Build(data, c.dim, Options{Monitor: &Monitor{Done: &done, Stop: &stop}}); err != ErrStopped {
				t.Fatalf("a stopped build returned %v", err)
			}
			if _, err := Build(data, c.dim, Options{MaxEvals: 1000}); err != ErrCostly {
				t.Fatalf("a build over its budget returned %v", err)
			}
			stop = 0
			tr, err := Build(data, c.dim, Options{Monitor: &Monitor{Done: &done, Stop: &stop}})
			if err != nil {
				t.Fatal(err)
			}
			if done != int64(tr.Len()) {
				t.Fatalf("the monitor counted %d points of %d", done, tr.Len())
			}
		})
	}
}
