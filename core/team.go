package core

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A team is a set of goroutines kept for the length of one construction
// that take parts of its parallel loops with little delay. forRange starts
// goroutines for each loop, and a goroutine started on an idle CPU takes
// tens of microseconds to run: the grid construction's loops over a level
// (a millisecond or less) mostly ended before their second worker began,
// so two threads built zip codes no faster than one. A team's workers wait
// for the next loop by spinning for a while (teamSpin) and only then
// sleep, so a loop handed to them while the construction keeps them busy
// starts within a fraction of a microsecond. Measured on the 2-core
// machine, two threads (process at real-time priority, so that other work
// on the machine did not take the second core; best of 9, alternated):
// bunny 0.032-0.034 -> 0.028-0.029 s, zip codes 0.029-0.031 -> 0.026-0.027,
// letter 0.282-0.285 -> 0.248-0.252, magic 0.098-0.101 -> 0.095-0.096.
//
// The caller takes parts too, and returns once every part is done; a
// worker that comes late finds none left. A panic in a part is re-raised
// in the caller's goroutine after the parts taken are done.
type team struct {
	helpers int
	task    atomic.Pointer[loop]
	quit    atomic.Bool
	wg      sync.WaitGroup
	// held is set while a goroutine that does not own the team (a batch
	// construction's task) runs a loop on it: see tryHold.
	held atomic.Bool

	mu       sync.Mutex
	wake     *sync.Cond
	sleepers int
}

// teamSpin is how long a worker spins for the next loop before it sleeps.
const teamSpin = 50 * time.Microsecond

// newTeam starts jobs-1 workers beside the caller (none for jobs <= 1 or
// a single CPU; the team then runs every part in the caller). Stop must
// be called when the construction is done.
func newTeam(jobs int) *team {
	tm := &team{helpers: workers(jobs) - 1}
	tm.wake = sync.NewCond(&tm.mu)
	for w := range tm.helpers {
		tm.wg.Add(1)
		go tm.work(w + 1)
	}
	return tm
}

// size returns the number of goroutines that take parts, the caller's
// included.
func (tm *team) size() int { return tm.helpers + 1 }

// tryHold reserves the team for the caller's loops and reports whether it
// did: goroutines that share one team take turns this way, and one that
// finds it held runs its loop alone. release gives it back.
func (tm *team) tryHold() bool { return tm.helpers > 0 && tm.held.CompareAndSwap(false, true) }

// release ends a reservation made by tryHold.
func (tm *team) release() { tm.held.Store(false) }

// run calls fn(w, p) for p = 0..parts-1 on the team, w numbering the
// goroutine (0 the caller's, below size()), and returns once all are done.
func (tm *team) run(parts int, fn func(w, part int)) {
	if tm.helpers == 0 || parts <= 1 {
		for p := range parts {
			fn(0, p)
		}
		return
	}
	tk := &loop{fn: fn, parts: int64(parts)}
	tm.task.Store(tk)
	tm.mu.Lock()
	if tm.sleepers > 0 {
		tm.wake.Broadcast()
	}
	tm.mu.Unlock()
	tk.take(0)
	for tk.done.Load() < tk.parts {
		runtime.Gosched()
	}
	tk.raise()
}

// stop ends the workers and waits for them.
func (tm *team) stop() {
	tm.quit.Store(true)
	tm.mu.Lock()
	tm.wake.Broadcast()
	tm.mu.Unlock()
	tm.wg.Wait()
}

// work is worker w's loop: wait for a task, take its parts, again.
func (tm *team) work(w int) {
	defer tm.wg.Done()
	var last *loop
	for {
		tk := tm.await(last)
		if tk == nil {
			return
		}
		tk.take(w)
		last = tk
	}
}

// await returns the first task other than last, spinning for teamSpin and
// then sleeping until one comes, or nil when the team stops.
func (tm *team) await(last *loop) *loop {
	start := time.Now()
	for spins := 0; ; spins++ {
		if tm.quit.Load() {
			return nil
		}
		if tk := tm.task.Load(); tk != last {
			return tk
		}
		if spins&255 == 255 {
			if time.Since(start) > teamSpin {
				break
			}
			runtime.Gosched()
		}
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.sleepers++
	defer func() { tm.sleepers-- }()
	for {
		if tm.quit.Load() {
			return nil
		}
		if tk := tm.task.Load(); tk != last {
			return tk
		}
		tm.wake.Wait()
	}
}

// forRange is forRange on the team: fn(w, lo, hi) over blocks [lo, hi)
// covering 0..n-1, w numbering the goroutine (below size()).
func (tm *team) forRange(n int, fn func(w, lo, hi int)) {
	if n <= 0 {
		return
	}
	grain, blocks := inBlocks(n, tm.size())
	if tm.helpers == 0 || blocks == 1 {
		fn(0, 0, n)
		return
	}
	tm.run(blocks, blockFn(n, grain, fn))
}

// forParts calls fn(p) for p = 0..parts-1 on the team.
func (tm *team) forParts(parts int, fn func(p int)) {
	tm.run(parts, func(_, p int) { fn(p) })
}
