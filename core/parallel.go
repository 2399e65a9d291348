package core

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
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
// still spreads over all of them.
//
// The caller's goroutine is worker 0 and takes blocks from the start; the
// others are started beside it and take what is left when they get to
// run. forRange returns once every block is done, without waiting for a
// worker that has not taken one, so a loop of a few microseconds does not
// wait for goroutines to be scheduled (a worker that starts late finds
// nothing left and stops). A panic in fn is re-raised in the caller's
// goroutine once every block taken is done, so that the caller's recover
// sees it.
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
	r := &ranger{fn: fn, n: n, grain: grain, blocks: int64(blocks), finished: make(chan struct{})}
	r.run(jobs)
}

// ranger is the state forRange's workers share.
type ranger struct {
	fn       func(w, lo, hi int)
	n, grain int
	blocks   int64
	next     atomic.Int64 // the next block to take
	done     atomic.Int64 // blocks done (or skipped after a panic)
	failure  atomic.Pointer[workerPanic]
	finished chan struct{} // closed by the worker that does the last block
}

// run starts jobs-1 workers beside the caller's, takes blocks in the
// caller's goroutine too, and returns once every block is done, re-raising
// a panic.
func (r *ranger) run(jobs int) {
	for w := 1; w < jobs; w++ {
		go r.work(w)
	}
	r.work(0)
	if r.done.Load() < r.blocks {
		<-r.finished
	}
	if p := r.failure.Load(); p != nil {
		panic(p)
	}
}

// work takes blocks until none is left.
func (r *ranger) work(w int) {
	for {
		b := r.next.Add(1) - 1
		if b >= r.blocks {
			return
		}
		r.block(w, int(b))
	}
}

// block runs block b, recording a panic, and counts it done.
func (r *ranger) block(w, b int) {
	defer func() {
		if v := recover(); v != nil {
			r.failure.CompareAndSwap(nil, &workerPanic{value: v, stack: debug.Stack()})
		}
		if r.done.Add(1) == r.blocks {
			close(r.finished)
		}
	}()
	if r.failure.Load() == nil {
		lo := b * r.grain
		r.fn(w, lo, min(lo+r.grain, r.n))
	}
}

// forParts calls fn(p) for p = 0..parts-1 on at most jobs goroutines, the
// caller's among them, re-raising a panic like forRange. It suits a few
// large parts of similar size, such as the per-worker lists a forRange
// left behind.
func forParts(parts, jobs int, fn func(p int)) {
	if parts <= 0 {
		return
	}
	jobs = min(workers(jobs), parts)
	if jobs == 1 {
		for p := range parts {
			fn(p)
		}
		return
	}
	r := &ranger{fn: func(_, p, _ int) { fn(p) }, n: parts, grain: 1, blocks: int64(parts), finished: make(chan struct{})}
	r.run(jobs)
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
