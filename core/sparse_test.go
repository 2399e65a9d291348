package core_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pcct-dev/pcct/core"
)

// sparseCase is a sparse data set: rows, their columns, and query rows.
type sparseCase[T core.Float] struct {
	name    string
	data    core.SparseRows[T]
	queries core.SparseRows[T]
}

// randomSparse returns n rows of cols columns, each value present with
// probability density, drawn by draw; a share of empty rows and duplicated
// rows (the earlier row copied) as asked.
func randomSparse[T core.Float](rng *rand.Rand, n, cols int, density, empty, dup float64, draw func() float64) core.SparseRows[T] {
	r := core.SparseRows[T]{Cols: cols, Indptr: []int64{0}}
	for i := range n {
		switch {
		case rng.Float64() < empty:
		case i > 0 && rng.Float64() < dup:
			j := rng.IntN(i)
			lo, hi := r.Indptr[j], r.Indptr[j+1]
			r.Indices = append(r.Indices, r.Indices[lo:hi]...)
			r.Data = append(r.Data, r.Data[lo:hi]...)
		default:
			for c := range cols {
				if rng.Float64() < density {
					r.Indices = append(r.Indices, int32(c))
					r.Data = append(r.Data, T(draw()))
				}
			}
		}
		r.Indptr = append(r.Indptr, int64(len(r.Data)))
	}
	return r
}

// densify returns the rows as a row-major dense array.
func densify[T core.Float](r core.SparseRows[T]) []T {
	out := make([]T, r.Len()*r.Cols)
	for i := range r.Len() {
		for e := r.Indptr[i]; e < r.Indptr[i+1]; e++ {
			out[i*r.Cols+int(r.Indices[e])] = r.Data[e]
		}
	}
	return out
}

// withoutEmpty drops the empty rows (cosine refuses them).
func withoutEmpty[T core.Float](r core.SparseRows[T]) core.SparseRows[T] {
	out := core.SparseRows[T]{Cols: r.Cols, Indptr: []int64{0}}
	for i := range r.Len() {
		lo, hi := r.Indptr[i], r.Indptr[i+1]
		if hi > lo {
			out.Indices = append(out.Indices, r.Indices[lo:hi]...)
			out.Data = append(out.Data, r.Data[lo:hi]...)
			out.Indptr = append(out.Indptr, int64(len(out.Data)))
		}
	}
	return out
}

func sparseCases[T core.Float](rng *rand.Rand) []sparseCase[T] {
	unit := func() float64 { return rng.Float64() }
	ints := func() float64 { return float64(1 + rng.IntN(2)) } // ties everywhere
	signed := func() float64 { return rng.NormFloat64() * 1e3 }
	small := 1e-160
	if _, ok := any(T(0)).(float32); ok {
		small = 1e-35 // near the bottom of float32's normal range
	}
	tiny := func() float64 { return (0.5 + rng.Float64()) * small }
	return []sparseCase[T]{
		{"dense-ish/d=7", randomSparse[T](rng, 300, 7, 0.6, 0.05, 0.1, unit), randomSparse[T](rng, 25, 7, 0.6, 0.1, 0, unit)},
		{"density=0.05/d=200", randomSparse[T](rng, 400, 200, 0.05, 0.05, 0.1, unit), randomSparse[T](rng, 30, 200, 0.05, 0.1, 0, unit)},
		{"density=0.01/d=600", randomSparse[T](rng, 300, 600, 0.01, 0.1, 0.2, unit), randomSparse[T](rng, 30, 600, 0.01, 0.1, 0, unit)},
		{"ties/d=50", randomSparse[T](rng, 400, 50, 0.04, 0.1, 0.3, ints), randomSparse[T](rng, 30, 50, 0.04, 0.1, 0, ints)},
		{"signed-large/d=33", randomSparse[T](rng, 300, 33, 0.2, 0, 0.1, signed), randomSparse[T](rng, 20, 33, 0.2, 0, 0, signed)},
		{"tiny/d=20", randomSparse[T](rng, 200, 20, 0.3, 0, 0.1, tiny), randomSparse[T](rng, 20, 20, 0.3, 0, 0, tiny)},
	}
}

var sparseMetrics = []string{"euclidean", "manhattan", "cosine"}

