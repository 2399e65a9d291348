package core

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// countCase is one tree and set of radii for the counting tests.
type countCase struct {
	name   string
	metric Metric
	dim    int
	grid   bool // integer coordinates in [0, 4]: duplicates and ties
}

func countCases() []countCase {
	return []countCase{
		{"euclidean-grid", Metric{Kind: Euclidean}, 3, true},
		{"euclidean-random", Metric{Kind: Euclidean}, 5, false},
		{"manhattan-grid", Metric{Kind: Manhattan}, 2, true},
		{"chebyshev-grid", Metric{Kind: Chebyshev}, 4, true},
		{"minkowski3-random", Metric{Kind: Minkowski, P: 3}, 3, false},
		{"cosine-grid", Metric{Kind: Cosine}, 3, true},
		{"haversine-random", Metric{Kind: Haversine}, 2, false},
	}
}

func countData(c countCase, n int, rng *rand.Rand) []float64 {
	data := make([]float64, n*c.dim)
	for i := range data {
		switch {
		case c.grid:
			data[i] = float64(rng.IntN(5))
		case c.metric.Kind == Haversine && i%2 == 0:
			data[i] = (rng.Float64() - 0.5) * math.Pi
		case c.metric.Kind == Haversine:
			data[i] = (rng.Float64()*2 - 1) * math.Pi
		default:
			data[i] = rng.NormFloat64()
		}
	}
	if c.metric.Kind == Cosine {
		for i := 0; i < n; i++ {
			data[i*c.dim] += 1 // no zero vector
		}
	}
	return data
}

