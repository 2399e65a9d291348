package coretest

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// metrics lists every metric the tests run, by name.
var metrics = []struct {
	name string
	m    core.Metric
}{
	{"euclidean", core.Metric{Kind: core.Euclidean}},
	{"manhattan", core.Metric{Kind: core.Manhattan}},
	{"chebyshev", core.Metric{Kind: core.Chebyshev}},
	{"minkowski1.5", core.Metric{Kind: core.Minkowski, P: 1.5}},
	{"minkowski3", core.Metric{Kind: core.Minkowski, P: 3}},
}

// pair is one brute-force answer: a caller index and its distance, computed
// in float64 by core.Distance on the caller's rows.
type pair struct {
	d float64
	i int
}

func comparePairs(a, b pair) int {
	if c := cmp.Compare(a.d, b.d); c != 0 {
		return c
	}
	return cmp.Compare(a.i, b.i)
}

// row returns row i of a row-major point set.
func row[T core.Float](data []T, dim, i int) []T {
	return data[i*dim : (i+1)*dim : (i+1)*dim]
}

// bruteSorted returns every point of data except caller index exclude (-1
// for none), with its distance to q, ordered by (distance, index). It is the
// ground truth: no pruning, no cleverness.
func bruteSorted[T core.Float](m core.Metric, data []T, dim int, q []T, exclude int) []pair {
	n := len(data) / dim
	out := make([]pair, 0, n)
	for i := range n {
		if i == exclude {
			continue
		}
		out = append(out, pair{core.Distance(m, q, row(data, dim, i)), i})
	}
	slices.SortFunc(out, comparePairs)
	return out
}

// withinPrefix returns the prefix of a sorted answer list with d <= r.
func withinPrefix(all []pair, r float64) []pair {
	j, _ := slices.BinarySearchFunc(all, r, func(p pair, r float64) int {
		if p.d <= r {
			return -1
		}
		return 1
	})
	return all[:j]
}

// expect converts brute-force pairs to the neighbours a tree of type T must
// return: the distance rounded to T, as the tree reports it, and in the
// order of the reported (distance, index) pairs: float64 distances that
// differ can round to equal float32 ones, which then go by index.
func expect[T core.Float](ps []pair) []core.Neighbor {
	out := make([]core.Neighbor, len(ps))
	for j, p := range ps {
		out[j] = core.Neighbor{Index: p.i, Dist: float64(T(p.d))}
	}
	slices.SortStableFunc(out, func(a, b core.Neighbor) int {
		switch {
		case a.Dist < b.Dist:
			return -1
		case a.Dist > b.Dist:
			return 1
		}
		return a.Index - b.Index
	})
	return out
}

// diffNeighbors describes the first difference between two answer lists,
// or returns "" if they are equal.
func diffNeighbors(got, want []core.Neighbor) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d answers, want %d%s", len(got), len(want), firstDiff(got, want))
	}
	return firstDiff(got, want)
}

func firstDiff(got, want []core.Neighbor) string {
	for j := range min(len(got), len(want)) {
		if got[j] != want[j] {
			return fmt.Sprintf("; first difference at %d: got %+v, want %+v (got[%d:%d]=%v, want[%d:%d]=%v)",
				j, got[j], want[j], max(j-2, 0), min(j+3, len(got)), got[max(j-2, 0):min(j+3, len(got))],
				max(j-2, 0), min(j+3, len(want)), want[max(j-2, 0):min(j+3, len(want))])
		}
	}
	return ""
}

// batchNeighbors converts row i of a KNearestBatch output to neighbours.
func batchNeighbors[T core.Float](dist []T, idx []int64, i, k int) []core.Neighbor {
	out := make([]core.Neighbor, k)
	for j := range k {
		out[j] = core.Neighbor{Index: int(idx[i*k+j]), Dist: float64(dist[i*k+j])}
	}
	return out
}

