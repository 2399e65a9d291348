package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// netCase is a data set for the construction tests.
type netCase struct {
	name string
	n    int
	dim  int
	gen  func(rng *rand.Rand, n, dim int) []float64
}

var netCases = []netCase{
	{"single", 1, 3, gaussianRows},
	{"pair", 2, 2, gaussianRows},
	{"identical", 300, 4, func(_ *rand.Rand, n, dim int) []float64 { return make([]float64, n*dim) }},
	{"gaussian", 3000, 3, gaussianRows},
	{"grid", 3000, 2, gridRows},         // duplicates and ties everywhere
	{"grid8", 2000, 8, gridRows},        // higher dimension, duplicates
	{"big-cell", 6000, 2, gaussianRows}, // a first cell over netBigCell
	{"clusters", 2000, 5, clusterRows},
}

func gaussianRows(rng *rand.Rand, n, dim int) []float64 {
	out := make([]float64, n*dim)
	for i := range out {
		out[i] = rng.NormFloat64()
	}
	return out
}

func gridRows(rng *rand.Rand, n, dim int) []float64 {
	out := make([]float64, n*dim)
	for i := range out {
		out[i] = float64(rng.IntN(6))
	}
	return out
}

// clusterRows draws from clusters whose spreads differ by a factor 1,000.
func clusterRows(rng *rand.Rand, n, dim int) []float64 {
	out := make([]float64, n*dim)
	for i := range n {
		c := rng.IntN(4)
		s := math.Pow(10, -float64(c))
		for j := range dim {
			out[i*dim+j] = float64(c*10) + s*rng.NormFloat64()
		}
	}
	return out
}

// TestBuildAgainstIncremental builds each data set with Build and with the
// reference BuildIncremental, under several metrics, bases and both
// precisions, checks both trees' invariants, and compares their k-nearest
// answers (distances and, through ties, indices: both are exact) on queries
// near and on the data.
func TestBuildAgainstIncremental(t *testing.T) {
	type variant struct {
		metric Metric
		base   float64
	}
	variants := []variant{
		{Metric{}, 0},
		{Metric{}, 1.3},
		{Metric{}, 3},
		{Metric{}, 16},
		{Metric{Kind: Manhattan}, 0},
		{Metric{Kind: Chebyshev}, 0},
		{Metric{Kind: Minkowski, P: 3}, 0},
		{Metric{Kind: Cosine}, 0},
	}
	for ci, c := range netCases {
		for vi, v := range variants {
			if vi > 0 && c.n > 2000 {
				continue // the other variants on the smaller sets: Check is O(n^2)
			}
			if raceEnabled && (vi > 0 || c.n > 2000) {
				continue // a few cases suffice for the race detector
			}
			name := fmt.Sprintf("%s/%v/base=%v", c.name, v.metric, v.base)
			t.Run(name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(ci), uint64(vi)))
				data := c.gen(rng, c.n, c.dim)
				if v.metric.Kind == Cosine {
					for i := range data {
						data[i] += 0.5 // no zero rows
					}
				}
				opts := Options{Metric: v.metric, Base: v.base, Seed: 5, Jobs: 3}
				compareBuilds(t, data, c.dim, opts, rng)
				if vi == 0 {
					d32 := make([]float32, len(data))
					for i, x := range data {
						d32[i] = float32(x)
					}
					compareBuilds(t, d32, c.dim, opts, rng)
				}
			})
		}
	}
}

// TestBuildHaversine builds haversine trees (latitude, longitude in
// radians, poles and the antimeridian included) both ways.
func TestBuildHaversine(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	n := 2000
	if raceEnabled {
		n = 500
	}
	data := make([]float64, 2*n)
	for i := range n {
		data[2*i] = math.Asin(2*rng.Float64() - 1)
		data[2*i+1] = math.Pi * (2*rng.Float64() - 1)
		if i%100 == 0 {
			data[2*i] = math.Pi / 2
		}
	}
	compareBuilds(t, data, 2, Options{Metric: Metric{Kind: Haversine}, Seed: 1, Jobs: 2}, rng)
}

