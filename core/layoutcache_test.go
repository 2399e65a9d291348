package core

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// checkBatch runs k-nearest batches on tr for each k of ks and compares
// them with brute force over the tree's own kernel, exactly: distances and
// caller indices, ties by index.
func checkBatch[T Float](t *testing.T, tr *Tree[T], b Batch[T], ks ...int) {
	t.Helper()
	nq := batchLen(tr, b)
	sorted := flatTruth(tr, b, slices.Max(ks))
	for _, k := range ks {
		dist := make([]T, nq*k)
		idx := make([]int64, nq*k)
		if err := tr.KNearestBatch(b, k, dist, idx); err != nil {
			t.Fatal(err)
		}
		wd, wi := truthRows(tr, sorted, k)
		for i := range dist {
			if dist[i] != wd[i] || idx[i] != wi[i] {
				q := i / k
				t.Fatalf("k=%d, query %d: got %v %v, want %v %v", k, q,
					dist[q*k:q*k+k], idx[q*k:q*k+k], wd[q*k:q*k+k], wi[q*k:q*k+k])
			}
		}
	}
}

// TestLayoutCache checks the search layout a version keeps: none before a
// query, none after a batch too small for one, made by a large batch and
// then reused, the same object, by every later batch of either size, each
// answering exactly as brute force does; a version made by insertions and
// deletions starts without one and makes its own, while the old version
// keeps answering for its own points from its own; encoding ignores it.
// It covers float32 and float64, every metric the layout serves (the
// Euclidean and cosine kernels written out, Manhattan and Chebyshev, a
// custom Go metric), data full of duplicates and ties, query points inside
// and outside the fitted points' box, and fitted points left out of their
// own answers.
func TestLayoutCache(t *testing.T) {
	testLayoutCache[float64](t)
	testLayoutCache[float32](t)
}

func testLayoutCache[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	n := 1500
	if raceEnabled || testing.Short() {
		n = 500
	}
	manhattan := NewCustom[T]("l1", DistancerFunc[T](func(a, b []T) float64 {
		s := 0.0
		for i := range a {
			s += math.Abs(float64(a[i]) - float64(b[i]))
		}
		return s
	}))
	data := []struct {
		name string
		dim  int
		f    func() float64
	}{
		{"grid/d=2", 2, func() float64 { return float64(1 + rng.IntN(40)) }},
		{"uniform/d=3", 3, rng.Float64},
		{"clustered/d=6", 6, func() float64 { return float64(rng.IntN(3)) + 0.01*rng.NormFloat64() }},
	}
	for _, ds := range data {
		for _, m := range []Metric{{}, {Kind: Cosine}, {Kind: Manhattan}, {Kind: Chebyshev}, manhattan} {
			t.Run(fmt.Sprintf("%T/%s/%v", T(0), ds.name, m), func(t *testing.T) {
				old, err := Build(genRows[T](n, ds.dim, ds.f), ds.dim, Options{Metric: m, Seed: 7, Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				enc := old.Encode()
				if old.Memory().SearchLayoutBuilt {
					t.Fatal("a new version holds a search layout")
				}
				// Query points in the fitted points' box and around it.
				wide := func(nq int) []T {
					return genRows[T](nq, ds.dim, func() float64 { return 3*ds.f() - 1 })
				}
				large := old.Nodes()/flatBatchRatio + 1
				small := max(1, large/4)
				checkBatch(t, old, Batch[T]{Points: wide(small), Jobs: 2}, 5)
				if old.flat.f.Load() != nil {
					t.Fatalf("a batch of %d queries on %d nodes made a search layout", small, old.Nodes())
				}
				checkBatch(t, old, Batch[T]{Points: wide(large), Jobs: 2}, 5)
				f := old.flat.f.Load()
				if f == nil {
					t.Fatalf("batches of %d queries in all on %d nodes made no search layout", small+large, old.Nodes())
				}
				ids := old.LiveIDs(nil)
				for _, b := range []Batch[T]{
					{Points: wide(large), Jobs: 2},
					{Points: wide(1)},
					{IDs: ids[:small], Jobs: 2},
					{First: n - large, Count: large, Jobs: 2},
				} {
					checkBatch(t, old, b, 1, 10, sortedK+3)
				}
				if old.flat.f.Load() != f {
					t.Fatal("a later batch replaced the version's search layout")
				}
				if !bytes.Equal(old.Encode(), enc) {
					t.Fatal("the encoding changed once the search layout was made")
				}
				dec, err := Decode[T](enc)
				if m.Kind == Custom {
					dec, err = DecodeWith[T](enc, m)
				}
				if err != nil {
					t.Fatal(err)
				}
				if dec.flat.f.Load() != nil {
					t.Fatal("a decoded version holds a search layout")
				}

				tr := insertDelete(t, old, genRows[T](n/4, ds.dim, ds.f), n/5, rng)
				if tr.flat.f.Load() != nil {
					t.Fatal("an updated version inherited a search layout")
				}
				checkBatch(t, tr, Batch[T]{Points: wide(tr.Nodes()/flatBatchRatio + 1), Jobs: 2}, 10)
				if g := tr.flat.f.Load(); g == nil || g == f {
					t.Fatal("the updated version did not make its own search layout")
				}
				live := tr.LiveIDs(nil)
				checkBatch(t, tr, Batch[T]{IDs: live[len(live)-large:], Jobs: 2}, 10)
				checkBatch(t, old, Batch[T]{Points: wide(large), Jobs: 2}, 10)
				checkBatch(t, old, Batch[T]{First: 0, Count: large, Jobs: 2}, 10)
				if old.flat.f.Load() != f {
					t.Fatal("the old version lost its search layout to the update")
				}
			})
		}
	}
}

// TestLayoutCacheConcurrent has several goroutines ask for a fresh
// version's first large batches at once (run it under -race): each gets
// exact answers, and they all use the one layout the version keeps.
func TestLayoutCacheConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	n, dim := 2000, 3
	data := make([]float64, n*dim)
	for i := range data {
		data[i] = float64(rng.IntN(40)) / 4
	}
	tr, err := Build(data, dim, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	const workers = 6
	nq := tr.Nodes()/flatBatchRatio + 1
	batches := make([]Batch[float64], workers)
	for w := range batches {
		q := make([]float64, nq*dim)
		for i := range q {
			q[i] = 11 * rng.Float64()
		}
		batches[w] = Batch[float64]{Points: q, Jobs: 2}
		if w%2 == 1 {
			batches[w] = Batch[float64]{First: w * nq, Count: nq, Jobs: 2}
		}
	}
	const k = 7
	got := make([][]int64, workers)
	gotDist := make([][]float64, workers)
	layouts := make([]*flatTree[float64], workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			got[w], gotDist[w] = make([]int64, nq*k), make([]float64, nq*k)
			if err := tr.KNearestBatch(batches[w], k, gotDist[w], got[w]); err != nil {
				t.Error(err)
			}
			layouts[w] = tr.flat.f.Load()
		})
	}
	close(start)
	wg.Wait()
	for w := range workers {
		if layouts[w] == nil || layouts[w] != layouts[0] {
			t.Fatalf("worker %d saw layout %p, worker 0 %p", w, layouts[w], layouts[0])
		}
		wd, wi := truthRows(tr, flatTruth(tr, batches[w], k), k)
		if !slices.Equal(gotDist[w], wd) || !slices.Equal(got[w], wi) {
			t.Fatalf("worker %d: answers differ from brute force", w)
		}
	}
}

