package core

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
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

// TestForRange checks that forRange hands every item to exactly one call,
// with worker numbers below the job count, whether the workers it starts
// get to run or the caller does every block itself; and that a panic in
// any block reaches the caller after the blocks taken are done.
func TestForRange(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	for _, jobs := range []int{1, 2, 3, 8} {
		for _, n := range []int{0, 1, 5, 63, 64, 65, 1000, 100_000} {
			seen := make([]atomic.Int32, n)
			var bad atomic.Int32
			forRange(n, jobs, func(w, lo, hi int) {
				if w < 0 || w >= min(jobs, procs) || lo >= hi || hi > n {
					bad.Add(1)
				}
				for i := lo; i < hi; i++ {
					seen[i].Add(1)
				}
			})
			if bad.Load() != 0 {
				t.Fatalf("jobs=%d n=%d: %d calls out of range", jobs, n, bad.Load())
			}
			for i := range seen {
				if c := seen[i].Load(); c != 1 {
					t.Fatalf("jobs=%d n=%d: item %d handed out %d times", jobs, n, i, c)
				}
			}
		}
		for _, at := range []int{0, 500, 999} {
			var running atomic.Int32
			got := func() (v any) {
				defer func() { v = recover() }()
				forRange(1000, jobs, func(_, lo, hi int) {
					running.Add(1)
					defer running.Add(-1)
					if lo <= at && at < hi {
						panic("boom")
					}
					time.Sleep(10 * time.Microsecond)
				})
				return nil
			}()
			if p, ok := got.(*workerPanic); ok {
				got = p.value // raised in another goroutine
			}
			if got != "boom" {
				t.Fatalf("jobs=%d: panic at %d recovered as %v, want the worker's", jobs, at, got)
			}
			if r := running.Load(); r != 0 {
				t.Fatalf("jobs=%d: %d blocks still running after forRange panicked", jobs, r)
			}
		}
	}
}

// TestForParts checks that forParts calls fn once for every part, on at
// most jobs goroutines at a time, and re-raises a part's panic after the
// parts taken are done.
func TestForParts(t *testing.T) {
	for _, jobs := range []int{1, 2, 4} {
		for _, parts := range []int{0, 1, 2, 3, 17} {
			seen := make([]atomic.Int32, parts)
			var running, most atomic.Int32
			forParts(parts, jobs, func(p int) {
				r := running.Add(1)
				for {
					m := most.Load()
					if r <= m || most.CompareAndSwap(m, r) {
						break
					}
				}
				time.Sleep(20 * time.Microsecond)
				seen[p].Add(1)
				running.Add(-1)
			})
			for p := range seen {
				if c := seen[p].Load(); c != 1 {
					t.Fatalf("jobs=%d parts=%d: part %d called %d times", jobs, parts, p, c)
				}
			}
			if m := int(most.Load()); m > max(1, min(jobs, runtime.GOMAXPROCS(0))) {
				t.Fatalf("jobs=%d parts=%d: %d parts ran at once", jobs, parts, m)
			}
		}
		got := func() (v any) {
			defer func() { v = recover() }()
			forParts(5, jobs, func(p int) {
				if p == 3 {
					panic("boom")
				}
			})
			return nil
		}()
		if p, ok := got.(*workerPanic); ok {
			got = p.value
		}
		if got != "boom" {
			t.Fatalf("jobs=%d: panic recovered as %v", jobs, got)
		}
	}
}

// TestTeam checks that a team runs every part of every loop exactly once,
// loops handed out one after another (the workers spinning) and after the
// workers have gone to sleep; that a part's panic reaches the caller after
// the parts taken are done; and that stop ends the workers.
func TestTeam(t *testing.T) {
	for _, jobs := range []int{1, 2, 4} {
		tm := newTeam(jobs)
		for loop := range 300 {
			parts := 1 + loop%7
			seen := make([]atomic.Int32, parts)
			var bad atomic.Int32
			tm.run(parts, func(w, p int) {
				if w < 0 || w >= tm.size() {
					bad.Add(1)
				}
				seen[p].Add(1)
			})
			if bad.Load() != 0 {
				t.Fatalf("jobs=%d loop %d: a worker number out of range", jobs, loop)
			}
			for p := range seen {
				if c := seen[p].Load(); c != 1 {
					t.Fatalf("jobs=%d loop %d: part %d ran %d times", jobs, loop, p, c)
				}
			}
			if loop%100 == 99 {
				time.Sleep(3 * teamSpin) // the workers sleep
			}
		}
		var running atomic.Int32
		got := func() (v any) {
			defer func() { v = recover() }()
			tm.run(6, func(_, p int) {
				running.Add(1)
				defer running.Add(-1)
				if p == 3 {
					panic("boom")
				}
				time.Sleep(20 * time.Microsecond)
			})
			return nil
		}()
		if p, ok := got.(*workerPanic); ok {
			got = p.value
		}
		if got != "boom" {
			t.Fatalf("jobs=%d: panic recovered as %v, want the part's", jobs, got)
		}
		if r := running.Load(); r != 0 {
			t.Fatalf("jobs=%d: %d parts still running after run panicked", jobs, r)
		}
		tm.stop()
	}
}
