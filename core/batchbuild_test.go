package core

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBatchBuild builds trees by the batch construction on data made to
// strain it and checks their invariants, which construction ran and their
// k-nearest answers against brute force, in both precisions.
func TestBatchBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	manhattan := Metric{Kind: Manhattan}
	cases := []struct {
		name   string
		dim    int
		data   []float64
		metric Metric
		base   float64
	}{
		{"gaussian-6", 6, gaussianRows(rng, 3000, 6), Metric{}, 0},
		{"uniform-6", 6, uniformRows(rng, 4000, 6), Metric{}, 0},
		{"clusters-16", 16, clusterRows(rng, 3000, 16), Metric{}, 0},
		{"grid-ties-5", 5, gridRows(rng, 2500, 5), Metric{}, 0},
		{"near-duplicates-8", 8, nearNeighbours8(rng, 2000, 1e-7), Metric{}, 0},
		{"clusters-10-base-1.3", 10, clusterRows(rng, 3000, 10), Metric{}, 1.3},
		{"grid-ties-6-base-1.3", 6, gridRows(rng, 2000, 6), Metric{}, 1.3},
		{"gaussian-12-base-4", 12, gaussianRows(rng, 3000, 12), Metric{}, 4},
		{"clusters-8-manhattan", 8, clusterRows(rng, 3000, 8), manhattan, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkBuild(t, c.data, c.dim, Options{Seed: 4, Jobs: 2, Metric: c.metric, Base: c.base}, "batch", rng)
		})
	}
}

// uniformRows returns n uniform points in the unit cube of dim dimensions.
func uniformRows(rng *rand.Rand, n, dim int) []float64 {
	data := make([]float64, n*dim)
	for i := range data {
		data[i] = rng.Float64()
	}
	return data
}

// surfaceRows returns n points of a smooth two-dimensional surface in dim
// dimensions.
func surfaceRows(rng *rand.Rand, n, dim int) []float64 {
	data := make([]float64, n*dim)
	for i := range n {
		u, v := 4*rng.Float64(), 4*rng.Float64()
		for k := range dim {
			f := float64(k + 1)
			data[i*dim+k] = math.Sin(f*u/3+v) + math.Cos(u-f*v/5)
		}
	}
	return data
}

// nearNeighbours8 returns n points in 8-D in pairs gap apart, some of
// them repeated.
func nearNeighbours8(rng *rand.Rand, n int, gap float64) []float64 {
	const dim = 8
	data := make([]float64, n*dim)
	for i := 0; i < n; i++ {
		row := data[i*dim : (i+1)*dim]
		switch {
		case i%2 == 1:
			copy(row, data[(i-1)*dim:i*dim])
			row[i%dim] += gap
		case i%10 == 0 && i > 0:
			copy(row, data[(i-10)*dim:(i-9)*dim])
		default:
			for k := range row {
				row[k] = rng.Float64()
			}
		}
	}
	return data
}

// TestBatchBuildDeterministic checks that the batch construction gives the
// same tree for every number of goroutines, with sets large enough to be
// measured in parallel, and another tree for another seed.
func TestBatchBuildDeterministic(t *testing.T) {
	n := 12000 // the root's set is measured in parallel (batchParallelMin)
	if raceEnabled {
		n = 9000
	}
	rng := rand.New(rand.NewPCG(11, 5))
	data := clusterRows(rng, n, 8)
	var ref [][3]float64
	for _, jobs := range []int{1, 2, 4} {
		var built string
		tr, err := Build(data, 8, Options{Seed: 7, Jobs: jobs, built: &built})
		if err != nil {
			t.Fatal(err)
		}
		if built != "batch" {
			t.Fatalf("built by %q", built)
		}
		s := shape(tr)
		if ref == nil {
			ref = s
			continue
		}
		if !slices.Equal(s, ref) {
			t.Fatalf("jobs=%d gave another tree than jobs=1", jobs)
		}
	}
	other, err := Build(data, 8, Options{Seed: 8, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(shape(other), ref) {
		t.Fatal("another seed gave the same tree")
	}
}

// TestBatchBuildParallelParts measures every set of 64 points or more in
// parallel parts (a test option; batchParallelMin otherwise) and requires
// the tree of one job, under the Euclidean, cosine, Manhattan and
// Chebyshev distances, in float64 and float32, with ties and duplicates:
// the race detector watches the parts' shared state.
func TestBatchBuildParallelParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 3))
	n := 2500
	if raceEnabled || testing.Short() {
		n = 1200
	}
	for _, c := range []struct {
		name   string
		dim    int
		data   []float64
		metric Metric
	}{
		{"clusters-16", 16, clusterRows(rng, n, 16), Metric{}},
		{"grid-ties-5", 5, gridRows(rng, n, 5), Metric{}},
		{"clusters-12-cosine", 12, clusterRows(rng, n, 12), Metric{Kind: Cosine}},
		{"clusters-8-manhattan", 8, clusterRows(rng, n, 8), Metric{Kind: Manhattan}},
		{"grid-ties-6-chebyshev", 6, gridRows(rng, n, 6), Metric{Kind: Chebyshev}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkPartsTree(t, c.data, c.dim, c.metric)
			checkPartsTree(t, toFloat32(c.data), c.dim, c.metric)
		})
	}
}

