package core_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// bruteCase is a data set built to test the brute-force index: its rows,
// its dimension and queries (nil: the fitted points themselves).
type bruteCase[T core.Float] struct {
	name    string
	dim     int
	data    []T
	queries []T
}

// bruteCases returns data sets that stress the screen's error bound: large
// offsets (centring must remove them), near-ties (distances a few ulps
// apart, which only the exact measurement separates), duplicates, far
// queries (huge margins), values beyond float32's range and below its
// normal range, and dimensions that are no multiple of the kernel's
// blocks.
func bruteCases[T core.Float](rng *rand.Rand) []bruteCase[T] {
	uni := func(n, dim int, scale, offset float64) []T {
		out := make([]T, n*dim)
		for i := range out {
			out[i] = T(offset + scale*rng.Float64())
		}
		return out
	}
	grid := func(n, dim, levels int) []T {
		out := make([]T, n*dim)
		for i := range out {
			out[i] = T(rng.IntN(levels))
		}
		return out
	}
	var cases []bruteCase[T]
	for _, dim := range []int{1, 2, 3, 7, 16, 33, 130} {
		n := 1100 // more than one chunk of rows
		if dim > 16 {
			n = 300 // a tree over uniform points in many dimensions is slow to build
		}
		cases = append(cases, bruteCase[T]{name: fmt.Sprintf("uniform/d=%d", dim), dim: dim, data: uni(n, dim, 1, 0), queries: uni(40, dim, 1.2, -0.1)})
	}
	cases = append(cases,
		bruteCase[T]{name: "grid-duplicates/d=5", dim: 5, data: grid(1100, 5, 3), queries: grid(30, 5, 4)},
		bruteCase[T]{name: "grid-duplicates-fitted/d=9", dim: 9, data: grid(1050, 9, 2)},
		bruteCase[T]{name: "offset-1e6/d=20", dim: 20, data: uni(1030, 20, 1, 1e6), queries: uni(30, 20, 1, 1e6)},
		bruteCase[T]{name: "far-queries/d=12", dim: 12, data: uni(600, 12, 1, 0), queries: uni(20, 12, 1, 1e5)},
		bruteCase[T]{name: "huge/d=4", dim: 4, data: uni(300, 4, 1e30, 0), queries: uni(10, 4, 1e30, 0)},
		bruteCase[T]{name: "tiny/d=6", dim: 6, data: uni(400, 6, 1e-41, 0), queries: uni(10, 6, 1e-41, 0)},
	)
	if _, ok := any(T(0)).(float64); ok {
		cases = append(cases, bruteCase[T]{name: "offset-1e12/d=8", dim: 8, data: uni(600, 8, 1, 1e12), queries: uni(30, 8, 1, 1e12)})
	}
	// Near-ties: points on a shell around the origin whose distances from
	// it differ by a few ulps, plus the origin as the query.
	const shellDim = 40
	shell := make([]T, 0, 300*shellDim)
	for i := range 300 {
		v := make([]float64, shellDim)
		var ss float64
		for j := range v {
			v[j] = rng.NormFloat64()
			ss += v[j] * v[j]
		}
		r := 100 * (1 + float64(i%7)*1e-15)
		for j := range v {
			shell = append(shell, T(v[j]/math.Sqrt(ss)*r))
		}
	}
	cases = append(cases, bruteCase[T]{name: "near-ties/d=40", dim: shellDim, data: shell, queries: make([]T, 2*shellDim)})
	return cases
}

// TestBruteMatchesTree checks that the brute-force index gives the tree's
// answers exactly (indices and distance bits) for k-nearest and radius
// queries, on query points and on fitted points, in float32 and float64,
// under several metrics, and after insertions and deletions.
func TestBruteMatchesTree(t *testing.T) {
	t.Run("float64", func(t *testing.T) { t.Parallel(); testBruteMatchesTree[float64](t) })
	t.Run("float32", func(t *testing.T) { t.Parallel(); testBruteMatchesTree[float32](t) })
}

