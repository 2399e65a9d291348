package main

/*
#include <stdint.h>

// A distance computed by the caller (a Python function, through ctypes):
// d values of the tree's dtype at a and at b. The pointers are valid only
// during the call.
typedef double (*pcct_distance_fn)(const void *a, const void *b, int64_t d);

static double pcct_call_distance(uintptr_t fn, const void *a, const void *b, int64_t d) {
	return ((pcct_distance_fn)fn)(a, b, d);
}
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"

	"github.com/pcct-dev/pcct/core"
)

// callback is a core.Distancer that calls the caller's C function.
type callback[T core.Float] struct{ fn C.uintptr_t }

// Distance calls the function with the two rows. Their memory holds no Go
// pointers, so C may read it for the length of the call.
func (c callback[T]) Distance(a, b []T) float64 {
	return float64(C.pcct_call_distance(c.fn, unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b)), C.int64_t(len(a))))
}

// callbackMetric returns the custom metric of the C function fn for a tree
// of the dtype, called name.
func callbackMetric(dtype C.int32_t, fn C.uintptr_t, name *C.char) (core.Metric, error) {
	if fn == 0 {
		return core.Metric{}, argErrorf("pcct: null distance function")
	}
	n := "callback"
	if name != nil {
		n = C.GoString(name)
	}
	switch dtype {
	case dtypeFloat32:
		return core.NewCustom[float32](n, callback[float32]{fn}), nil
	case dtypeFloat64:
		return core.NewCustom[float64](n, callback[float64]{fn}), nil
	}
	return core.Metric{}, argErrorf("pcct: unknown dtype code %d", dtype)
}

// pcct_tree_build_callback is pcct_tree_build with a distance computed by
// the caller's function fn (a pcct_distance_fn), called name in messages.
// The function must be a true metric and stay valid while any version of
// the tree lives; it is called from many threads at once.
//
//export pcct_tree_build_callback
func pcct_tree_build_callback(x unsafe.Pointer, dtype C.int32_t, n, d C.int64_t, fn C.uintptr_t, name *C.char, seed C.uint64_t, jobs C.int32_t, control *C.int64_t, out *C.uintptr_t) C.int64_t {
	return guard(func() error {
		m, err := callbackMetric(dtype, fn, name)
		if err != nil {
			return err
		}
		return buildWith(x, dtype, n, d, m, seed, jobs, C.int32_t(core.CoverTree), control, out, nil)
	})
}

// pcct_tree_decode_callback is pcct_tree_decode for a tree built by
// pcct_tree_build_callback, given its distance function again.
//
//export pcct_tree_decode_callback
func pcct_tree_decode_callback(buf unsafe.Pointer, size C.int64_t, dtype C.int32_t, fn C.uintptr_t, name *C.char, out *C.uintptr_t) C.int64_t {
	return guard(func() error {
		if out == nil {
			return argErrorf("pcct: null output handle")
		}
		data, err := slice[byte](buf, int64(size))
		if err != nil {
			return err
		}
		m, err := callbackMetric(dtype, fn, name)
		if err != nil {
			return err
		}
		t := &tree{}
		if dtype == dtypeFloat32 {
			t.f32, err = core.DecodeWith[float32](data, m)
		} else {
			t.f64, err = core.DecodeWith[float64](data, m)
		}
		if err != nil {
			return argError{err}
		}
		*out = C.uintptr_t(cgo.NewHandle(t))
		return nil
	})
}
