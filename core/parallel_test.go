package core

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestHugeJobCounts asks for far more goroutines than there are CPUs in
// every entry point that takes a job count: nothing may be allocated per
// requested job (2^31-1 per-worker buffers would abort the process).
func TestHugeJobCounts(t *testing.T) {
	if got := workers(math.MaxInt32); got != runtime.GOMAXPROCS(0) {
		t.Fatalf("workers(MaxInt32) = %d, want GOMAXPROCS = %d", got, runtime.GOMAXPROCS(0))
	}
	if got := workers(-5); got != 1 {
		t.Fatalf("workers(-5) = %d, want 1", got)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n, dim = 500, 4
	data := make([]float64, n*dim)
	for i := range data {
		data[i] = rng.Float64()
	}
	for _, jobs := range []int{math.MaxInt32, 10_000_000} {
		tr, err := Build(data, dim, Options{Jobs: jobs})
		if err != nil {
			t.Fatal(err)
		}
		tr, _, err = tr.Insert(data[:40*dim], UpdateOptions{Jobs: jobs})
		if err != nil {
			t.Fatal(err)
		}
		tr, err = tr.Delete([]int64{0, 1, 2, 501}, UpdateOptions{Jobs: jobs})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Check(); err != nil {
			t.Fatal(err)
		}
		dist := make([]float64, 10*3)
		idx := make([]int64, 10*3)
		if err := tr.KNearestBatch(Batch[float64]{Points: data[:10*dim], Jobs: jobs}, 3, dist, idx); err != nil {
			t.Fatal(err)
		}
		if idx[0] != 500 || dist[0] != 0 { // row 0 was deleted; its copy 500 remains
			t.Fatalf("jobs=%d: nearest to row 0 is %d at %v, want 500 at 0", jobs, idx[0], dist[0])
		}
	}
}
