package core

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// workers returns the number of goroutines to use for a requested job
// count: at least 1 and at most GOMAXPROCS, so that nothing allocated per
// worker grows with a request beyond the machine (a caller asking for 2^31
// jobs gets as many as there are CPUs).
func workers(jobs int) int { return min(max(jobs, 1), runtime.GOMAXPROCS(0)) }

// forRange calls fn(w, lo, hi) over blocks [lo, hi) covering 0..n-1, on at
// most jobs goroutines numbered w = 0, 1, ...; blocks are handed out as
// workers become free. Blocks hold up to 64 items, fewer when n is small
// for the workers (at least 8 blocks a worker), so that a loop over a few
// hundred costly items, such as a build's cells near the top of the tree,
// still spreads over all of them. A panic in a worker is re-raised in the
// caller's goroutine once all workers have stopped, so that the caller's
// recover sees it (errgroup itself does not recover).
func forRange(n, jobs int, fn func(w, lo, hi int)) {
	if n <= 0 {
		return
	}
	jobs = workers(jobs)
	grain := min(64, max(1, n/(8*jobs)))
	blocks := (n + grain - 1) / grain
	jobs = min(jobs, blocks)
	if jobs == 1 {
		fn(0, 0, n)
		return
	}
	var next atomic.Int64
	var failure atomic.Pointer[workerPanic]
	var g errgroup.Group
	g.SetLimit(jobs)
	for w := range jobs {
		g.Go(func() error {
			defer func() {
				if r := recover(); r != nil {
					failure.CompareAndSwap(nil, &workerPanic{value: r, stack: debug.Stack()})
				}
			}()
			for failure.Load() == nil {
				b := int(next.Add(1) - 1)
				if b >= blocks {
					return nil
				}
				fn(w, b*grain, min((b+1)*grain, n))
			}
			return nil
		})
	}
	g.Wait()
	if p := failure.Load(); p != nil {
		panic(p)
	}
}

// forParts calls fn(p) for p = 0..parts-1, each on its own goroutine, at
// most jobs at a time, re-raising a worker's panic like forRange. It suits
// a few large parts of similar size, such as the per-worker lists a
// forRange left behind.
func forParts(parts, jobs int, fn func(p int)) {
	if parts <= 0 {
		return
	}
	if workers(jobs) == 1 || parts == 1 {
		for p := range parts {
			fn(p)
		}
		return
	}
	var failure atomic.Pointer[workerPanic]
	var g errgroup.Group
	g.SetLimit(workers(jobs))
	for p := range parts {
		g.Go(func() error {
			defer func() {
				if r := recover(); r != nil {
					failure.CompareAndSwap(nil, &workerPanic{value: r, stack: debug.Stack()})
				}
			}()
			fn(p)
			return nil
		})
	}
	g.Wait()
	if p := failure.Load(); p != nil {
		panic(p)
	}
}

// workerPanic carries a worker's panic to the caller's goroutine.
type workerPanic struct {
	value any
	stack []byte
}

func (p *workerPanic) Error() string {
	return fmt.Sprintf("%v\n\nworker stack:\n%s", p.value, p.stack)
}

// catch converts a panic into an error for a library entry point, so that
// a bug surfaces as an error rather than killing the caller's process.
func catch(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("core: internal error: %v\n%s", r, debug.Stack())
	}
}

// sum returns the total of the per-worker counts.
func sum(counts []int64) int64 {
	var total int64
	for _, c := range counts {
		total += c
	}
	return total
}
