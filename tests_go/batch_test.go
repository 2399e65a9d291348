package coretest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// TestBatchJobsIdentical checks that KNearestBatch and WithinBatch give
// identical output with Jobs 1, 2 and 8 (and 0, which means 1), on external
// queries and on self-queries, with enough queries for every worker to take
// several blocks.
func TestBatchJobsIdentical(t *testing.T) {
	t.Parallel()
	t.Run("float64", func(t *testing.T) { runBatchJobs[float64](t) })
	t.Run("float32", func(t *testing.T) { runBatchJobs[float32](t) })
}

func runBatchJobs[T core.Float](t *testing.T) {
	const n, dim, nq, k = 3000, 4, 1500, 7
	rng := rand.New(rand.NewPCG(5, 51))
	data := convert[T](intGrid(rng, n, dim, 9)) // duplicates and ties
	tr := build(t, data, dim, core.Metric{}, 9)
	qs := convert[T](uniform[float64](rng, nq, dim, 9))
	batches := map[string]core.Batch[T]{
		"external": {Points: qs},
		"self":     {First: 100, Count: nq},
	}
	for name, b := range batches {
		t.Run(name, func(t *testing.T) {
			var refD []T
			var refI []int64
			var refR [][]core.Neighbor
			var refU [][]core.Neighbor
			for _, jobs := range []int{1, 0, 2, 8} {
				b.Jobs = jobs
				dist := make([]T, nq*k)
				idx := make([]int64, nq*k)
				if err := tr.KNearestBatch(b, k, dist, idx); err != nil {
					t.Fatalf("Jobs=%d: %v", jobs, err)
				}
				res, err := tr.WithinBatch(b, 1.5, true)
				if err != nil {
					t.Fatalf("Jobs=%d: %v", jobs, err)
				}
				rs := radiusNeighbors(t, res)
				res, err = tr.WithinBatch(b, 1.5, false)
				if err != nil {
					t.Fatalf("Jobs=%d: %v", jobs, err)
				}
				us := radiusNeighbors(t, res)
				for _, u := range us {
					sortNeighbors(u) // unsorted output: compare as sets
				}
				if refD == nil {
					refD, refI, refR, refU = dist, idx, rs, us
					continue
				}
				if !slices.Equal(dist, refD) || !slices.Equal(idx, refI) {
					t.Fatalf("Jobs=%d: KNearestBatch output differs from Jobs=1", jobs)
				}
				for i := range nq {
					if !slices.Equal(rs[i], refR[i]) || !slices.Equal(us[i], refU[i]) {
						t.Fatalf("Jobs=%d: WithinBatch answers of query %d differ from Jobs=1", jobs, i)
					}
				}
			}
			// And they are right: spot-check against brute force.
			for i := 0; i < nq; i += 97 {
				var q []T
				ex := -1
				if b.Points != nil {
					q = row(qs, dim, i)
				} else {
					q, ex = row(data, dim, b.First+i), b.First+i
				}
				want := expect[T](bruteSorted(core.Metric{}, data, dim, q, ex)[:k])
				if d := diffNeighbors(batchNeighbors(refD, refI, i, k), want); d != "" {
					t.Fatalf("query %d: %s", i, d)
				}
			}
		})
	}
}

// TestBatchConcurrentCallers runs batches from several goroutines at once
// on one tree (a Tree is documented as safe for concurrent use) and checks
// every answer; run it with -race.
func TestBatchConcurrentCallers(t *testing.T) {
	t.Parallel()
	const n, dim, k = 2000, 3, 5
	rng := rand.New(rand.NewPCG(6, 52))
	data := uniform[float64](rng, n, dim, 1)
	tr := build(t, data, dim, core.Metric{Kind: core.Chebyshev}, 2)
	qs := uniform[float64](rng, 200, dim, 1)
	want := make([]int64, 0, 200*k)
	for i := range 200 {
		for _, p := range bruteSorted(core.Metric{Kind: core.Chebyshev}, data, dim, row(qs, dim, i), -1)[:k] {
			want = append(want, int64(p.i))
		}
	}
	_, before := tr.DistanceEvals()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			dist := make([]float64, 200*k)
			idx := make([]int64, 200*k)
			if err := tr.KNearestBatch(core.Batch[float64]{Points: qs, Jobs: 1 + g}, k, dist, idx); err != nil {
				errs <- err
				return
			}
			if !slices.Equal(idx, want) {
				errs <- fmt.Errorf("goroutine %d: answers differ from brute force", g)
				return
			}
			if _, err := tr.WithinBatch(core.Batch[float64]{First: 0, Count: n, Jobs: 2}, 0.05, false); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, after := tr.DistanceEvals(); after <= before {
		t.Errorf("query evaluations did not grow: %d -> %d", before, after)
	}
}

// TestBatchEmpty checks batches with no queries.
func TestBatchEmpty(t *testing.T) {
	t.Parallel()
	tr := build(t, []float64{0, 1, 2, 3}, 2, core.Metric{}, 1)
	if err := tr.KNearestBatch(core.Batch[float64]{Points: []float64{}, Jobs: 4}, 1, nil, nil); err != nil {
		t.Errorf("KNearestBatch with no query points: %v", err)
	}
	if err := tr.KNearestBatch(core.Batch[float64]{First: 1, Count: 0}, 1, nil, nil); err != nil {
		t.Errorf("KNearestBatch with Count 0: %v", err)
	}
	res, err := tr.WithinBatch(core.Batch[float64]{Points: []float64{}}, 1, true)
	if err != nil {
		t.Fatalf("WithinBatch with no query points: %v", err)
	}
	if len(res.Counts()) != 0 || res.Total() != 0 {
		t.Errorf("WithinBatch with no query points: counts %v, total %d", res.Counts(), res.Total())
	}
}