func checkPartsTree[T Float](t *testing.T, data []T, dim int, metric Metric) {
	t.Helper()
	one, err := Build(data, dim, Options{Seed: 3, Jobs: 1, Metric: metric})
	if err != nil {
		t.Fatal(err)
	}
	for _, jobs := range []int{2, 3} {
		var built string
		tr, err := Build(data, dim, Options{Seed: 3, Jobs: jobs, Metric: metric, parallelMin: 64, built: &built})
		if err != nil {
			t.Fatal(err)
		}
		if built != "batch" {
			t.Fatalf("built by %q", built)
		}
		if err := tr.Check(); err != nil {
			t.Fatalf("jobs=%d: %v", jobs, err)
		}
		if !slices.Equal(treeShape(tr), treeShape(one)) {
			t.Fatalf("jobs=%d, sets measured in parts: another tree than one job's", jobs)
		}
	}
}

// TestCloserBlocks checks that the closer pass's block form (closerBlocks,
// the row kernel over a parent's grandchildren) gives every node the parent
// and distance that measuring one distance at a time does (closest): the
// same trees, node for node, with radii. The data take both of the block
// form's shortcuts and its limits: clusters whose spreads differ a
// thousandfold, a grid of ties (equally near candidate parents, where the
// first in closest's order must win), duplicates, coordinates near 1e6
// (squares that must not settle a comparison they cannot decide), points
// so spread that their squares overflow (the distance is then measured as
// the tree measures it), the cosine distance, both precisions, one and
// three jobs; and letter's rows where the data set is present.
func TestCloserBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 5))
	n := 3000
	if raceEnabled || testing.Short() {
		n = 1200
	}
	spread := gaussianRows(rng, n, 6)
	for i := range spread {
		spread[i] *= math.Pow(10, float64(150*(i%3)))
	}
	near1e6 := clusterRows(rng, n, 9)
	for i := range near1e6 {
		near1e6[i] += 1e6
	}
	dups := clusterRows(rng, n, 8)
	copy(dups[len(dups)/2:], dups[:len(dups)/2])
	cases := []struct {
		name   string
		dim    int
		data   []float64
		metric Metric
		only64 bool // coordinates float32 cannot hold
	}{
		{"clusters-16", 16, clusterRows(rng, n, 16), Metric{}, false},
		{"grid-ties-5", 5, gridRows(rng, n, 5), Metric{}, false},
		{"grid-ties-12", 12, gridRows(rng, n, 12), Metric{}, false},
		{"duplicates-8", 8, dups, Metric{}, false},
		{"near-1e6-9", 9, near1e6, Metric{}, false},
		{"spread-6", 6, spread, Metric{}, true},
		{"clusters-12-cosine", 12, clusterRows(rng, n, 12), Metric{Kind: Cosine}, false},
	}
	if letter, err := realRows(rng, n, 16, readLetter); err == nil {
		cases = append(cases, struct {
			name   string
			dim    int
			data   []float64
			metric Metric
			only64 bool
		}{"letter", 16, letter, Metric{}, false})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkCloserBlocks(t, c.data, c.dim, c.metric)
			if !c.only64 {
				checkCloserBlocks(t, toFloat32(c.data), c.dim, c.metric)
			}
		})
	}
}

func checkCloserBlocks[T Float](t *testing.T, data []T, dim int, metric Metric) {
	t.Helper()
	for _, jobs := range []int{1, 3} {
		var built string
		ref, err := Build(data, dim, Options{Seed: 5, Jobs: jobs, Metric: metric, scalarCloser: true, built: &built})
		if err != nil {
			t.Fatal(err)
		}
		if built != "batch" {
			t.Fatalf("built by %q", built)
		}
		tr, err := Build(data, dim, Options{Seed: 5, Jobs: jobs, Metric: metric})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Check(); err != nil {
			t.Fatalf("jobs=%d: %v", jobs, err)
		}
		if !slices.Equal(treeShape(tr), treeShape(ref)) {
			t.Fatalf("jobs=%d: the block form gave another tree than closest", jobs)
		}
	}
}
