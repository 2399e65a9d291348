package coretest

import (
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pcct-dev/pcct/core"
)

// TestMonitor checks that builds, updates and query batches report their
// progress through a Monitor and stop, with ErrStopped and no result, when
// it asks.
func TestMonitor(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(8, 8))
	const n, dim = 20000, 3
	data := uniform[float64](rng, n, dim, 1)
	var done, stop int64
	mon := &core.Monitor{Done: &done, Stop: &stop}
	tr, err := core.Build(data, dim, core.Options{Jobs: 2, Monitor: mon})
	if err != nil {
		t.Fatal(err)
	}
	if done != n {
		t.Fatalf("build reported %d points inserted, want %d", done, n)
	}
	done = 0
	nt, _, err := tr.Insert(data[:300*dim], core.UpdateOptions{Monitor: mon})
	if err != nil || done != 300 {
		t.Fatalf("insert: %d points reported, error %v", done, err)
	}
	done = 0
	if _, err := nt.Delete(nt.LiveIDs(nil)[:50], core.UpdateOptions{Monitor: mon}); err != nil || done != 50 {
		t.Fatalf("delete: %d points reported, error %v", done, err)
	}
	done = 0
	dist := make([]float64, n*5)
	idx := make([]int64, n*5)
	if err := tr.KNearestBatch(core.Batch[float64]{Count: n, Jobs: 2, Monitor: mon}, 5, dist, idx); err != nil || done != n {
		t.Fatalf("queries: %d reported, error %v", done, err)
	}

	// A stop request already made stops everything at once.
	atomic.StoreInt64(&stop, 1)
	if _, err := core.Build(data, dim, core.Options{Monitor: mon}); !errors.Is(err, core.ErrStopped) {
		t.Fatalf("build with a stop request: %v, want ErrStopped", err)
	}
	if _, _, err := tr.Insert(data[:dim], core.UpdateOptions{Monitor: mon}); !errors.Is(err, core.ErrStopped) {
		t.Fatalf("insert with a stop request: %v, want ErrStopped", err)
	}
	if _, err := tr.WithinBatch(core.Batch[float64]{Count: n, Monitor: mon}, 0.1, false); !errors.Is(err, core.ErrStopped) {
		t.Fatalf("radius queries with a stop request: %v, want ErrStopped", err)
	}

	// A request made while a batch runs stops it well before the end.
	atomic.StoreInt64(&stop, 0)
	done = 0
	big := make([]float64, 200000*dim)
	for i := range big {
		big[i] = rng.Float64()
	}
	dist = make([]float64, 200000*10)
	idx = make([]int64, 200000*10)
	go func() {
		for atomic.LoadInt64(&done) < 1000 {
			time.Sleep(time.Millisecond)
		}
		atomic.StoreInt64(&stop, 1)
	}()
	err = tr.KNearestBatch(core.Batch[float64]{Points: big, Jobs: 2, Monitor: mon}, 10, dist, idx)
	if !errors.Is(err, core.ErrStopped) {
		t.Fatalf("a batch stopped midway returned %v, want ErrStopped", err)
	}
	if d := atomic.LoadInt64(&done); d >= 200000 {
		t.Fatalf("the stopped batch answered all %d queries", d)
	}
}
