package main

/*
#include <stdint.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"

	"github.com/pcct-dev/pcct/core"
)

// Updates never change a tree: they return a handle to a new version, and
// the old handle keeps answering as before until it is freed. A snapshot is
// therefore just a handle kept.

// pcct_tree_insert inserts n points of dimension d (row-major at x, in the
// tree's dtype) into the tree h, on jobs goroutines. It stores the new
// version's handle in out and the first new caller index in first; the
// new points have caller indices first..first+n-1. control, which may be
// NULL, is the call's pair of control words (see monitor).
//
//export pcct_tree_insert
func pcct_tree_insert(h C.uintptr_t, x unsafe.Pointer, n, d C.int64_t, jobs C.int32_t, control *C.int64_t, out *C.uintptr_t, first *C.int64_t) C.int64_t {
	return guard(func() error {
		if out == nil || first == nil {
			return argErrorf("pcct: null output")
		}
		if err := checkShape(int64(n), int64(d)); err != nil {
			return err
		}
		return withTree(h, func(t *tree) error {
			since := heapAllocs()
			nt := &tree{}
			var f int
			opts := core.UpdateOptions{Jobs: int(jobs), Monitor: monitor(control)}
			err := offCaller(jobs, int64(n), func() (err error) {
				switch {
				case t.f32 != nil:
					nt.f32, f, err = insert(t.f32, x, int64(n), int64(d), opts)
				case t.f64 != nil:
					nt.f64, f, err = insert(t.f64, x, int64(n), int64(d), opts)
				case t.b32 != nil:
					nt.b32, f, err = insert(t.b32, x, int64(n), int64(d), opts)
				default:
					nt.b64, f, err = insert(t.b64, x, int64(n), int64(d), opts)
				}
				return err
			})
			if err != nil {
				return err
			}
			*out = C.uintptr_t(cgo.NewHandle(nt))
			*first = C.int64_t(f)
			releaseAllocated(since)
			return nil
		})
	})
}

// updatable is an index (a *core.Tree or a *core.BruteForce) whose updates
// return the same kind of index.
type updatable[T core.Float, I any] interface {
	Dim() int
	Insert(points []T, opts core.UpdateOptions) (I, int, error)
}

func insert[T core.Float, I updatable[T, I]](t I, x unsafe.Pointer, n, d int64, opts core.UpdateOptions) (I, int, error) {
	var none I
	if int(d) != t.Dim() {
		return none, 0, argErrorf("X has %d features, but this tree was fitted with %d features", d, t.Dim())
	}
	data, err := slice[T](x, n*d)
	if err != nil {
		return none, 0, err
	}
	nt, first, err := t.Insert(data, opts)
	if err != nil {
		return none, 0, argError{err}
	}
	return nt, first, nil
}

// pcct_tree_delete removes the n caller indices at ids from the tree h, on
// jobs goroutines, and stores the new version's handle in out. control,
// which may be NULL, is the call's pair of control words (see monitor).
//
//export pcct_tree_delete
func pcct_tree_delete(h C.uintptr_t, ids *C.int64_t, n C.int64_t, jobs C.int32_t, control *C.int64_t, out *C.uintptr_t) C.int64_t {
	return guard(func() error {
		if out == nil {
			return argErrorf("pcct: null output")
		}
		is, err := slice[int64](unsafe.Pointer(ids), int64(n))
		if err != nil {
			return err
		}
		return withTree(h, func(t *tree) error {
			since := heapAllocs()
			nt := &tree{}
			opts := core.UpdateOptions{Jobs: int(jobs), Monitor: monitor(control)}
			err := offCaller(jobs, int64(n), func() (err error) {
				switch {
				case t.f32 != nil:
					nt.f32, err = t.f32.Delete(is, opts)
				case t.f64 != nil:
					nt.f64, err = t.f64.Delete(is, opts)
				case t.b32 != nil:
					nt.b32, err = t.b32.Delete(is, opts)
				default:
					nt.b64, err = t.b64.Delete(is, opts)
				}
				return err
			})
			if err != nil {
				return argError{err}
			}
			*out = C.uintptr_t(cgo.NewHandle(nt))
			releaseAllocated(since)
			return nil
		})
	})
}

// pcct_tree_live_ids writes up to n of the caller indices the tree holds,
// ascending, to out, and their number to *written.
//
//export pcct_tree_live_ids
func pcct_tree_live_ids(h C.uintptr_t, out *C.int64_t, n C.int64_t, written *C.int64_t) C.int64_t {
	return guard(func() error {
		return withTree(h, func(t *tree) error {
			var ids []int64
			if i := t.i32(); i != nil {
				ids = i.LiveIDs(nil)
			} else {
				ids = t.i64().LiveIDs(nil)
			}
			if written != nil {
				*written = C.int64_t(len(ids))
			}
			dst, err := slice[int64](unsafe.Pointer(out), min(int64(n), int64(len(ids))))
			if err != nil {
				return err
			}
			copy(dst, ids)
			return nil
		})
	})
}