// radiusNeighbors returns the answers of every query of a radius result, in
// the order Fill writes them.
func radiusNeighbors[T core.Float](t *testing.T, res *core.RadiusResult[T]) [][]core.Neighbor {
	t.Helper()
	total := res.Total()
	dist := make([]T, total)
	idx := make([]int64, total)
	if err := res.Fill(dist, idx); err != nil {
		t.Fatalf("Fill: %v", err)
	}
	counts := res.Counts()
	out := make([][]core.Neighbor, len(counts))
	o := 0
	var sum int64
	for i, c := range counts {
		sum += c
		out[i] = make([]core.Neighbor, c)
		for j := range int(c) {
			out[i][j] = core.Neighbor{Index: int(idx[o]), Dist: float64(dist[o])}
			o++
		}
	}
	if sum != total {
		t.Fatalf("Counts sum to %d, Total is %d", sum, total)
	}
	return out
}

// sortNeighbors orders answers by (distance, index).
func sortNeighbors(ns []core.Neighbor) {
	slices.SortFunc(ns, func(a, b core.Neighbor) int {
		if c := cmp.Compare(a.Dist, b.Dist); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
}

// strategies lists every k-NN search strategy; each must give the exact
// answers.
var strategies = []core.Strategy{core.Corrected, core.DepthFirst}

// build builds a tree with the default level base and fails the test if
// Build or Check fails.
func build[T core.Float](t testing.TB, data []T, dim int, m core.Metric, seed uint64) *core.Tree[T] {
	t.Helper()
	return buildOpts(t, data, dim, core.Options{Metric: m, Seed: seed})
}

// buildOpts builds a tree and fails the test if Build or Check fails.
func buildOpts[T core.Float](t testing.TB, data []T, dim int, opts core.Options) *core.Tree[T] {
	t.Helper()
	tr, err := core.Build(data, dim, opts)
	if err != nil {
		t.Fatalf("Build(n=%d, dim=%d, %+v): %v", len(data)/dim, dim, opts, err)
	}
	if err := tr.Check(); err != nil {
		t.Fatalf("Check after Build(n=%d, dim=%d, %+v): %v", len(data)/dim, dim, opts, err)
	}
	if tr.Len() != len(data)/dim || tr.Dim() != dim {
		t.Fatalf("Len()=%d Dim()=%d, want %d and %d", tr.Len(), tr.Dim(), len(data)/dim, dim)
	}
	return tr
}

// distinctRows counts the distinct rows of a point set (-0 and +0 are the
// same coordinate: adding +0 turns -0 into +0).
func distinctRows[T core.Float](data []T, dim int) int {
	seen := map[string]struct{}{}
	key := make([]float64, dim)
	for i := range len(data) / dim {
		for j, v := range row(data, dim, i) {
			key[j] = float64(v) + 0
		}
		seen[fmt.Sprint(key)] = struct{}{}
	}
	return len(seen)
}

// checkShape checks the tree's accessors against the data it was built from.
func checkShape[T core.Float](t *testing.T, tr *core.Tree[T], data []T, dim int) {
	t.Helper()
	n := len(data) / dim
	for i := range n {
		if !slices.Equal(tr.Point(i), row(data, dim, i)) {
			t.Fatalf("Point(%d) = %v, want %v", i, tr.Point(i), row(data, dim, i))
		}
	}
	if want := distinctRows(data, dim); tr.Nodes() != want {
		t.Fatalf("Nodes() = %d, want %d distinct rows", tr.Nodes(), want)
	}
	s := tr.Stats()
	if s.Points != n || s.Nodes != tr.Nodes() || s.Dim != dim || s.MaxLevel < s.MinLevel {
		t.Fatalf("Stats() = %+v inconsistent with n=%d nodes=%d dim=%d", s, n, tr.Nodes(), dim)
	}
	sum := 0
	for _, c := range s.NodesPerLevel {
		sum += c
	}
	if sum != s.Nodes {
		t.Fatalf("Stats().NodesPerLevel sums to %d, want %d nodes", sum, s.Nodes)
	}
}

// queryPlan says which queries verify a tree.
type queryPlan struct {
	external int   // random query points drawn from the data's distribution
	hits     int   // query points copied from the data (exact zero distances)
	self     int   // self-queries (Points nil) over a run of caller indices
	ks       []int // neighbour counts; values above the points available are skipped
	full     int   // queries (of each kind) that also ask for every point (k = n, or n-1 for self)
}

// verify compares the tree's k-NN and radius answers with brute force on
// the queries the plan asks for. gen draws a random query point.
func verify[T core.Float](t *testing.T, tr *core.Tree[T], data []T, dim int, m core.Metric, plan queryPlan, rng *rand.Rand, gen func() []T) {
	t.Helper()
	n := len(data) / dim
	var qs []T
	for range plan.external {
		qs = append(qs, gen()...)
	}
	for range plan.hits {
		qs = append(qs, row(data, dim, rng.IntN(n))...)
	}
	nq := len(qs) / dim
	truth := make([][]pair, nq)
	for i := range nq {
		truth[i] = bruteSorted(m, data, dim, row(qs, dim, i), -1)
	}
	checkQueries(t, tr, core.Batch[T]{Points: qs, Jobs: 2}, truth, plan, n)

	if n >= 2 && plan.self > 0 {
		c := min(plan.self, n)
		f := rng.IntN(n - c + 1)
		self := make([][]pair, c)
		for i := range c {
			self[i] = bruteSorted(m, data, dim, row(data, dim, f+i), f+i)
		}
		checkQueries(t, tr, core.Batch[T]{First: f, Count: c, Jobs: 2}, self, plan, n-1)
	}
}

// checkQueries runs one batch through KNearestBatch (for each k of the
// plan, and for k = avail on the first plan.full queries), KNearest,
// WithinBatch and Within, and compares every answer with truth.
func checkQueries[T core.Float](t *testing.T, tr *core.Tree[T], b core.Batch[T], truth [][]pair, plan queryPlan, avail int) {
	t.Helper()
	nq := len(truth)
	if nq == 0 {
		return
	}
	kind := "external"
	if b.Points == nil {
		kind = fmt.Sprintf("self(First=%d)", b.First)
	}
	for _, k := range plan.ks {
		if k > avail {
			continue
		}
		for _, st := range strategies {
			b.Strategy = st
			dist := make([]T, nq*k)
			idx := make([]int64, nq*k)
			if err := tr.KNearestBatch(b, k, dist, idx); err != nil {
				t.Fatalf("%s KNearestBatch(k=%d, %v): %v", kind, k, st, err)
			}
			for i := range nq {
				if d := diffNeighbors(batchNeighbors(dist, idx, i, k), expect[T](truth[i][:k])); d != "" {
					t.Fatalf("%s query %d, k=%d, %v: %s", kind, i, k, st, d)
				}
			}
		}
	}
	b.Strategy = core.Corrected
	// Every point, on a few queries: k = avail through a one-query batch.
	for i := range min(plan.full, nq) {
		one := b
		if b.Points != nil {
			one.Points = row(b.Points, tr.Dim(), i)
		} else {
			one.First, one.Count = b.First+i, 1
		}
		for _, k := range []int{avail, avail - 1} {
			if k < 1 {
				continue
			}
			for _, st := range strategies {
				one.Strategy = st
				dist := make([]T, k)
				idx := make([]int64, k)
				if err := tr.KNearestBatch(one, k, dist, idx); err != nil {
					t.Fatalf("%s query %d, k=%d (all available), %v: %v", kind, i, k, st, err)
				}
				if d := diffNeighbors(batchNeighbors(dist, idx, 0, k), expect[T](truth[i][:k])); d != "" {
					t.Fatalf("%s query %d, k=%d (all available), %v: %s", kind, i, k, st, d)
				}
			}
		}
	}
	// Single-query entry points on external queries.
	if b.Points != nil {
		k := min(avail, plan.ks[len(plan.ks)-1])
		for i := range nq {
			got, err := tr.KNearest(row(b.Points, tr.Dim(), i), k)
			if err != nil {
				t.Fatalf("KNearest query %d, k=%d: %v", i, k, err)
			}
			if d := diffNeighbors(got, expect[T](truth[i][:k])); d != "" {
				t.Fatalf("KNearest query %d, k=%d: %s", i, k, d)
			}
		}
	}
	// Radius queries on the whole batch: radii at exact answer distances of
	// the first query (the boundary d == r must be included), zero, and
	// between two answers.
	radii := []float64{0}
	if t0 := truth[0]; len(t0) > 0 {
		for _, j := range []int{1, 5, 40} {
			radii = append(radii, t0[min(j, len(t0)-1)].d)
		}
		if len(t0) > 6 {
			radii = append(radii, (t0[5].d+t0[6].d)/2)
		}
	}
	for _, r := range radii {
		for _, sorted := range []bool{true, false} {
			res, err := tr.WithinBatch(b, r, sorted)
			if err != nil {
				t.Fatalf("%s WithinBatch(r=%v): %v", kind, r, err)
			}
			got := radiusNeighbors(t, res)
			if len(got) != nq {
				t.Fatalf("%s WithinBatch(r=%v): %d result rows for %d queries", kind, r, len(got), nq)
			}
			for i := range nq {
				want := expect[T](withinPrefix(truth[i], r))
				if !sorted {
					// Compare as sets: order both by the reported
					// (rounded) distance, then index.
					sortNeighbors(got[i])
					sortNeighbors(want)
				}
				if d := diffNeighbors(got[i], want); d != "" {
					t.Fatalf("%s query %d, WithinBatch(r=%v, sorted=%v): %s", kind, i, r, sorted, d)
				}
			}
		}
	}
	// Radius queries one at a time, each at one of its own answer distances.
	for i := range min(nq, 16) {
		if len(truth[i]) == 0 {
			continue
		}
		r := truth[i][min(3*(i%8), len(truth[i])-1)].d
		want := expect[T](withinPrefix(truth[i], r))
		var got []core.Neighbor
		if b.Points != nil {
			var err error
			if got, err = tr.Within(row(b.Points, tr.Dim(), i), r); err != nil {
				t.Fatalf("Within query %d, r=%v: %v", i, r, err)
			}
		} else {
			res, err := tr.WithinBatch(core.Batch[T]{First: b.First + i, Count: 1}, r, true)
			if err != nil {
				t.Fatalf("%s query %d, WithinBatch(r=%v): %v", kind, i, r, err)
			}
			got = radiusNeighbors(t, res)[0]
		}
		if d := diffNeighbors(got, want); d != "" {
			t.Fatalf("%s query %d, radius %v (its own answer distance): %s", kind, i, r, d)
		}
	}
}

// uniform returns n points uniform in [0, scale)^dim.
func uniform[T core.Float](rng *rand.Rand, n, dim int, scale float64) []T {
	out := make([]T, n*dim)
	for i := range out {
		out[i] = T(rng.Float64() * scale)
	}
	return out
}

// clustered returns n points around a few Gaussian centres with widely
// different spreads, so the tree has many levels.
func clustered[T core.Float](rng *rand.Rand, n, dim int) []T {
	const centres = 5
	c := make([]float64, centres*dim)
	for i := range c {
		c[i] = rng.NormFloat64() * 10
	}
	out := make([]T, n*dim)
	for i := range n {
		j := rng.IntN(centres)
		s := math.Ldexp(1, -2*j)
		for d := range dim {
			out[i*dim+d] = T(c[j*dim+d] + s*rng.NormFloat64())
		}
	}
	return out
}

// seedFor derives a deterministic seed from a test's parameters.
func seedFor(parts ...int) uint64 {
	h := uint64(1469598103934665603)
	for _, p := range parts {
		h ^= uint64(p)
		h *= 1099511628211
	}
	return h
}
