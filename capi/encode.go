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

// pcct_tree_encode serializes the tree h in pcct's versioned binary format
// (core.Tree.Encode, or core.BruteForce.Encode for a brute-force index). It stores the size in bytes in *size and a result
// handle in *result, to be passed to pcct_bytes_fill (or pcct_result_free).
//
//export pcct_tree_encode
func pcct_tree_encode(h C.uintptr_t, result *C.uintptr_t, size *C.int64_t) C.int64_t {
	return guard(func() error {
		if result == nil || size == nil {
			return argErrorf("pcct: null output")
		}
		return withTree(h, func(t *tree) error {
			var b []byte
			if i := t.i32(); i != nil {
				b = i.Encode()
			} else {
				b = t.i64().Encode()
			}
			*size = C.int64_t(len(b))
			*result = C.uintptr_t(cgo.NewHandle(&encoded{b}))
			return nil
		})
	})
}

// encoded is what an encoding's result handle holds until it is copied.
type encoded struct{ b []byte }

// pcct_bytes_fill copies an encoded tree into buf, which has room for the
// size pcct_tree_encode reported, and frees the result handle.
//
//export pcct_bytes_fill
func pcct_bytes_fill(result C.uintptr_t, buf unsafe.Pointer) C.int64_t {
	return guard(func() error {
		if result == 0 {
			return argErrorf("pcct: null result handle")
		}
		v, err := handleValue(result)
		if err != nil {
			return err
		}
		e, ok := v.(*encoded)
		if !ok {
			return argErrorf("pcct: handle %d is not an encoded tree", uintptr(result))
		}
		dst, err := slice[byte](buf, int64(len(e.b)))
		if err != nil {
			return err
		}
		copy(dst, e.b)
		cgo.Handle(result).Delete()
		releaseAfter(int64(len(e.b)))
		return nil
	})
}

// pcct_tree_decode reads size bytes at buf, written by pcct_tree_encode
// for a tree or a brute-force index of the given dtype (0 float32, 1
// float64), and stores the new handle in out. A damaged or truncated
// encoding is an error.
//
//export pcct_tree_decode
func pcct_tree_decode(buf unsafe.Pointer, size C.int64_t, dtype C.int32_t, out *C.uintptr_t) C.int64_t {
	return guard(func() error {
		if out == nil {
			return argErrorf("pcct: null output handle")
		}
		data, err := slice[byte](buf, int64(size))
		if err != nil {
			return err
		}
		t := &tree{}
		flat := core.IsBruteForceEncoding(data)
		switch {
		case dtype == dtypeFloat32 && flat:
			t.b32, err = core.DecodeBruteForce[float32](data)
		case dtype == dtypeFloat64 && flat:
			t.b64, err = core.DecodeBruteForce[float64](data)
		case dtype == dtypeFloat32:
			t.f32, err = core.Decode[float32](data)
		case dtype == dtypeFloat64:
			t.f64, err = core.Decode[float64](data)
		default:
			return argErrorf("pcct: unknown dtype code %d", dtype)
		}
		if err != nil {
			return argError{err}
		}
		*out = C.uintptr_t(cgo.NewHandle(t))
		// The decoder's transient copies: of the data, and of the map from
		// caller index to node (8 bytes per 256 indices issued, built twice).
		var ids int
		if i := t.i32(); i != nil {
			ids = i.IDs()
		} else {
			ids = t.i64().IDs()
		}
		releaseAfter(int64(size)*4 + int64(ids)/16)
		return nil
	})
}
