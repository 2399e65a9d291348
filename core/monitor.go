package core

import (
	"errors"
	"sync/atomic"
)

// ErrStopped is returned by an operation stopped through its Monitor.
var ErrStopped = errors.New("core: stopped on request")

// A Monitor lets a caller watch a long operation and stop it: a build, an
// update or a batch of queries. Both fields are optional. They are plain
// int64 words accessed atomically, so that they may live in memory the
// caller shares with another thread (or language): a progress bar reads
// Done while the operation runs, and an interrupt handler sets Stop.
type Monitor struct {
	// Done, if not nil, is increased as work completes: by the queries
	// answered, or by the points inserted or deleted.
	Done *int64
	// Stop, if not nil, is polled between blocks of work; once it is not
	// zero the operation returns ErrStopped, leaving no partial result (a
	// stopped update makes no new version).
	Stop *int64
}

// add records n more units of work done.
func (m *Monitor) add(n int) {
	if m != nil && m.Done != nil {
		atomic.AddInt64(m.Done, int64(n))
	}
}

// stopped reports whether the caller asked to stop.
func (m *Monitor) stopped() bool {
	return m != nil && m.Stop != nil && atomic.LoadInt64(m.Stop) != 0
}