func testBruteMatchesTree[T core.Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	metrics := []core.Metric{{}, {Kind: core.Cosine}, {Kind: core.Manhattan}}
	cases := bruteCases[T](rng)
	if raceEnabled || testing.Short() {
		// A sample: the concurrency the race detector checks is the same
		// for every data set.
		cases = []bruteCase[T]{cases[3]}
		metrics = metrics[:1]
	}
	for ci, c := range cases {
		for mi, m := range metrics {
			if mi > 0 && ci%3 != 0 {
				continue // every metric on a third of the sets
			}
			if m.Kind == core.Cosine && hasZeroRow(c.data, c.dim) {
				continue
			}
			t.Run(fmt.Sprintf("%s/%v", c.name, m), func(t *testing.T) {
				opts := core.Options{Metric: m, Jobs: 2}
				tr, err := core.Build(c.data, c.dim, opts)
				if err != nil {
					t.Fatal(err)
				}
				fl, err := core.BuildBruteForce(c.data, c.dim, opts)
				if err != nil {
					t.Fatal(err)
				}
				compareBrute(t, tr, fl, c.queries, rng)
				// Updates: insert a fifth more, delete a tenth.
				n := len(c.data) / c.dim
				extra := c.data[:(n/5+1)*c.dim]
				tr2, first, err := tr.Insert(extra, core.UpdateOptions{Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				fl2, first2, err := fl.Insert(extra, core.UpdateOptions{Jobs: 2})
				if err != nil || first2 != first {
					t.Fatalf("Brute.Insert: first %d, want %d, err %v", first2, first, err)
				}
				var del []int64
				for _, i := range rng.Perm(tr2.IDs())[:tr2.IDs()/10] {
					del = append(del, int64(i))
				}
				if tr2, err = tr2.Delete(del, core.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
				if fl2, err = fl2.Delete(del, core.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
				compareBrute(t, tr2, fl2, c.queries, rng)
				// The old versions are unchanged.
				if fl.Len() != n || fl.IDs() != n {
					t.Fatalf("the first version changed: %d points, %d ids", fl.Len(), fl.IDs())
				}
			})
		}
	}
}

func hasZeroRow[T core.Float](data []T, dim int) bool {
	for i := 0; i < len(data); i += dim {
		zero := true
		for _, v := range data[i : i+dim] {
			zero = zero && v == 0
		}
		if zero {
			return true
		}
	}
	return false
}

// compareBrute asks tr and fl the same questions and fails on any
// difference: k-NN of the query points and of every fitted point (each
// left out of its own answer) for several k, and radius queries.
func compareBrute[T core.Float](t *testing.T, tr *core.Tree[T], fl *core.BruteForce[T], queries []T, rng *rand.Rand) {
	t.Helper()
	if tr.Len() != fl.Len() || tr.IDs() != fl.IDs() {
		t.Fatalf("counts differ: tree %d points %d ids, flat %d, %d", tr.Len(), tr.IDs(), fl.Len(), fl.IDs())
	}
	if a, b := tr.LiveIDs(nil), fl.LiveIDs(nil); !slices.Equal(a, b) {
		t.Fatalf("live ids differ")
	}
	ids := fl.LiveIDs(nil)
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	ids = ids[:min(len(ids), 150)]
	batches := []core.Batch[T]{{IDs: ids, Jobs: 2}}
	if queries != nil {
		batches = append(batches, core.Batch[T]{Points: queries, Jobs: 2})
	}
	for _, b := range batches {
		nq := len(b.IDs)
		avail := tr.Len() - 1
		if b.Points != nil {
			nq = len(b.Points) / tr.Dim()
			avail++
		}
		ks := []int{1, 7, 40}
		if avail <= 400 {
			ks = append(ks, avail) // every point
		}
		for _, k := range ks {
			if k > avail {
				continue
			}
			d1, i1 := make([]T, nq*k), make([]int64, nq*k)
			d2, i2 := make([]T, nq*k), make([]int64, nq*k)
			if err := tr.KNearestBatch(b, k, d1, i1); err != nil {
				t.Fatal(err)
			}
			if err := fl.KNearestBatch(b, k, d2, i2); err != nil {
				t.Fatal(err)
			}
			for j := range d1 {
				if d1[j] != d2[j] || i1[j] != i2[j] {
					t.Fatalf("k=%d, query %d, rank %d: tree (%d, %v), flat (%d, %v)", k, j/k, j%k, i1[j], d1[j], i2[j], d2[j])
				}
			}
			if k == 7 && avail > 7 {
				// A radius that catches about the 7th neighbour.
				r := float64(d1[rng.IntN(nq)*k+6])
				r1, err := tr.WithinBatch(b, r, true)
				if err != nil {
					t.Fatal(err)
				}
				r2, err := fl.WithinBatch(b, r, true)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(r1.Counts(), r2.Counts()) {
					t.Fatalf("radius %v: counts differ", r)
				}
				a1, b1 := make([]T, r1.Total()), make([]int64, r1.Total())
				a2, b2 := make([]T, r2.Total()), make([]int64, r2.Total())
				r1.Fill(a1, b1)
				r2.Fill(a2, b2)
				if !slices.Equal(a1, a2) || !slices.Equal(b1, b2) {
					t.Fatalf("radius %v: answers differ", r)
				}
				c1, c2 := make([]int64, nq), make([]int64, nq)
				if err := tr.CountWithinBatch(b, r, c1); err != nil {
					t.Fatal(err)
				}
				if err := fl.CountWithinBatch(b, r, c2); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(c1, r1.Counts()) || !slices.Equal(c2, r1.Counts()) {
					t.Fatalf("radius %v: counts differ from the answers", r)
				}
				if r2.Total() > 0 {
					lim := b
					lim.MaxAnswers = r2.Total() - 1
					if _, err := fl.WithinBatch(lim, r, false); !errors.Is(err, core.ErrTooManyAnswers) {
						t.Fatalf("radius %v: %d answers under a limit of %d: err %v", r, r2.Total(), lim.MaxAnswers, err)
					}
				}
			}
		}
	}
}

// TestBruteEncode checks that a BruteForce survives Encode and DecodeBruteForce with
// its points, caller indices (deleted ones included) and answers, and that
// damaged or foreign data are refused.
func TestBruteEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range []core.Metric{{}, {Kind: core.Cosine}, {Kind: core.Minkowski, P: 3}} {
		data := make([]float32, 2500*6)
		for i := range data {
			data[i] = float32(rng.NormFloat64())
		}
		fl, err := core.BuildBruteForce(data, 6, core.Options{Metric: m})
		if err != nil {
			t.Fatal(err)
		}
		if fl, err = fl.Delete([]int64{0, 7, 1500, 2499}, core.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		enc := fl.Encode()
		if !core.IsBruteForceEncoding(enc) {
			t.Fatal("IsBruteForceEncoding is false for an encoded Brute")
		}
		back, err := core.DecodeBruteForce[float32](enc)
		if err != nil {
			t.Fatal(err)
		}
		if back.Len() != fl.Len() || back.IDs() != fl.IDs() || back.Metric() != fl.Metric() || !slices.Equal(back.LiveIDs(nil), fl.LiveIDs(nil)) {
			t.Fatalf("%v: decoded %d points, %d ids, %v; want %d, %d, %v", m, back.Len(), back.IDs(), back.Metric(), fl.Len(), fl.IDs(), fl.Metric())
		}
		q := data[:60*6]
		d1, i1 := make([]float32, 60*5), make([]int64, 60*5)
		d2, i2 := make([]float32, 60*5), make([]int64, 60*5)
		if err := fl.KNearestBatch(core.Batch[float32]{Points: q}, 5, d1, i1); err != nil {
			t.Fatal(err)
		}
		if err := back.KNearestBatch(core.Batch[float32]{Points: q}, 5, d2, i2); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d1, d2) || !slices.Equal(i1, i2) {
			t.Fatalf("%v: the decoded index answers differently", m)
		}
		for _, bad := range [][]byte{enc[:len(enc)-1], append(slices.Clone(enc[:20]), enc[21:]...), []byte("PCCTTREE....")} {
			if _, err := core.DecodeBruteForce[float32](bad); err == nil {
				t.Fatalf("%v: damaged data decoded", m)
			}
		}
		if _, err := core.DecodeBruteForce[float64](enc); err == nil {
			t.Fatalf("%v: float32 data decoded as float64", m)
		}
	}
}

// TestBruteErrors checks the errors of building, updating and querying a
// BruteForce.
func TestBruteErrors(t *testing.T) {
	if _, err := core.BuildBruteForce([]float64{1, math.NaN()}, 2, core.Options{}); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := core.BuildBruteForce([]float64{1, 2, 3}, 2, core.Options{}); err == nil {
		t.Error("3 values accepted as rows of 2")
	}
	if _, err := core.BuildBruteForce([]float64{0, 0}, 2, core.Options{Metric: core.Metric{Kind: core.Cosine}}); err == nil {
		t.Error("a zero vector accepted under cosine")
	}
	if _, err := core.BuildBruteForce([]float64{-math.MaxFloat64, math.MaxFloat64}, 1, core.Options{}); err == nil {
		t.Error("points an infinite distance apart accepted")
	}
	fl, err := core.BuildBruteForce([]float64{0, 0, 1, 1, 2, 2}, 2, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ids := range [][]int64{{3}, {-1}, {1, 1}} {
		if _, err := fl.Delete(ids, core.UpdateOptions{}); err == nil {
			t.Errorf("Delete(%v) accepted", ids)
		}
	}
	if _, _, err := fl.Insert([]float64{1}, core.UpdateOptions{}); err == nil {
		t.Error("a 1-value row accepted in dimension 2")
	}
	d, i := make([]float64, 6), make([]int64, 6)
	if err := fl.KNearestBatch(core.Batch[float64]{Points: []float64{0, 0}}, 4, d, i); err == nil {
		t.Error("k=4 accepted for 3 points")
	}
	if err := fl.KNearestBatch(core.Batch[float64]{First: 0, Count: 3}, 3, d, i); err == nil {
		t.Error("k=3 accepted for fitted points among 3")
	}
	if _, err := fl.WithinBatch(core.Batch[float64]{Points: []float64{0, 0}}, -1, false); err == nil {
		t.Error("a negative radius accepted")
	}
	nf, err := fl.Delete([]int64{1}, core.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := nf.KNearestBatch(core.Batch[float64]{IDs: []int64{1}}, 1, d, i); err == nil {
		t.Error("a deleted point queried")
	}
	if !fl.Has(1) || nf.Has(1) || nf.Point(1) != nil || nf.Len() != 2 || nf.IDs() != 3 {
		t.Error("Delete changed the old version or left the point in the new one")
	}
}

// TestBruteDropsDeletedChunks checks that a BruteForce keeps no memory for chunks
// whose points are all deleted, answers, encodes and takes insertions
// after that, down to an empty index.
func TestBruteDropsDeletedChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	data := make([]float64, 3000*4)
	for i := range data {
		data[i] = rng.Float64()
	}
	fl, err := core.BuildBruteForce(data, 4, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	full := fl.Memory().Total()
	var first []int64 // the first two chunks' points, and the last one's
	for i := range 2048 {
		first = append(first, int64(i))
	}
	for i := 2048; i < 3000; i++ {
		first = append(first, int64(i))
	}
	part, err := fl.Delete(first[:2048], core.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m := part.Memory().Total(); m > full/2 {
		t.Fatalf("two thirds of the points deleted, %d of %d bytes kept", m, full)
	}
	d, i := make([]float64, 3), make([]int64, 3)
	if err := part.KNearestBatch(core.Batch[float64]{Points: data[:4]}, 3, d, i); err != nil {
		t.Fatal(err)
	}
	if i[0] < 2048 {
		t.Fatalf("a deleted point (%d) answered", i[0])
	}
	empty, err := part.Delete(first[2048:], core.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if empty.Len() != 0 || empty.IDs() != 3000 || len(empty.LiveIDs(nil)) != 0 {
		t.Fatalf("empty index: %d points, %d ids", empty.Len(), empty.IDs())
	}
	back, err := core.DecodeBruteForce[float64](empty.Encode())
	if err != nil || back.Len() != 0 || back.IDs() != 3000 {
		t.Fatalf("decoded empty index: %v, err %v", back, err)
	}
	for _, f := range []*core.BruteForce[float64]{empty, back} {
		grown, first, err := f.Insert(data[:8], core.UpdateOptions{})
		if err != nil || first != 3000 || grown.Len() != 2 || !grown.Has(3001) || grown.Has(2999) {
			t.Fatalf("insert into an empty index: first %d, %d points, err %v", first, grown.Len(), err)
		}
		if err := grown.KNearestBatch(core.Batch[float64]{Points: data[:4]}, 2, d[:2], i[:2]); err != nil || i[0] != 3000 {
			t.Fatalf("query after re-insertion: %v, err %v", i[:2], err)
		}
	}
}

// TestBruteForceFlat checks that a BruteForce hands a GPU the same point
// set and queries as a Tree over the same points and updates would.
func TestBruteForceFlat(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	data := make([]float32, 2000*5)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	for _, m := range []core.Metric{{}, {Kind: core.Cosine}} {
		tr, err := core.Build(data, 5, core.Options{Metric: m})
		if err != nil {
			t.Fatal(err)
		}
		fl, err := core.BuildBruteForce(data, 5, core.Options{Metric: m})
		if err != nil {
			t.Fatal(err)
		}
		del := []int64{3, 1024, 1999}
		if tr, err = tr.Delete(del, core.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if fl, err = fl.Delete(del, core.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		a, b := tr.Flat(), fl.Flat()
		if !slices.Equal(a.Points(), b.Points()) || !slices.Equal(a.IDs(), b.IDs()) || a.Metric() != b.Metric() {
			t.Fatalf("%v: the brute-force index's Flat differs from the tree's", m)
		}
		for _, batch := range []core.Batch[float32]{{Points: data[:50]}, {IDs: []int64{0, 5, 1998}}} {
			qa, err := tr.Queries(batch)
			if err != nil {
				t.Fatal(err)
			}
			qb, err := fl.Queries(batch)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(qa.Points, qb.Points) || !slices.Equal(qa.Exclude, qb.Exclude) {
				t.Fatalf("%v: the brute-force index prepares queries differently", m)
			}
		}
	}
}
