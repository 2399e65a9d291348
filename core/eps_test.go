package core_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// TestEpsGuarantee checks approximate search (Batch.Eps) against brute
// force: each returned neighbour is a distinct point at its true distance,
// in order, and the j-th is at most 1+eps times as far as the true j-th,
// for small batches (the node-by-node search) and large ones (the search
// layout), query points and fitted points. Eps = 0 must be exact.
func TestEpsGuarantee(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const k = 8
	dims, epss := []int{2, 3, 10}, []float64{0, 0.1, 0.5, 3, math.Inf(1)}
	if raceEnabled || testing.Short() {
		dims, epss = dims[1:2], []float64{0, 0.5}
	}
	for _, dim := range dims {
		n := 3000
		data := make([]float64, n*dim)
		for i := range data {
			data[i] = float64(rng.IntN(4)) + rng.NormFloat64()*0.3 // clusters
		}
		tr, err := core.Build(data, dim, core.Options{Seed: 1, Jobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		queries := make([]float64, 600*dim)
		for i := range queries {
			queries[i] = 4*rng.Float64() - 0.5
		}
		fitted := make([]int64, 600)
		for i := range fitted {
			fitted[i] = int64(rng.IntN(n))
		}
		// The true distances to the k nearest of each query point, then of
		// each fitted point (itself left out).
		truths := make([][]float64, 2*600)
		for i := range truths {
			q, ex := queries[(i%600)*dim:(i%600+1)*dim], -1
			if i >= 600 {
				ex = int(fitted[i-600])
				q = data[ex*dim : (ex+1)*dim]
			}
			best := make([]float64, 0, k+1) // the k smallest, ascending
			for j := range n {
				if j == ex {
					continue
				}
				d := core.Distance(core.Metric{}, q, data[j*dim:(j+1)*dim])
				if len(best) == k && d >= best[k-1] {
					continue
				}
				at, _ := slices.BinarySearch(best, d)
				best = slices.Insert(best, at, d)
				if len(best) > k {
					best = best[:k]
				}
			}
			truths[i] = best
		}
		// The small batches come first and add up to fewer queries than
		// make the tree's search layout (1/64 of its nodes): they walk the
		// nodes; the large ones run on the layout.
		for _, nq := range []int{8, 600} {
			for _, eps := range epss {
				b := core.Batch[float64]{Points: queries[:nq*dim], Jobs: 2, Eps: eps}
				if nq == 600 && eps == 0.5 {
					b = core.Batch[float64]{IDs: fitted, Jobs: 2, Eps: eps}
				}
				t.Run(fmt.Sprintf("d=%d/eps=%v/nq=%d/fitted=%v", dim, eps, nq, b.IDs != nil), func(t *testing.T) {
					dist, idx := make([]float64, nq*k), make([]int64, nq*k)
					if err := tr.KNearestBatch(b, k, dist, idx); err != nil {
						t.Fatal(err)
					}
					for i := range nq {
						q, ex, truth := queries[i*dim:(i+1)*dim], -1, truths[i]
						if b.IDs != nil {
							ex = int(b.IDs[i])
							q = data[ex*dim : (ex+1)*dim]
							truth = truths[600+i]
						}
						row, rid := dist[i*k:(i+1)*k], idx[i*k:(i+1)*k]
						seen := map[int64]bool{}
						for j := range k {
							id := rid[j]
							if seen[id] || id == int64(ex) || id < 0 || id >= int64(n) {
								t.Fatalf("query %d: index %d returned twice, or is the query, or out of range", i, id)
							}
							seen[id] = true
							if d := core.Distance(core.Metric{}, q, data[id*int64(dim):(id+1)*int64(dim)]); d != row[j] {
								t.Fatalf("query %d rank %d: distance %v, but index %d is %v away", i, j, row[j], id, d)
							}
							if j > 0 && row[j] < row[j-1] {
								t.Fatalf("query %d: distances out of order", i)
							}
							bound := truth[j] * (1 + eps)
							if eps == 0 {
								bound = truth[j]
							}
							if row[j] > bound && !(math.IsInf(eps, 1)) {
								t.Fatalf("query %d rank %d: %v, more than (1+%v) x the true %v", i, j, row[j], eps, truth[j])
							}
						}
						if eps == 0 && !slices.Equal(row, truth[:k]) {
							t.Fatalf("query %d: eps=0 is not exact", i)
						}
					}
				})
			}
		}
	}
	// Eps needs the depth-first strategy and a value >= 0.
	tr, _ := core.Build([]float64{0, 1, 2, 3}, 1, core.Options{})
	d, i := make([]float64, 1), make([]int64, 1)
	for _, b := range []core.Batch[float64]{
		{Points: []float64{0.5}, Eps: -1},
		{Points: []float64{0.5}, Eps: math.NaN()},
		{Points: []float64{0.5}, Eps: 0.5, Strategy: core.Corrected},
	} {
		if err := tr.KNearestBatch(b, 1, d, i); err == nil {
			t.Errorf("eps=%v with %v: no error", b.Eps, b.Strategy)
		}
	}
}

// TestEpsWithBound checks Batch.Eps in KNearestBoundBatch against brute
// force, with scipy's cKDTree meaning of eps with distance_upper_bound:
// every neighbour returned is a distinct point at its true distance, below
// the bound, in order; the j-th is at most 1+eps times as far as the true
// j-th below the bound, and a slot is left empty only where that true
// neighbour lies within a factor 1+eps of the bound. Eps = 0 is exact.
func TestEpsWithBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const k, dim, n, nq = 6, 3, 2000, 200
	data := make([]float64, n*dim)
	for i := range data {
		data[i] = float64(rng.IntN(3)) + math.Round(rng.NormFloat64()*8)/32 // clusters with ties
	}
	tr, err := core.Build(data, dim, core.Options{Seed: 2, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	queries := make([]float64, nq*dim)
	for i := range queries {
		queries[i] = 3*rng.Float64() - 0.5
	}
	evals := map[[2]float64]int64{} // distances measured per (bound, eps)
	for _, bound := range []float64{0.05, 0.2, math.Inf(1)} {
		for _, eps := range []float64{0, 0.5, 2} {
			t.Run(fmt.Sprintf("bound=%v/eps=%v", bound, eps), func(t *testing.T) {
				dist, idx := make([]float64, nq*k), make([]int64, nq*k)
				b := core.Batch[float64]{Points: queries, Jobs: 2, Eps: eps}
				_, before := tr.DistanceEvals()
				if err := tr.KNearestBoundBatch(b, k, bound, dist, idx); err != nil {
					t.Fatal(err)
				}
				_, after := tr.DistanceEvals()
				evals[[2]float64{bound, eps}] = after - before
				for i := range nq {
					q := queries[i*dim : (i+1)*dim]
					var truth []float64 // distances below the bound, ascending
					for j := range n {
						if d := core.Distance(core.Metric{}, q, data[j*dim:(j+1)*dim]); d < bound {
							truth = append(truth, d)
						}
					}
					slices.Sort(truth)
					row, rid := dist[i*k:(i+1)*k], idx[i*k:(i+1)*k]
					seen := map[int64]bool{}
					for j := range k {
						if rid[j] < 0 {
							if !math.IsInf(row[j], 1) {
								t.Fatalf("query %d rank %d: empty slot with distance %v", i, j, row[j])
							}
							if j < len(truth) && truth[j]*(1+eps) < bound {
								t.Fatalf("query %d rank %d: empty, but the true neighbour at %v is within the bound %v by more than 1+%v", i, j, truth[j], bound, eps)
							}
							continue
						}
						if seen[rid[j]] || (j > 0 && rid[j-1] < 0) {
							t.Fatalf("query %d: index %d twice, or after an empty slot", i, rid[j])
						}
						seen[rid[j]] = true
						if d := core.Distance(core.Metric{}, q, data[rid[j]*dim:(rid[j]+1)*dim]); d != row[j] || !(d < bound) {
							t.Fatalf("query %d rank %d: distance %v, index %d is %v away (bound %v)", i, j, row[j], rid[j], d, bound)
						}
						if j > 0 && row[j] < row[j-1] {
							t.Fatalf("query %d: distances out of order", i)
						}
						if j >= len(truth) || row[j] > truth[j]*(1+eps) {
							t.Fatalf("query %d rank %d: %v, but the true neighbours below the bound are %v", i, j, row[j], truth)
						}
					}
					if eps == 0 {
						want := truth[:min(k, len(truth))]
						if got := row[:len(want)]; !slices.Equal(got, want) || (len(want) < k && rid[len(want)] >= 0) {
							t.Fatalf("query %d: eps=0 gave %v, want %v", i, row, want)
						}
					}
				}
			})
		}
	}
	// The approximation must prune: fewer distances at eps=2 than exact.
	for _, bound := range []float64{0.2, math.Inf(1)} {
		if exact, approx := evals[[2]float64{bound, 0}], evals[[2]float64{bound, 2}]; approx >= exact {
			t.Errorf("bound %v: eps=2 measured %d distances, the exact search %d", bound, approx, exact)
		}
	}
	if err := tr.KNearestBoundBatch(core.Batch[float64]{Points: queries[:dim], Eps: -1}, 1, 1, make([]float64, 1), make([]int64, 1)); err == nil {
		t.Fatal("eps=-1 accepted")
	}
}
