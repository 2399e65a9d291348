package core

import (
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Independent subtrees of the batch construction.
//
// A call of the batch construction whose far set is empty places every
// point it holds and hands none back (its far points are the only ones a
// call can return), and no other call holds any of its points: its subtree
// depends on nothing the rest of the construction does, and nothing else
// depends on it. Such a call of batchTaskMin points or more is copied out
// and built as a task by another goroutine while the recursion goes on;
// every choice inside it is the one the sequential recursion makes, so the
// tree does not depend on the number of threads or on which goroutine
// builds which subtree. Each goroutine has its own sets, buffers and
// counts (a batchBuilder of its own); the rows of the points a task holds
// are written by that task alone.
//
// Such calls appear where the data fall apart into groups farther from
// each other than the levels' radii, such as clusters; on the real 10- and
// 16-dimensional sets every call shares far points with its siblings down
// to a few points (letter, magic and pendigits: none of 4 points or more),
// and their recursion stays sequential.

// batchTaskMin is the fewest points a call must hold to be built as a task.
// A task costs a copy of its points and a hand-over (a few microseconds);
// a call of 1,024 points measures at least that many distances on each of
// its levels.
const batchTaskMin = 1024

// batchTask is an independent call: node p at level i with its near set.
type batchTask[T Float] struct {
	p    int32
	i    int32
	near batchSet[T]
}

// batchPool holds the tasks waiting and the state the goroutines of one
// batch construction share. The lock is taken once a task, never in the
// recursion itself.
type batchPool[T Float] struct {
	mu      sync.Mutex
	wake    *sync.Cond
	tasks   []batchTask[T] // waiting, the last taken first
	pending int            // tasks waiting or being built
	made    int            // tasks handed out
	closed  bool           // the recursion that hands out tasks is done
	ended   bool           // finish was reached (read by the caller's goroutine only)
	wg      sync.WaitGroup

	busy    atomic.Int64 // tasks waiting or being built, read without the lock
	idle    atomic.Int64 // goroutines waiting for a task (their CPUs are free)
	spent   atomic.Int64 // evaluations passed on by the goroutines (for MaxEvals)
	failed  atomic.Pointer[error]
	panicky atomic.Pointer[workerPanic] // the first panic of a task
	helpers []*batchBuilder[T]
}

// newBatchPool returns a pool whose helpers (helpers goroutines, each
// with a builder made by fork) wait for tasks; the caller's goroutine joins
// them in finish, and stop must be called in any case.
func newBatchPool[T Float](helpers int, fork func(*batchPool[T]) *batchBuilder[T]) *batchPool[T] {
	pl := &batchPool[T]{}
	pl.wake = sync.NewCond(&pl.mu)
	pl.helpers = make([]*batchBuilder[T], helpers)
	for k := range pl.helpers {
		w := fork(pl)
		pl.helpers[k] = w
		pl.wg.Add(1)
		go func() {
			defer pl.wg.Done()
			pl.work(w)
		}()
	}
	return pl
}

// push hands out the call of node p at level i with near set near (copied:
// the caller's storage is released when it returns).
func (pl *batchPool[T]) push(p, i int32, near batchSet[T]) {
	t := batchTask[T]{p: p, i: i, near: batchSet[T]{e: append([]batchEntry(nil), near.e...), c: append([]T(nil), near.c...), p: append([]float32(nil), near.p...)}}
	pl.busy.Add(1)
	pl.mu.Lock()
	pl.tasks = append(pl.tasks, t)
	pl.pending++
	pl.made++
	pl.mu.Unlock()
	pl.wake.Signal()
}

// next returns the next task, waiting for one while any may come, and
// false once none is waiting or being built and no more can come.
func (pl *batchPool[T]) next() (batchTask[T], bool) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for len(pl.tasks) == 0 && !(pl.closed && pl.pending == 0) {
		pl.idle.Add(1)
		pl.wake.Wait()
		pl.idle.Add(-1)
	}
	if len(pl.tasks) == 0 {
		return batchTask[T]{}, false
	}
	t := pl.tasks[len(pl.tasks)-1]
	pl.tasks[len(pl.tasks)-1] = batchTask[T]{}
	pl.tasks = pl.tasks[:len(pl.tasks)-1]
	return t, true
}

// work builds tasks with builder b until none is left.
func (pl *batchPool[T]) work(b *batchBuilder[T]) {
	for {
		t, ok := pl.next()
		if !ok {
			return
		}
		pl.run(b, t)
		pl.busy.Add(-1)
		pl.mu.Lock()
		pl.pending--
		last := pl.pending == 0 && pl.closed
		pl.mu.Unlock()
		if last {
			pl.wake.Broadcast()
		}
	}
}

// run builds task t with b, recording an error or a panic instead of
// raising it (the panic is raised again in the caller's goroutine by
// finish).
func (pl *batchPool[T]) run(b *batchBuilder[T], t batchTask[T]) {
	defer func() {
		if v := recover(); v != nil {
			pl.panicky.CompareAndSwap(nil, &workerPanic{value: v, stack: debug.Stack()})
			pl.fail(errBatchAborted)
		}
	}()
	if pl.failed.Load() != nil {
		return
	}
	b.task(t)
	if b.err != nil {
		pl.fail(b.err)
	}
}

// errBatchAborted stops the tasks of a construction that has failed.
var errBatchAborted = errors.New("core: batch construction aborted")

// finish is called by the recursion's goroutine when it is done: it builds
// tasks with b until all are built, waits for the helpers, and re-raises a
// task's panic.
func (pl *batchPool[T]) finish(b *batchBuilder[T]) {
	pl.ended = true
	pl.close()
	pl.work(b)
	pl.wg.Wait()
	if p := pl.panicky.Load(); p != nil {
		panic(p)
	}
}

// close tells the helpers that no more tasks come from the recursion.
func (pl *batchPool[T]) close() {
	pl.mu.Lock()
	pl.closed = true
	pl.mu.Unlock()
	pl.wake.Broadcast()
}

// stop ends the helpers if finish was not reached (the recursion failed or
// panicked): the tasks left are dropped.
func (pl *batchPool[T]) stop() {
	if pl.ended {
		return
	}
	pl.fail(errBatchAborted)
	pl.close()
	pl.wg.Wait()
}

// fail records the first error of any goroutine.
func (pl *batchPool[T]) fail(err error) {
	pl.failed.CompareAndSwap(nil, &err)
}

// err returns the error recorded, if any.
func (pl *batchPool[T]) err() error {
	if e := pl.failed.Load(); e != nil {
		return *e
	}
	return nil
}
