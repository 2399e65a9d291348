package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFlatTreeGuess checks that a guess at the k-th distance never changes
// an answer: too small (0, half of it, the next float below it: the search
// runs again, once or twice), exactly it (ties at the k-th distance
// included: no second search), larger, or none, in both dtypes, for query
// points and fitted points, on data with duplicates, under every metric
// the layout serves.
func TestFlatTreeGuess(t *testing.T) {
	testFlatTreeGuess[float64](t)
	testFlatTreeGuess[float32](t)
}

func testFlatTreeGuess[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	n, nq := 1500, 40
	if raceEnabled || testing.Short() {
		n, nq = 500, 15
	}
	data := []struct {
		name string
		dim  int
		f    func() float64
	}{
		{"uniform/d=2", 2, rng.Float64},
		{"uniform/d=3", 3, rng.Float64},
		{"grid/d=2", 2, func() float64 { return float64(rng.IntN(9)) }},
		{"clustered/d=3", 3, func() float64 { return float64(rng.IntN(4)) + 0.01*rng.NormFloat64() }},
		{"uniform/d=8", 8, rng.Float64},
	}
	custom := NewCustom[T]("l1", DistancerFunc[T](func(a, b []T) float64 {
		s := 0.0
		for i := range a {
			s += math.Abs(float64(a[i]) - float64(b[i]))
		}
		return s
	}))
	metrics := []Metric{{}, {Kind: Cosine}, {Kind: Manhattan}, {Kind: Chebyshev}, custom}
	for di, ds := range data {
		for mi, m := range metrics {
			if mi >= 1 && di != 2 && di != 3 {
				continue // the other metrics on grid/d=2 and clustered/d=3
			}
			t.Run(fmt.Sprintf("%T/%s/%v", T(0), ds.name, m), func(t *testing.T) {
				pts := genRows[T](n, ds.dim, ds.f)
				if m.Kind == Cosine {
					for i := range pts {
						pts[i]++ // no zero rows
					}
				}
				tr, err := Build(pts, ds.dim, Options{Metric: m, Seed: 7})
				if err != nil {
					t.Fatal(err)
				}
				f := tr.flatten(2)
				ids := tr.LiveIDs(nil)
				sel := make([]int64, nq)
				for i := range sel {
					sel[i] = ids[rng.IntN(len(ids))]
				}
				queries := genRows[T](nq, ds.dim, ds.f)
				if m.Kind == Cosine {
					for i := range queries {
						queries[i]++
					}
				}
				tries := 0
				for _, raw := range []Batch[T]{{IDs: sel}, {Points: queries}} {
					truth := flatTruth(tr, raw, 40)
					b, err := raw.prepared(tr.metric, tr.Dim())
					if err != nil {
						t.Fatal(err)
					}
					_, homes, spots := f.plan(tr, b, nq)
					for i := range nq {
						q, ex := b.query(tr, i)
						home := int32(-1)
						if homes != nil {
							home = homes[i]
						}
						var near []int32
						if spots != nil {
							near = f.around(spots[i], nil)
						}
						for _, k := range []int{1, 10, 40} {
							want := truth[i][:k]
							kth := want[k-1].d
							for _, g := range []float64{math.Inf(1), 0, kth / 2, math.Nextafter(kth, 0), kth, 1.25 * kth} {
								s := &scratch{exclude: ex}
								f.knn(s, q, k, home, int32(k+1), near, 1, g)
								if got := drained(&s.heap); !slices.Equal(got, want) {
									t.Fatalf("query %d (exclude %d), k=%d, guess %v (k-th %v): got %v, want %v", i, ex, k, g, kth, got, want)
								}
								// A guess below the k-th distance must fail, one
								// at it or above must not.
								if failed := s.guess.tries > 0; failed != (g < kth) {
									t.Fatalf("query %d, k=%d, guess %v, k-th %v: searched again %d times", i, k, g, kth, s.guess.tries)
								}
								tries += int(s.guess.tries)
							}
						}
					}
				}
				if tries == 0 {
					t.Fatal("no guess failed")
				}
			})
		}
	}
}

