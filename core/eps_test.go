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
		for _, eps := range epss {
			for _, nq := range []int{20, 600} { // below and above the layout's batch size
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
