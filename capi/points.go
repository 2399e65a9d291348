package main

/*
#include <stdint.h>
*/
import "C"

import (
	"unsafe"

	"github.com/pcct-dev/pcct/core"
)

// pcct_tree_points copies the stored coordinates of the n caller indices
// at ids into out (n rows of the index's dimension, in its dtype), row i
// for ids[i], as the index stores them (normalised under the cosine
// metric). A caller index the index does not hold is an argument error
// naming it, and nothing is written.
//
//export pcct_tree_points
func pcct_tree_points(h C.uintptr_t, ids *C.int64_t, n C.int64_t, out unsafe.Pointer) C.int64_t {
	return guard(func() error {
		is, err := slice[int64](unsafe.Pointer(ids), int64(n))
		if err != nil {
			return err
		}
		return withTree(h, func(t *tree) error {
			if ix := t.i32(); ix != nil {
				return points(ix, is, out)
			}
			return points(t.i64(), is, out)
		})
	})
}

func points[T core.Float](t index[T], ids []int64, out unsafe.Pointer) error {
	for _, id := range ids {
		if !t.Has(int(id)) {
			return argErrorf("id %d is not in the tree", id)
		}
	}
	d := int64(t.Dim())
	dst, err := slice[T](out, int64(len(ids))*d)
	if err != nil {
		return err
	}
	for i, id := range ids {
		copy(dst[int64(i)*d:], t.Point(int(id)))
	}
	return nil
}
