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
	grain, blocks := inBlocks(n, jobs)
	jobs = min(jobs, blocks)
	if jobs == 1 {
		fn(0, 0, n)
		return
	}
	runLoop(jobs, &loop{fn: blockFn(n, grain, fn), parts: int64(blocks)})
}

// inBlocks returns the size and number of the blocks forRange hands out
// for n items on jobs goroutines.
func inBlocks(n, jobs int) (grain, blocks int) {
	grain = min(64, max(1, n/(8*jobs)))
	return grain, (n + grain - 1) / grain
}

// blockFn returns a loop's part function for block b of n items in
// blocks of grain: fn(w, lo, hi) on that block.
func blockFn(n, grain int, fn func(w, lo, hi int)) func(w, b int) {
	return func(w, b int) {
		lo := b * grain
		fn(w, lo, min(lo+grain, n))
	}
}

// loop is the state the goroutines of one parallel loop share: parts
// calls of fn, taken in order by whichever goroutine is free, each given
// the number of the goroutine that runs it (0 the caller's).
type loop struct {
	fn      func(w, part int)
	parts   int64
	next    atomic.Int64 // the next part to take
	done    atomic.Int64 // parts done (or skipped after a panic)
	failure atomic.Pointer[workerPanic]
	// finished, if not nil, is closed by the goroutine that does the last
	// part (for a caller that waits by blocking rather than spinning).
	finished chan struct{}
}

// runLoop starts jobs-1 goroutines beside the caller's for l, takes parts
// in the caller's goroutine too, and returns once every part is done,
// re-raising a panic.
func runLoop(jobs int, l *loop) {
	l.finished = make(chan struct{})
	for w := 1; w < jobs; w++ {
		go l.take(w)
	}
	l.take(0)
	if l.done.Load() < l.parts {
		<-l.finished
	}
	l.raise()
}

// take runs parts of l on goroutine w until none is left.
func (l *loop) take(w int) {
	for {
		p := l.next.Add(1) - 1
		if p >= l.parts {
			return
		}
		l.part(w, int(p))
	}
}

// part runs part p on goroutine w, recording a panic instead of raising
// it, and counts it done.
func (l *loop) part(w, p int) {
	defer func() {
		if v := recover(); v != nil {
			l.failure.CompareAndSwap(nil, &workerPanic{value: v, stack: debug.Stack()})
		}
		if l.done.Add(1) == l.parts && l.finished != nil {
			close(l.finished)
		}
	}()
	if l.failure.Load() == nil {
		l.fn(w, p)
	}
}

// raise re-raises, in the caller's goroutine, a panic of one of l's parts.
func (l *loop) raise() {
	if p := l.failure.Load(); p != nil {
		panic(p)
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
	runLoop(jobs, &loop{fn: func(_, p int) { fn(p) }, parts: int64(parts)})
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