// TestKthGuess checks when a worker guesses: only for the query after the
// one it learnt from in the batch's order, never from a k-th distance of
// 0, and not while too many recent guesses (made or not) would have
// failed, until enough good ones follow.
func TestKthGuess(t *testing.T) {
	inf := math.Inf(1)
	var g kthGuess
	if v := g.at(0); v != inf {
		t.Fatalf("a new worker guessed %v", v)
	}
	g.learn(0, 2)
	if v := g.at(2); v != inf {
		t.Fatalf("guessed %v for a query that does not follow the last", v)
	}
	g.learn(5, 2)
	if v := g.at(6); v != guessFactor*2 {
		t.Fatalf("guessed %v after a k-th distance of 2, want %v", v, guessFactor*2)
	}
	g.learn(6, 0)
	if v := g.at(7); v != inf {
		t.Fatalf("guessed %v after a k-th distance of 0", v)
	}
	// Failures: the distance doubles at every query.
	w, seq := 1.0, 10
	g = kthGuess{}
	g.learn(seq, w)
	for range 20 {
		seq++
		w *= 2
		g.at(seq)
		g.learn(seq, w)
	}
	if v := g.at(seq + 1); v != inf {
		t.Fatalf("still guessing (%v) after 20 failures, failed share %v", v, g.misses)
	}
	// Steady distances: the guesses, unmade, would be right, and start again.
	for range 60 {
		seq++
		g.at(seq)
		g.learn(seq, w)
	}
	if v := g.at(seq + 1); v != guessFactor*w {
		t.Fatalf("guessed %v after 60 steady queries, want %v (failed share %v)", v, guessFactor*w, g.misses)
	}
}

// TestKNearestBatchGuess checks whole batches on a surface, where the
// queries' k-th distances change smoothly along the batch's order and the
// workers guess them (as on bunny), against every point measured: fitted
// points and new points on the surface and near it, two workers, both
// dtypes.
func TestKNearestBatchGuess(t *testing.T) {
	testKNearestBatchGuess[float64](t)
	testKNearestBatchGuess[float32](t)
}

func testKNearestBatchGuess[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	n, nq := 2000, 300
	if raceEnabled || testing.Short() {
		n, nq = 800, 100
	}
	sphere := func(m int, noise float64) []T {
		out := make([]T, 0, 3*m)
		for range m {
			x, y, z := rng.NormFloat64(), rng.NormFloat64(), 2*rng.NormFloat64()
			r := math.Sqrt(x*x+y*y+z*z) / (1 + noise*rng.NormFloat64())
			out = append(out, T(x/r), T(y/r), T(z/r))
		}
		return out
	}
	tr, err := Build(sphere(n, 0), 3, Options{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		name  string
		batch Batch[T]
	}{
		{"X=None", Batch[T]{First: n - nq, Count: nq, Jobs: 2}},
		{"X=on the surface", Batch[T]{Points: sphere(nq, 0), Jobs: 2}},
		{"X=near it", Batch[T]{Points: sphere(nq, 0.05), Jobs: 2}},
	} {
		sorted := flatTruth(tr, b.batch, 10)
		for _, k := range []int{1, 10} {
			m := batchLen(tr, b.batch)
			dist := make([]T, m*k)
			idx := make([]int64, m*k)
			if err := tr.KNearestBatch(b.batch, k, dist, idx); err != nil {
				t.Fatal(err)
			}
			if tr.flat.f.Load() == nil {
				t.Fatal("the batch made no search layout")
			}
			// The work done must not depend on which worker took which
			// block of queries.
			evals := func() int64 {
				_, before := tr.DistanceEvals()
				if err := tr.KNearestBatch(b.batch, k, dist, idx); err != nil {
					t.Fatal(err)
				}
				_, after := tr.DistanceEvals()
				return after - before
			}
			first := evals()
			for range 4 {
				if again := evals(); again != first {
					t.Fatalf("%T %s, k=%d: %d distance evaluations, then %d", T(0), b.name, k, first, again)
				}
			}
			wd, wi := truthRows(tr, sorted, k)
			for i := range dist {
				if dist[i] != wd[i] || idx[i] != wi[i] {
					q := i / k
					t.Fatalf("%T %s, k=%d, query %d: got %v %v, want %v %v", T(0), b.name, k, q,
						dist[q*k:q*k+k], idx[q*k:q*k+k], wd[q*k:q*k+k], wi[q*k:q*k+k])
				}
			}
		}
	}
}

// TestFlatTreeGuesses checks which layouts' batches guess: Euclidean and
// cosine ones of up to boxDims dimensions.
func TestFlatTreeGuesses(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, c := range []struct {
		m    Metric
		dim  int
		want bool
	}{
		{Metric{}, 2, true},
		{Metric{}, boxDims, true},
		{Metric{}, boxDims + 1, false},
		{Metric{Kind: Cosine}, 3, true},
		{Metric{Kind: Manhattan}, 2, false},
		{Metric{Kind: Chebyshev}, 3, false},
	} {
		pts := make([]float64, 200*c.dim)
		for i := range pts {
			pts[i] = 1 + rng.Float64()
		}
		tr, err := Build(pts, c.dim, Options{Metric: c.m, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.flatten(2).guesses(); got != c.want {
			t.Errorf("%v in %d dimensions: guesses %v, want %v", c.m, c.dim, got, c.want)
		}
	}
}