// TestCountWithinBatch checks the counts against the radius search's own
// answers (every radius, including 0 and one covering everything), for
// query points, the fitted points (X=None) and listed ids after deletions,
// on both dtypes.
func TestCountWithinBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range countCases() {
		data := countData(c, 600, rng)
		queries := countData(c, 50, rng)
		t.Run(c.name+"/float64", func(t *testing.T) { checkCounts(t, c, data, queries) })
		t.Run(c.name+"/float32", func(t *testing.T) { checkCounts(t, c, toF32(data), toF32(queries)) })
	}
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func checkCounts[T Float](t *testing.T, c countCase, data, queries []T) {
	tr, err := Build(data, c.dim, Options{Metric: c.metric, Seed: 9, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	del := []int64{0, 3, 4, 17, 100, 599}
	trDel, err := tr.Delete(del, UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var live []int64
	for id := 0; id < trDel.IDs(); id++ {
		if trDel.Has(id) {
			live = append(live, int64(id))
		}
	}
	radii := []float64{0, 1e-3, 0.3, 1, 2, 3.5, 1e6}
	if c.metric.Kind == Cosine {
		radii = []float64{0, 1e-3, 0.05, 0.3, 1, 2}
	}
	batches := []struct {
		name string
		tree *Tree[T]
		b    Batch[T]
	}{
		{"points", tr, Batch[T]{Points: queries, Jobs: 2}},
		{"fitted", tr, Batch[T]{First: 0, Count: tr.Len(), Jobs: 2}},
		{"ids-after-deletions", trDel, Batch[T]{IDs: live, Jobs: 2}},
		{"points-after-deletions", trDel, Batch[T]{Points: queries, Jobs: 1}},
	}
	for _, bc := range batches {
		for _, r := range radii {
			res, err := bc.tree.WithinBatch(bc.b, r, false)
			if err != nil {
				t.Fatal(err)
			}
			nq := len(res.Counts())
			counts := make([]int64, nq)
			if err := bc.tree.CountWithinBatch(bc.b, r, counts); err != nil {
				t.Fatal(err)
			}
			for i, want := range res.Counts() {
				if counts[i] != want {
					t.Fatalf("%s r=%v query %d: counted %d, the radius search finds %d", bc.name, r, i, counts[i], want)
				}
			}
		}
	}
}

// TestCountWithinBatchBrute checks the counts against brute force on
// radii away from any distance (so rounding cannot decide membership).
func TestCountWithinBatchBrute(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n, dim = 800, 3
	data := countData(countCase{dim: dim, metric: Metric{Kind: Euclidean}}, n, rng)
	tr, err := Build(data, dim, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []float64{0.25, 0.7, 1.5, 4, 100} {
		counts := make([]int64, n)
		if err := tr.CountWithinBatch(Batch[float64]{First: 0, Count: n}, r, counts); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			want := int64(0)
			for j := 0; j < n; j++ {
				if j != i && Distance(tr.Metric(), data[i*dim:(i+1)*dim], data[j*dim:(j+1)*dim]) <= r {
					want++
				}
			}
			if counts[i] != want {
				t.Fatalf("r=%v point %d: counted %d, brute force %d", r, i, counts[i], want)
			}
		}
	}
}

// TestCountWithinBatchCheap checks that a radius covering everything is
// counted without opening the tree: a few distance evaluations per query,
// whatever the number of points.
func TestCountWithinBatchCheap(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const n, dim = 20000, 3
	data := countData(countCase{dim: dim, metric: Metric{Kind: Euclidean}}, n, rng)
	tr, err := Build(data, dim, Options{Seed: 1, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	before := tr.Stats().QueryEvals
	counts := make([]int64, n)
	if err := tr.CountWithinBatch(Batch[float64]{First: 0, Count: n, Jobs: 2}, 1e3, counts); err != nil {
		t.Fatal(err)
	}
	for i, c := range counts {
		if c != n-1 {
			t.Fatalf("point %d: counted %d, want %d", i, c, n-1)
		}
	}
	if evals := tr.Stats().QueryEvals - before; evals > 2*n {
		t.Fatalf("counting everything took %d distance evaluations for %d queries, want at most 2 per query", evals, n)
	}
}

// TestWithinBatchMaxAnswers checks that a batch finding more answers than
// MaxAnswers stops with a TooManyAnswersError, and one within it answers.
func TestWithinBatchMaxAnswers(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n, dim = 3000, 2
	data := countData(countCase{dim: dim, metric: Metric{Kind: Euclidean}}, n, rng)
	tr, err := Build(data, dim, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := Batch[float64]{First: 0, Count: n, Jobs: 2}
	res, err := tr.WithinBatch(b, 0.5, false)
	if err != nil {
		t.Fatal(err)
	}
	total := res.Total()
	for _, tc := range []struct {
		limit int64
		fails bool
	}{
		{0, false}, {total, false}, {total + 1, false}, {total - 1, true}, {1, true},
	} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			b.MaxAnswers = tc.limit
			res, err := tr.WithinBatch(b, 0.5, false)
			if !tc.fails {
				if err != nil || res.Total() != total {
					t.Fatalf("limit %d of %d answers: %v", tc.limit, total, err)
				}
				return
			}
			var tm *TooManyAnswersError
			if !errors.Is(err, ErrTooManyAnswers) || !errors.As(err, &tm) || tm.Found <= tc.limit || tm.Limit != tc.limit {
				t.Fatalf("limit %d of %d answers: got %v, want a TooManyAnswersError", tc.limit, total, err)
			}
		})
	}
}

// TestMemory checks the byte counts against the tree's shape: every chunk's
// node records and coordinates, every caller index held at least once.
func TestMemory(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const n, dim = 1000, 3
	data := countData(countCase{dim: dim, metric: Metric{Kind: Euclidean}, grid: true}, n, rng)
	tr, err := Build(data, dim, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	m := tr.Memory()
	chunks := int64(len(tr.s.chunks))
	if m.Points != chunks*chunkSize*dim*8 {
		t.Fatalf("points: %d bytes for %d chunks of %d-D float64", m.Points, chunks, dim)
	}
	if m.Nodes <= 0 || m.Nodes%(chunks*chunkSize) != 0 {
		t.Fatalf("nodes: %d bytes for %d chunks", m.Nodes, chunks)
	}
	if m.IDs < 4*n || m.Kids < 4*int64(tr.Nodes()-1) || m.IDMap < 4*n {
		t.Fatalf("ids %d, kids %d, id map %d bytes for %d points in %d nodes", m.IDs, m.Kids, m.IDMap, n, tr.Nodes())
	}
	if m.Total() != m.Nodes+m.Points+m.Kids+m.Groups+m.IDs+m.IDMap {
		t.Fatalf("total %d is not the sum of %+v", m.Total(), m)
	}
	if m.SearchLayoutBuilt || m.SearchLayout != 0 {
		t.Fatalf("a version no query was asked of holds a search layout: %+v", m)
	}
	// A batch large enough for the search layout makes it; the version
	// keeps it and counts it.
	nq := tr.Nodes()/flatBatchRatio + 1
	if err := tr.KNearestBatch(Batch[float64]{Points: data[:nq*dim]}, 3, make([]float64, 3*nq), make([]int64, 3*nq)); err != nil {
		t.Fatal(err)
	}
	m = tr.Memory()
	if !m.SearchLayoutBuilt || m.Total() != m.Nodes+m.Points+m.Kids+m.Groups+m.IDs+m.IDMap+m.SearchLayout {
		t.Fatalf("after a large batch: %+v, total %d", m, m.Total())
	}
	// The search layout: per node its coordinates, reach, record, place
	// on the Z-order curve (key and position) and slot in the k-d split
	// (three coordinates, position, caller index), per point its caller
	// index, per slot its position, the curve's box; and at most a box a
	// node (3-D) and the k-d split's nodes (fewer than two a node).
	nodes := int64(tr.Nodes())
	least := nodes*(dim*8+8+int64(unsafe.Sizeof(flatNode{}))+12+3*8+8) + 4*n + 4*int64(tr.s.slots) + 2*dim*8
	most := least + nodes*2*dim*8 + int64(unsafe.Sizeof(flatNode{})) + (2*nodes-1)*int64(unsafe.Sizeof(kdNode{}))
	if m.SearchLayout < least || m.SearchLayout > most {
		t.Fatalf("search layout: %d bytes, want %d to %d", m.SearchLayout, least, most)
	}
	empty, err := tr.Delete(tr.LiveIDs(nil), UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m := empty.Memory().SearchLayout; m != 0 {
		t.Fatalf("an empty tree has a search layout of %d bytes", m)
	}
}