// TestLayoutCurve checks the layout's Z-order curve: every node once,
// keys ascending, and locate's place for a key (the first node key at
// least as large), from any place before it, against a linear scan; a layout in more than mortonDims
// dimensions has none.
func TestLayoutCurve(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	for name, tr := range layoutTrees(t, rng) {
		t.Run(name, func(t *testing.T) {
			f := tr.flatten(2)
			if len(f.zpos) != tr.Nodes() || len(f.zkey) != tr.Nodes() {
				t.Fatalf("%d positions and %d keys on the curve for %d nodes", len(f.zpos), len(f.zkey), tr.Nodes())
			}
			seen := make([]bool, tr.Nodes())
			for i, p := range f.zpos {
				if seen[p] {
					t.Fatalf("position %d twice on the curve", p)
				}
				seen[p] = true
				if i > 0 && f.zkey[i] < f.zkey[i-1] {
					t.Fatalf("keys %d and %d out of order", i-1, i)
				}
			}
			for range 200 {
				key := f.zkey[rng.IntN(len(f.zkey))] + uint64(rng.IntN(3)) - 1
				if rng.IntN(4) == 0 {
					key = rng.Uint64()
				}
				want := 0
				for want < len(f.zkey) && f.zkey[want] < key {
					want++
				}
				from := rng.IntN(want + 1)
				if got := f.locate(key, from); got != want {
					t.Fatalf("locate(%#x, %d) = %d, want %d", key, from, got, want)
				}
			}
		})
	}
	data := make([]float64, 200*(mortonDims+1))
	for i := range data {
		data[i] = rng.Float64()
	}
	tr, err := Build(data, mortonDims+1, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if f := tr.flatten(2); f.zkey != nil || f.zpos != nil {
		t.Fatalf("a %d-D layout has a Z-order curve", mortonDims+1)
	}
}