// TestSparseMatchesDense checks both sparse indexes against the dense
// brute-force index over the same rows densified: the same neighbours and
// the same distances, bit for bit, for k-nearest, radius (sorted and by
// index, one radius and one per query) and count queries, query rows and
// the fitted points; and the sparse tree against the cover tree invariants.
func TestSparseMatchesDense(t *testing.T) {
	t.Run("float64", testSparseMatchesDense[float64])
	if !raceEnabled {
		t.Run("float32", testSparseMatchesDense[float32])
	}
}

func testSparseMatchesDense[T core.Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cases := sparseCases[T](rng)
	if raceEnabled {
		cases = cases[:1] // ten times slower: the race detector checks a sample
	}
	for _, c := range cases {
		for _, name := range sparseMetrics {
			data, queries := c.data, c.queries
			if name == "cosine" {
				data, queries = withoutEmpty(data), withoutEmpty(queries)
			}
			m, err := core.ParseMetric(name, 2)
			if err != nil {
				t.Fatal(err)
			}
			dense, err := core.BuildBruteForce(densify(data), data.Cols, core.Options{Metric: m})
			if err != nil {
				t.Fatal(err)
			}
			for _, algo := range []core.Algorithm{core.CoverTree, core.Brute} {
				t.Run(fmt.Sprintf("%s/%s/%s", c.name, name, algo), func(t *testing.T) {
					x, _, err := core.BuildSparse(data, algo, core.Options{Metric: m, Jobs: 2, Seed: 3})
					if err != nil {
						t.Fatal(err)
					}
					if x.Algorithm() != algo {
						t.Fatalf("built %s, asked for %s", x.Algorithm(), algo)
					}
					if tr := x.Tree(); tr != nil {
						if err := tr.Check(); err != nil {
							t.Fatal(err)
						}
					}
					compareSparse(t, x, dense, queries, rng)
				})
			}
		}
	}
}

// compareSparse compares every query of x with the dense index's.
func compareSparse[T core.Float](t *testing.T, x *core.SparseIndex[T], dense *core.BruteForce[T], queries core.SparseRows[T], rng *rand.Rand) {
	t.Helper()
	n := x.Len()
	nq := queries.Len()
	dq := densify(queries)
	for _, k := range []int{1, 5, min(n-1, 40)} {
		d1, i1 := make([]T, nq*k), make([]int64, nq*k)
		d2, i2 := make([]T, nq*k), make([]int64, nq*k)
		if err := x.KNearestBatch(core.SparseBatch[T]{Rows: &queries, Jobs: 2}, k, d1, i1); err != nil {
			t.Fatal(err)
		}
		if err := dense.KNearestBatch(core.Batch[T]{Points: dq, Jobs: 2}, k, d2, i2); err != nil {
			t.Fatal(err)
		}
		assertSame(t, fmt.Sprintf("kneighbors k=%d", k), d1, i1, d2, i2)
		// The fitted points, each left out of its own answer.
		f1, j1 := make([]T, n*k), make([]int64, n*k)
		f2, j2 := make([]T, n*k), make([]int64, n*k)
		if err := x.KNearestBatch(core.SparseBatch[T]{Count: n, Jobs: 2}, k, f1, j1); err != nil {
			t.Fatal(err)
		}
		if err := dense.KNearestBatch(core.Batch[T]{Count: n, Jobs: 2}, k, f2, j2); err != nil {
			t.Fatal(err)
		}
		assertSame(t, fmt.Sprintf("kneighbors(X=None) k=%d", k), f1, j1, f2, j2)
	}
	// Radii around the median 5th-neighbour distance, and per query.
	d5, i5 := make([]T, nq*5), make([]int64, nq*5)
	if err := dense.KNearestBatch(core.Batch[T]{Points: dq}, 5, d5, i5); err != nil {
		t.Fatal(err)
	}
	r := float64(d5[len(d5)/2])
	radii := make([]float64, nq)
	for i := range radii {
		radii[i] = float64(d5[i*5+rng.IntN(5)]) // on a neighbour's distance exactly
	}
	for _, sorted := range []bool{true, false} {
		for _, per := range [][]float64{nil, radii} {
			a, err := x.WithinBatch(core.SparseBatch[T]{Rows: &queries, Jobs: 2, Radii: per}, r, sorted)
			if err != nil {
				t.Fatal(err)
			}
			b, err := dense.WithinBatch(core.Batch[T]{Points: dq, Jobs: 2, Radii: per}, r, sorted)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Counts(), b.Counts()) {
				t.Fatalf("radius counts differ: %v and %v", a.Counts(), b.Counts())
			}
			da, ia := make([]T, a.Total()), make([]int64, a.Total())
			db, ib := make([]T, b.Total()), make([]int64, b.Total())
			if err := a.Fill(da, ia); err != nil {
				t.Fatal(err)
			}
			if err := b.Fill(db, ib); err != nil {
				t.Fatal(err)
			}
			assertSame(t, fmt.Sprintf("radius sorted=%v per-query=%v", sorted, per != nil), da, ia, db, ib)
			counts := make([]int64, nq)
			if err := x.CountWithinBatch(core.SparseBatch[T]{Rows: &queries, Radii: per}, r, counts); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(counts, a.Counts()) {
				t.Fatalf("counts %v differ from the radius answers' %v", counts, a.Counts())
			}
		}
	}
	if r > 0 && nq > 0 && slices.Max(func() []int64 {
		c := make([]int64, nq)
		_ = x.CountWithinBatch(core.SparseBatch[T]{Rows: &queries}, r, c)
		return c
	}()) == 0 {
		t.Fatalf("radius %v finds nothing: the test checks nothing", r)
	}
}

