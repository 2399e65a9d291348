// Command capi is pcct's C ABI, built with
//
//	go build -buildmode=c-shared -o libpcct.so ./capi
//
// It holds no algorithm: it checks arguments, converts C buffers to Go
// slices (never keeping them past a call), turns trees and results into
// runtime/cgo.Handle values, and converts errors and panics into status
// codes. Every exported function returns 0 on success or a positive error
// ticket; pcct_error_message takes the ticket and returns the message and
// its kind. The Python package is the only intended caller.
package main

/*
#include <stdint.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"unsafe"

	"github.com/pcct-dev/pcct/core"
)

func main() {}

// monitor views a caller's control words as a core.Monitor: control[0]
// counts the work done (queries answered, points inserted or deleted) and
// a non-zero control[1] asks the call to stop (the call then fails with
// error kind 4). control[0] is only ever increased, so a caller can carry
// one count across several calls. The caller reads control[0] and writes
// control[1] from another thread while the call runs; core accesses both
// atomically. A NULL control means no monitoring.
func monitor(control *C.int64_t) *core.Monitor {
	if control == nil {
		return nil
	}
	words := unsafe.Slice((*int64)(unsafe.Pointer(control)), 2)
	return &core.Monitor{Done: &words[0], Stop: &words[1]}
}

// Error kinds, mapped to Python exceptions by the package.
const (
	kindValue    = 1 // ValueError: the arguments are wrong
	kindInternal = 2 // RuntimeError: a bug, including a recovered panic
	kindMemory   = 3 // MemoryError
	kindStopped  = 4 // the caller stopped the call through its control words
	kindLimit    = 5 // a radius batch found more answers than its limit
)

// Dtype codes.
const (
	dtypeFloat32 = 0
	dtypeFloat64 = 1
)

// argError marks an error caused by the caller's arguments.
type argError struct{ error }

func argErrorf(format string, args ...any) error {
	return argError{fmt.Errorf(format, args...)}
}

// errorTickets holds messages until the caller fetches them.
type errorTickets struct {
	mu   sync.Mutex
	next int64
	msgs map[int64]ticket
}

type ticket struct {
	kind int32
	msg  string
}

// tickets is the C ABI's one piece of process state besides cgo handles: C
// callers cannot hold Go values, so messages wait here for the second call.
var tickets = errorTickets{msgs: map[int64]ticket{}}

func (e *errorTickets) put(kind int32, msg string) C.int64_t {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.next++
	e.msgs[e.next] = ticket{kind: kind, msg: msg}
	return C.int64_t(e.next)
}

func (e *errorTickets) peek(id int64) (ticket, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.msgs[id]
	return t, ok
}

func (e *errorTickets) take(id int64) (ticket, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.msgs[id]
	delete(e.msgs, id)
	return t, ok
}

// status converts an error into a status code.
func status(err error) C.int64_t {
	if err == nil {
		return 0
	}
	var ae argError
	if errors.Is(err, core.ErrTooManyAnswers) || (errors.As(err, &ae) && errors.Is(ae.error, core.ErrTooManyAnswers)) {
		return tickets.put(kindLimit, err.Error())
	}
	if errors.As(err, &ae) {
		if errors.Is(ae.error, core.ErrStopped) {
			return tickets.put(kindStopped, ae.Error())
		}
		return tickets.put(kindValue, ae.Error())
	}
	if errors.Is(err, core.ErrStopped) {
		return tickets.put(kindStopped, err.Error())
	}
	return tickets.put(kindInternal, err.Error())
}

// releaseBytes is the memory a call must have used for a while (an
// estimate: see releaseAfter's callers) before it returns what it freed to
// the operating system. Below it the forced collection would cost more
// than it gives back.
const releaseBytes = 32 << 20

// Rough bytes a call holds for a while per unit of its work, for
// releaseAfter: a radius answer is a float64 and an int32 in Go.
const (
	transientPerAnswer = 12
	transientPerNode   = 128 // a freed version's node record and lists
)

// releaseAfter returns the memory Go freed to the operating system after a
// call that used about used bytes for a while (see releaseBytes). Go's
// background scavenger would otherwise keep most of a large call's peak
// for minutes.
func releaseAfter(used int64) {
	if used >= releaseBytes {
		debug.FreeOSMemory()
	}
}

// heapAllocs returns the bytes Go has allocated on its heap since the
// process started (cumulative).
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// releaseAllocated is releaseAfter for a build or an update that began
// when heapAllocs was since: what it allocated, measured, is what it may
// have left behind. (A forced collection costs a few milliseconds even on
// a small heap: a fixed estimate per point made it a sixth of a 3-D
// build's time.)
func releaseAllocated(since uint64) {
	releaseAfter(int64(heapAllocs() - since))
}

// guard runs fn, converting a panic into an error ticket: a Go panic must
// never unwind into C (it would kill the host process). A panic that
// offCaller carried over from its goroutine is reported with that
// goroutine's stack.
func guard(fn func() error) (st C.int64_t) {
	defer func() {
		if r := recover(); r != nil {
			stack := debug.Stack()
			if p, ok := r.(offPanic); ok {
				r, stack = p.value, p.stack
			}
			kind := int32(kindInternal)
			if e, ok := r.(runtime.Error); ok && strings.Contains(e.Error(), "makeslice") {
				kind = kindMemory // an allocation too large to attempt
			}
			st = tickets.put(kind, fmt.Sprintf("pcct: internal error: %v\n%s", r, stack))
		}
	}()
	return status(fn())
}

// offCallerWork is the least work (points built, inserted or deleted) for
// which a call on several goroutines runs off the caller's thread (see
// offCaller): moving there and back cost 24-43 µs on the 2-core
// development machine (a trivial call, pcct_tree_shape, took 0.25 µs on
// the caller's thread), where a build of 5,000 points in two or three
// dimensions took 3-6 ms on one thread (BenchmarkBuildSmall).
const offCallerWork = 4096

// offCaller returns fn's error, having run fn on a goroutine of its own
// (and waited for it) where the call may use several threads (jobs > 1,
// and more than one processor) on at least offCallerWork points, or in the
// calling goroutine otherwise. A panic in fn is raised again in the
// calling goroutine, as an offPanic, for guard to report. The dense
// index's builds and updates call it (updates of a tenth of the real sets
// on two threads read the same either way, within the noise).
//
// A call from C runs on the caller's thread, and the runtime locks the
// goroutine to that thread for the call. Each time such a goroutine waits
// (a team's loop yielding while its helpers finish their parts, a
// forRange waiting for its last block), the runtime hands its processor to
// another thread and takes it back when the goroutine may go on: two
// wake-ups of sleeping threads, where an unlocked goroutine just yields.
// A two-thread build of bunny waits for 209 parallel loops, of zip codes
// 317 (counted): through Python, bunny's fit took 23-24 ms and zip codes'
// 25-26 (slower than on one thread, 22-24), where a Go test built bunny
// in 15-17 (best of 30); off the caller's thread, 17 and 16-18 ms (best
// of 7, two alternated runs). A query batch waits once or twice: its
// later batches read the same either way, and the first, which makes the
// search layout, was no faster (magic 1-4 ms slower in three runs out of
// three), so queries stay on the caller's thread.
func offCaller(jobs C.int32_t, work int64, fn func() error) error {
	if jobs <= 1 || work < offCallerWork || runtime.GOMAXPROCS(0) == 1 {
		return fn()
	}
	return runOff(fn)
}

// runOff is offCaller's move: fn run on a goroutine of its own, waited for.
func runOff(fn func() error) error {
	type result struct {
		err   error
		panic *offPanic
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if v := recover(); v != nil {
				r.panic = &offPanic{value: v, stack: debug.Stack()}
			}
			done <- r
		}()
		r.err = fn()
	}()
	r := <-done
	if r.panic != nil {
		panic(*r.panic)
	}
	return r.err
}

// offPanic is a panic raised in offCaller's goroutine: its value and that
// goroutine's stack.
type offPanic struct {
	value any
	stack []byte
}

// pcct_error_message copies the message of an error ticket into buf (at
// most capacity-1 bytes and a NUL), stores its kind, forgets the ticket,
// and returns the message's full length in bytes, or -1 for an unknown
// ticket. With a NULL buf it only reports the length and kind, and keeps
// the ticket, so that a caller can size its buffer.
//
//export pcct_error_message
func pcct_error_message(id C.int64_t, buf *C.char, capacity C.int64_t, kind *C.int32_t) C.int64_t {
	t, ok := tickets.peek(int64(id))
	if !ok {
		return -1
	}
	if buf != nil {
		tickets.take(int64(id))
	}
	if kind != nil {
		*kind = C.int32_t(t.kind)
	}
	if buf != nil && capacity > 0 {
		dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(capacity))
		n := copy(dst[:len(dst)-1], t.msg)
		dst[n] = 0
	}
	return C.int64_t(len(t.msg))
}