func compareBuilds[T Float](t *testing.T, data []T, dim int, opts Options, rng *rand.Rand) {
	t.Helper()
	fast, err := Build(data, dim, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := fast.Check(); err != nil {
		t.Fatalf("Build: %v", err)
	}
	ref, err := BuildIncremental(data, dim, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.Check(); err != nil {
		t.Fatalf("BuildIncremental: %v", err)
	}
	if fast.Len() != ref.Len() || fast.Nodes() != ref.Nodes() {
		t.Fatalf("Build holds %d points in %d nodes, BuildIncremental %d in %d", fast.Len(), fast.Nodes(), ref.Len(), ref.Nodes())
	}
	n := len(data) / dim
	const nq, k = 40, 7
	qs := make([]T, 0, nq*dim)
	for q := range nq {
		r := rng.IntN(n)
		for j := range dim {
			x := data[r*dim+j]
			if q%2 == 1 { // off the data
				x += T(0.01 * rng.NormFloat64())
			}
			qs = append(qs, x)
		}
	}
	if opts.Metric.Kind == Haversine {
		for q := range nq {
			qs[q*dim] = T(max(-math.Pi/2, min(math.Pi/2, float64(qs[q*dim]))))
		}
	}
	kk := min(k, n)
	for _, strat := range []Strategy{DepthFirst, Corrected} {
		d1, i1 := make([]T, nq*kk), make([]int64, nq*kk)
		d2, i2 := make([]T, nq*kk), make([]int64, nq*kk)
		if err := fast.KNearestBatch(Batch[T]{Points: qs, Strategy: strat}, kk, d1, i1); err != nil {
			t.Fatal(err)
		}
		if err := ref.KNearestBatch(Batch[T]{Points: qs, Strategy: strat}, kk, d2, i2); err != nil {
			t.Fatal(err)
		}
		for q := range d1 {
			if d1[q] != d2[q] || i1[q] != i2[q] {
				t.Fatalf("%v query %d rank %d: Build gives (%v, %d), BuildIncremental (%v, %d)", strat, q/kk, q%kk, d1[q], i1[q], d2[q], i2[q])
			}
		}
	}
}

// TestBuildMonitor checks that a build reports every point and can be
// stopped.
func TestBuildMonitor(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	data := gridRows(rng, 5000, 3)
	var done, stop int64
	if _, err := Build(data, 3, Options{Jobs: 2, Monitor: &Monitor{Done: &done, Stop: &stop}}); err != nil {
		t.Fatal(err)
	}
	if done != 5000 {
		t.Fatalf("the monitor counted %d points, want 5000", done)
	}
	stop, done = 1, 0
	if _, err := Build(data, 3, Options{Jobs: 2, Monitor: &Monitor{Done: &done, Stop: &stop}}); err != ErrStopped {
		t.Fatalf("a stopped build returned %v, want ErrStopped", err)
	}
	if done != 0 {
		t.Fatalf("a build stopped before it began counted %d points, want 0", done)
	}
}

// TestBuildBudget checks that a build over data a cover tree cannot prune
// gives up at its evaluation budget, and that the same budget leaves a
// build over benign data alone.
func TestBuildBudget(t *testing.T) {
	const n = 4000
	budget := int64(20 * n * math.Log2(n))
	rng := rand.New(rand.NewPCG(4, 4))
	flat := make([]float64, n*48)
	for i := range flat {
		flat[i] = rng.Float64()
	}
	tr, err := Build(flat, 48, Options{MaxEvals: budget, Jobs: 2})
	if err != ErrCostly {
		t.Fatalf("uniform 48-D points: Build returned (%v, %v), want ErrCostly", tr, err)
	}
	tr, err = Build(flat, 48, Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if evals, _ := tr.DistanceEvals(); evals <= budget {
		t.Fatalf("the unbounded build spent %d evaluations, within the budget %d: the test data prune too well", evals, budget)
	}
	benign := gaussianRows(rng, n, 2)
	if _, err := Build(benign, 2, Options{MaxEvals: budget, Jobs: 2}); err != nil {
		t.Fatalf("2-D Gaussian points within a budget of %d evaluations: %v", budget, err)
	}
}

// TestBuildEngine builds with an engine whose distances are off by up to
// its error bound (to the edge of it for a quarter of them): the tree must
// be the one the level-synchronous construction builds without an engine.
func TestBuildEngine(t *testing.T) {
	// Uniform points in 6-D: most lie at similar distances from the root,
	// so the first cell's candidates are many.
	rng := rand.New(rand.NewPCG(6, 6))
	n, dim := 12000, 6
	if raceEnabled {
		n = 5000
	}
	data := make([]float64, n*dim)
	for i := range data {
		data[i] = rng.Float64()
	}
	plain, err := Build(data, dim, Options{Seed: 3, Jobs: 2, netOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	eng := &PerturbedEngine{Bound: ErrorBound{Rel: 1e-4, Abs: 1e-9}, Seed: 1}
	on, err := Build(data, dim, Options{Seed: 3, Jobs: 2, Engine: eng, engineMin: 500})
	if err != nil {
		t.Fatal(err)
	}
	if eng.calls.Load() == 0 {
		t.Fatal("the build never called its engine")
	}
	a, b := shape(plain), shape(on)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("caller index %d: (level, parent, distance) %v with the engine, %v without", i, b[i], a[i])
		}
	}
}

// brokenEngine refuses every point set.
type brokenEngine struct{}

func (brokenEngine) Name() string { return "broken" }
func (brokenEngine) Load32([]float32, int, Metric) (EngineSet[float32], error) {
	return nil, fmt.Errorf("no device")
}
func (brokenEngine) Load64([]float64, int, Metric) (EngineSet[float64], error) {
	return nil, fmt.Errorf("no device")
}

// TestBuildEngineError checks that an engine's failure is Build's error.
func TestBuildEngineError(t *testing.T) {
	data := gaussianRows(rand.New(rand.NewPCG(1, 1)), 2000, 2)
	// In two dimensions Build would make the tree on grids, which need
	// no engine: the level-synchronous construction is asked for.
	_, err := Build(data, 2, Options{Engine: brokenEngine{}, engineMin: 100, netOnly: true})
	if err == nil || !strings.Contains(err.Error(), "no device") {
		t.Fatalf("Build with a failing engine returned %v, want its error", err)
	}
}

// TestBuildListCap caps the friend lists so that the build stops making
// levels early and inserts the remaining points in batches: the tree must
// pass Check and answer as the uncapped one does.
func TestBuildListCap(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, c := range []struct {
		name string
		data []float64
		dim  int
	}{
		{"gaussian", gaussianRows(rng, 3000, 4), 4},
		{"grid", gridRows(rng, 3000, 3), 3},
	} {
		for _, capEntries := range []int{1, 200, 5000} {
			batched := -1
			opts := Options{Seed: 2, Jobs: 2, listCap: capEntries, batched: &batched, netOnly: true}
			capped, err := Build(c.data, c.dim, opts)
			if err != nil {
				t.Fatal(err)
			}
			// A cap of one entry stops the build at its first friend
			// lists: nearly every point goes in by batch insertion.
			if capEntries == 1 && batched < 3000/2 {
				t.Fatalf("%s, cap 1: %d points inserted in batches, want most of 3000", c.name, batched)
			}
			if batched < 0 {
				t.Fatalf("%s, cap %d: the build did not report its batch insertions", c.name, capEntries)
			}
			opts.batched = nil
			if err := capped.Check(); err != nil {
				t.Fatalf("%s, cap %d: %v", c.name, capEntries, err)
			}
			if capped.Len() != 3000 {
				t.Fatalf("%s, cap %d: the tree holds %d points, want 3000", c.name, capEntries, capped.Len())
			}
			compareBuilds(t, c.data, c.dim, opts, rng)
		}
	}
}