func assertSame[T core.Float](t *testing.T, what string, d1 []T, i1 []int64, d2 []T, i2 []int64) {
	t.Helper()
	for j := range i1 {
		if i1[j] != i2[j] || math.Float64bits(float64(d1[j])) != math.Float64bits(float64(d2[j])) {
			t.Fatalf("%s: entry %d is (%v, %d), dense (%v, %d)", what, j, d1[j], i1[j], d2[j], i2[j])
		}
	}
	if len(i1) != len(i2) {
		t.Fatalf("%s: %d answers, dense %d", what, len(i1), len(i2))
	}
}

// TestSparseUpdates inserts and deletes at random on both sparse indexes
// and checks every version against the dense index over the live rows,
// the tree against its invariants, and that earlier versions still answer
// as before.
func TestSparseUpdates(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	unit := func() float64 { return float64(1+rng.IntN(4)) / 4 }
	for _, name := range sparseMetrics {
		m, _ := core.ParseMetric(name, 2)
		for _, algo := range []core.Algorithm{core.CoverTree, core.Brute} {
			t.Run(name+"/"+algo.String(), func(t *testing.T) {
				gen := func(n int) core.SparseRows[float64] {
					r := randomSparse[float64](rng, n, 60, 0.08, 0.1, 0.2, unit)
					if name == "cosine" {
						r = withoutEmpty(r)
					}
					return r
				}
				rows := gen(200)
				all := map[int64][]float64{} // caller index -> dense row
				dense := densify(rows)
				for i := range rows.Len() {
					all[int64(i)] = dense[i*60 : (i+1)*60]
				}
				x, _, err := core.BuildSparse(rows, algo, core.Options{Metric: m, Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				first := x
				firstQ := gen(10)
				want1, wantI1 := make([]float64, 10*3), make([]int64, 10*3)
				if err := first.KNearestBatch(core.SparseBatch[float64]{Rows: &firstQ}, 3, want1, wantI1); err != nil {
					t.Fatal(err)
				}
				steps := 12
				if raceEnabled {
					steps = 4
				}
				for step := range steps {
					if step%2 == 0 {
						ins := gen(1 + rng.IntN(40))
						nx, f, err := x.Insert(ins, core.UpdateOptions{Jobs: 2})
						if err != nil {
							t.Fatal(err)
						}
						if f != x.IDs() {
							t.Fatalf("first new index %d, want %d", f, x.IDs())
						}
						d := densify(ins)
						for i := range ins.Len() {
							all[int64(f+i)] = d[i*60 : (i+1)*60]
						}
						if name != "cosine" { // cosine rows are stored scaled
							lo, hi := ins.Indptr[0], ins.Indptr[1]
							idx, val := nx.Row(f)
							if !slices.Equal(idx, ins.Indices[lo:hi]) || !slices.Equal(val, ins.Data[lo:hi]) {
								t.Fatalf("Row(%d) is %v %v, inserted %v %v", f, idx, val, ins.Indices[lo:hi], ins.Data[lo:hi])
							}
						}
						x = nx
					} else {
						live := x.LiveIDs(nil)
						rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
						del := live[:rng.IntN(len(live)/3)]
						nx, err := x.Delete(del, core.UpdateOptions{Jobs: 2})
						if err != nil {
							t.Fatal(err)
						}
						for _, id := range del {
							delete(all, id)
						}
						x = nx
					}
					if tr := x.Tree(); tr != nil {
						if err := tr.Check(); err != nil {
							t.Fatal(err)
						}
					}
					checkLive(t, x, all, m, gen(15))
				}
				got, gotI := make([]float64, 10*3), make([]int64, 10*3)
				if err := first.KNearestBatch(core.SparseBatch[float64]{Rows: &firstQ}, 3, got, gotI); err != nil {
					t.Fatal(err)
				}
				assertSame(t, "the first version after updates", got, gotI, want1, wantI1)
				// Errors: an index not held, or given twice, deletes nothing.
				if _, err := x.Delete([]int64{int64(x.IDs())}, core.UpdateOptions{}); err == nil {
					t.Fatal("deleting an unknown index succeeded")
				}
				live := x.LiveIDs(nil)
				if _, err := x.Delete([]int64{live[0], live[0]}, core.UpdateOptions{}); err == nil {
					t.Fatal("deleting an index twice succeeded")
				}
			})
		}
	}
}

// checkLive compares x with a dense brute-force index over its live rows.
func checkLive(t *testing.T, x *core.SparseIndex[float64], all map[int64][]float64, m core.Metric, queries core.SparseRows[float64]) {
	t.Helper()
	live := x.LiveIDs(nil)
	if len(live) != len(all) || x.Len() != len(all) {
		t.Fatalf("%d live ids, Len %d, want %d", len(live), x.Len(), len(all))
	}
	var flat []float64
	for _, id := range live {
		flat = append(flat, all[id]...)
	}
	dense, err := core.BuildBruteForce(flat, 60, core.Options{Metric: m})
	if err != nil {
		t.Fatal(err)
	}
	nq, k := queries.Len(), min(4, len(live))
	d1, i1 := make([]float64, nq*k), make([]int64, nq*k)
	d2, i2 := make([]float64, nq*k), make([]int64, nq*k)
	if err := x.KNearestBatch(core.SparseBatch[float64]{Rows: &queries, Jobs: 2}, k, d1, i1); err != nil {
		t.Fatal(err)
	}
	if err := dense.KNearestBatch(core.Batch[float64]{Points: densify(queries)}, k, d2, i2); err != nil {
		t.Fatal(err)
	}
	for j := range i2 {
		i2[j] = live[i2[j]] // dense rows are the live ids in order
	}
	assertSame(t, "after updates", d1, i1, d2, i2)
	// The fitted points, by id.
	if len(live) > k {
		f1, j1 := make([]float64, len(live)*k), make([]int64, len(live)*k)
		f2, j2 := make([]float64, len(live)*k), make([]int64, len(live)*k)
		if err := x.KNearestBatch(core.SparseBatch[float64]{IDs: live}, k, f1, j1); err != nil {
			t.Fatal(err)
		}
		if err := dense.KNearestBatch(core.Batch[float64]{Count: len(live)}, k, f2, j2); err != nil {
			t.Fatal(err)
		}
		for j := range j2 {
			j2[j] = live[j2[j]]
		}
		assertSame(t, "X=None after updates", f1, j1, f2, j2)
	}
}

// TestSparseEncode round-trips both indexes after deletions, and refuses
// damaged bytes and the wrong float type.
func TestSparseEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rows := randomSparse[float32](rng, 300, 80, 0.05, 0.05, 0.2, rng.Float64)
	queries := randomSparse[float32](rng, 20, 80, 0.05, 0, 0, rng.Float64)
	for _, algo := range []core.Algorithm{core.CoverTree, core.Brute} {
		t.Run(algo.String(), func(t *testing.T) {
			x, _, err := core.BuildSparse(rows, algo, core.Options{Metric: core.Metric{Kind: core.Manhattan}})
			if err != nil {
				t.Fatal(err)
			}
			x, err = x.Delete([]int64{0, 5, 299}, core.UpdateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			buf := x.Encode()
			y, err := core.DecodeSparse[float32](buf, core.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if y.Algorithm() != algo || y.IDs() != x.IDs() || y.Len() != x.Len() || !slices.Equal(y.LiveIDs(nil), x.LiveIDs(nil)) {
				t.Fatalf("decoded %s with %d ids, %d points; encoded %s with %d, %d", y.Algorithm(), y.IDs(), y.Len(), algo, x.IDs(), x.Len())
			}
			if tr := y.Tree(); tr != nil {
				if err := tr.Check(); err != nil {
					t.Fatal(err)
				}
			}
			k := 7
			d1, i1 := make([]float32, 20*k), make([]int64, 20*k)
			d2, i2 := make([]float32, 20*k), make([]int64, 20*k)
			if err := x.KNearestBatch(core.SparseBatch[float32]{Rows: &queries}, k, d1, i1); err != nil {
				t.Fatal(err)
			}
			if err := y.KNearestBatch(core.SparseBatch[float32]{Rows: &queries}, k, d2, i2); err != nil {
				t.Fatal(err)
			}
			assertSame(t, "decoded", d2, i2, d1, i1)
			if _, f, err := y.Insert(queries, core.UpdateOptions{}); err != nil || f != 300 {
				t.Fatalf("insert into the decoded index: first %d, %v", f, err)
			}
			bad := slices.Clone(buf)
			bad[len(bad)/2] ^= 1
			if _, err := core.DecodeSparse[float32](bad, core.Options{}); err == nil {
				t.Fatal("damaged bytes decoded")
			}
			if _, err := core.DecodeSparse[float32](buf[:len(buf)-9], core.Options{}); err == nil {
				t.Fatal("truncated bytes decoded")
			}
			if _, err := core.DecodeSparse[float64](buf, core.Options{}); err == nil {
				t.Fatal("float32 bytes decoded as float64")
			}
		})
	}
}

// TestSparseErrors checks that bad rows, metrics and queries are refused.
func TestSparseErrors(t *testing.T) {
	good := core.SparseRows[float64]{Cols: 4, Indptr: []int64{0, 2, 3}, Indices: []int32{0, 2, 1}, Data: []float64{1, 2, 3}}
	x, _, err := core.BuildSparse(good, core.Brute, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cheb, _ := core.ParseMetric("chebyshev", 2)
	cases := []struct {
		name string
		rows core.SparseRows[float64]
		opts core.Options
	}{
		{"unsorted columns", core.SparseRows[float64]{Cols: 4, Indptr: []int64{0, 2}, Indices: []int32{2, 0}, Data: []float64{1, 2}}, core.Options{}},
		{"repeated column", core.SparseRows[float64]{Cols: 4, Indptr: []int64{0, 2}, Indices: []int32{1, 1}, Data: []float64{1, 2}}, core.Options{}},
		{"column out of range", core.SparseRows[float64]{Cols: 4, Indptr: []int64{0, 1}, Indices: []int32{4}, Data: []float64{1}}, core.Options{}},
		{"NaN", core.SparseRows[float64]{Cols: 4, Indptr: []int64{0, 1}, Indices: []int32{0}, Data: []float64{math.NaN()}}, core.Options{}},
		{"infinity", core.SparseRows[float64]{Cols: 4, Indptr: []int64{0, 1}, Indices: []int32{0}, Data: []float64{math.Inf(1)}}, core.Options{}},
		{"bad row pointers", core.SparseRows[float64]{Cols: 4, Indptr: []int64{0, 2}, Indices: []int32{0}, Data: []float64{1}}, core.Options{}},
		{"no rows", core.SparseRows[float64]{Cols: 4, Indptr: []int64{0}}, core.Options{}},
		{"no columns", core.SparseRows[float64]{Cols: 0, Indptr: []int64{0, 0}}, core.Options{}},
		{"chebyshev", good, core.Options{Metric: cheb}},
		{"zero row under cosine", core.SparseRows[float64]{Cols: 4, Indptr: []int64{0, 1, 1}, Indices: []int32{0}, Data: []float64{1}}, core.Options{Metric: core.Metric{Kind: core.Cosine}}},
	}
	for _, c := range cases {
		if _, _, err := core.BuildSparse(c.rows, core.CoverTree, c.opts); err == nil {
			t.Errorf("%s: built", c.name)
		}
		if c.rows.Len() > 0 && c.rows.Cols == 4 && c.opts.Metric.Kind == core.Euclidean {
			if _, _, err := x.Insert(c.rows, core.UpdateOptions{}); err == nil {
				t.Errorf("%s: inserted", c.name)
			}
			d, i := make([]float64, c.rows.Len()), make([]int64, c.rows.Len())
			if err := x.KNearestBatch(core.SparseBatch[float64]{Rows: &c.rows}, 1, d, i); err == nil {
				t.Errorf("%s: queried", c.name)
			}
		}
	}
	wide := core.SparseRows[float64]{Cols: 5, Indptr: []int64{0, 1}, Indices: []int32{4}, Data: []float64{1}}
	d, i := make([]float64, 2), make([]int64, 2)
	if err := x.KNearestBatch(core.SparseBatch[float64]{Rows: &wide}, 1, d, i); err == nil {
		t.Error("a query with 5 columns against 4 was answered")
	}
	if err := x.KNearestBatch(core.SparseBatch[float64]{Rows: &good}, 3, d, i); err == nil {
		t.Error("k=3 over 2 points was answered")
	}
	del, err := x.Delete([]int64{0}, core.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := del.KNearestBatch(core.SparseBatch[float64]{IDs: []int64{0}}, 1, d, i); err == nil {
		t.Error("a deleted point was queried")
	}
	if err := del.KNearestBatch(core.SparseBatch[float64]{First: 0, Count: 2}, 1, d, i); err == nil {
		t.Error("fitted points 0..1 were queried with 0 deleted")
	}
	stop := int64(1)
	if err := x.KNearestBatch(core.SparseBatch[float64]{Rows: &good, Monitor: &core.Monitor{Stop: &stop}}, 1, d, i); !errors.Is(err, core.ErrStopped) {
		t.Errorf("a stopped batch returned %v", err)
	}
	if _, err := x.WithinBatch(core.SparseBatch[float64]{Rows: &good}, -1, false); err == nil {
		t.Error("a negative radius was answered")
	}
}

// TestSparseAuto checks what Auto chooses: brute force for TF-IDF-like
// rows in many dimensions (a tree measures most of them), a tree for rows
// of few columns.
func TestSparseAuto(t *testing.T) {
	if raceEnabled {
		t.Skip("the choice is sequential; its sample trees are slow under the race detector")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	text := withoutEmpty(randomSparse[float64](rng, 3000, 2000, 0.01, 0, 0, rng.Float64))
	x, c, err := core.BuildSparse(text, core.Auto, core.Options{Metric: core.Metric{Kind: core.Cosine}})
	if err != nil {
		t.Fatal(err)
	}
	// The first sample tree, of 256 rows, measured most of them: brute
	// force, without larger samples.
	if x.Algorithm() != core.Brute || c.Sample != 256 || c.Growth != 1 || !(c.BruteCost < c.TreeCost) {
		t.Errorf("Auto built %s on text-like rows (choice %+v)", x.Algorithm(), c)
	}
	// 3 columns, 20,000 points on a grid: a tree prunes.
	n := 20000
	low := core.SparseRows[float64]{Cols: 3, Indptr: []int64{0}}
	for range n {
		for c := range 3 {
			if v := math.Round(rng.NormFloat64()*50) / 10; v != 0 {
				low.Indices = append(low.Indices, int32(c))
				low.Data = append(low.Data, v)
			}
		}
		low.Indptr = append(low.Indptr, int64(len(low.Data)))
	}
	x, c, err = core.BuildSparse(low, core.Auto, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if x.Algorithm() != core.CoverTree {
		t.Errorf("Auto built %s on 3 columns (choice %+v)", x.Algorithm(), c)
	}
}

// TestSparseConcurrent queries versions of both sparse indexes from many
// goroutines while others insert and delete (the row store and the query
// slots are shared by the versions of one build), and checks that every
// version keeps its answers.
func TestSparseConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	rows := randomSparse[float64](rng, 300, 50, 0.1, 0, 0.1, rng.Float64)
	queries := randomSparse[float64](rng, 20, 50, 0.1, 0, 0, rng.Float64)
	inserts := make([]core.SparseRows[float64], 8)
	for i := range inserts {
		inserts[i] = randomSparse[float64](rng, 20, 50, 0.1, 0, 0, rng.Float64)
	}
	for _, algo := range []core.Algorithm{core.CoverTree, core.Brute} {
		t.Run(algo.String(), func(t *testing.T) {
			x, _, err := core.BuildSparse(rows, algo, core.Options{Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			const k = 5
			want, wantI := make([]float64, 20*k), make([]int64, 20*k)
			if err := x.KNearestBatch(core.SparseBatch[float64]{Rows: &queries}, k, want, wantI); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 16)
			for g := range 4 {
				go func() {
					for range 10 {
						d, i := make([]float64, 20*k), make([]int64, 20*k)
						if err := x.KNearestBatch(core.SparseBatch[float64]{Rows: &queries, Jobs: 2}, k, d, i); err != nil {
							done <- err
							return
						}
						if !slices.Equal(i, wantI) || !slices.Equal(d, want) {
							done <- fmt.Errorf("goroutine %d: the version's answers changed", g)
							return
						}
					}
					done <- nil
				}()
			}
			for g := range 2 {
				go func() {
					y := x
					for j := range 4 {
						ny, _, err := y.Insert(inserts[g*4+j], core.UpdateOptions{Jobs: 2})
						if err != nil {
							done <- err
							return
						}
						if ny, err = ny.Delete([]int64{int64(j)}, core.UpdateOptions{}); err != nil {
							done <- err
							return
						}
						y = ny
					}
					done <- nil
				}()
			}
			for range 6 {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// tfidfLike returns n rows of cols columns with about nnz values each, the
// columns drawn with a Zipf popularity and the rows scaled to unit length.
func tfidfLike(rng *rand.Rand, n, cols, nnz int) core.SparseRows[float64] {
	z := rand.NewZipf(rng, 1.07, 1, uint64(cols-1))
	r := core.SparseRows[float64]{Cols: cols, Indptr: []int64{0}}
	for range n {
		row := map[int32]float64{}
		for range 1 + rng.IntN(2*nnz) {
			row[int32(z.Uint64())] += 1 + rng.Float64()
		}
		cs := make([]int32, 0, len(row))
		var ss float64
		for c, v := range row {
			cs = append(cs, c)
			ss += v * v
		}
		slices.Sort(cs)
		for _, c := range cs {
			r.Indices = append(r.Indices, c)
			r.Data = append(r.Data, row[c]/math.Sqrt(ss))
		}
		r.Indptr = append(r.Indptr, int64(len(r.Data)))
	}
	return r
}

// BenchmarkSparseKNearest answers 500 k=10 queries over 20,000 TF-IDF-like
// rows of 5,000 columns by brute force and by the cover tree, on one
// thread; ns/row is the time per query and fitted row.
func BenchmarkSparseKNearest(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	rows := tfidfLike(rng, 20000, 5000, 20)
	queries := tfidfLike(rng, 500, 5000, 20)
	for _, name := range sparseMetrics {
		m, _ := core.ParseMetric(name, 2)
		for _, algo := range []core.Algorithm{core.Brute, core.CoverTree} {
			if algo == core.CoverTree && (name != "cosine" || testing.Short()) {
				continue
			}
			b.Run(name+"/"+algo.String(), func(b *testing.B) {
				x, _, err := core.BuildSparse(rows, algo, core.Options{Metric: m, Jobs: 2})
				if err != nil {
					b.Fatal(err)
				}
				d, i := make([]float64, 500*10), make([]int64, 500*10)
				b.ResetTimer()
				for range b.N {
					if err := x.KNearestBatch(core.SparseBatch[float64]{Rows: &queries, Jobs: 1}, 10, d, i); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/500/20000, "ns/row")
			})
		}
	}
}

// TestSparseStop stops a long brute-force batch on one goroutine through
// its monitor and checks that it returns ErrStopped soon.
func TestSparseStop(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	rows := tfidfLike(rng, 5000, 2000, 20)
	queries := tfidfLike(rng, 20000, 2000, 20) // seconds of work
	x, _, err := core.BuildSparse(rows, core.Brute, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var done, stop int64
	mon := &core.Monitor{Done: &done, Stop: &stop}
	d, i := make([]float64, 20000), make([]int64, 20000)
	go func() {
		time.Sleep(50 * time.Millisecond)
		atomic.StoreInt64(&stop, 1)
	}()
	start := time.Now()
	err = x.KNearestBatch(core.SparseBatch[float64]{Rows: &queries, Jobs: 1, Monitor: mon}, 1, d, i)
	if !errors.Is(err, core.ErrStopped) {
		t.Fatalf("got %v, want ErrStopped", err)
	}
	if el := time.Since(start); el > 2*time.Second || atomic.LoadInt64(&done) >= 20000 {
		t.Fatalf("stopped after %v and %d queries", el, atomic.LoadInt64(&done))
	}
}
