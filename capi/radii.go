package main

/*
#include <stdint.h>
*/
import "C"

import "unsafe"

// pcct_radius_each is pcct_radius with one radius per query, radii (n
// doubles, each >= 0): of n query points of dimension d at q; or, when q
// is NULL, of the tree's own points with the n caller indices at ids, or
// first..first+n-1 when ids is NULL too, each left out of its own answer.
// It runs on the CPU whatever the device, on a tree or a brute-force
// index.
//
//export pcct_radius_each
func pcct_radius_each(h C.uintptr_t, q unsafe.Pointer, ids *C.int64_t, first, n, d C.int64_t, radii *C.double, sorted, jobs C.int32_t, control *C.int64_t, limit C.int64_t, counts *C.int64_t, result *C.uintptr_t, total *C.int64_t) C.int64_t {
	if radii == nil && n > 0 {
		return status(argErrorf("pcct: null radius buffer"))
	}
	src := source{q: q, ids: ids, first: int64(first), n: int64(n), d: int64(d), jobs: jobs, control: control, limit: int64(limit), radii: radii}
	return radiusExport(h, src, 0, sorted, counts, result, total)
}

// pcct_radius_count_each is pcct_radius_count with one radius per query,
// radii (n doubles, each >= 0).
//
//export pcct_radius_count_each
func pcct_radius_count_each(h C.uintptr_t, q unsafe.Pointer, ids *C.int64_t, first, n, d C.int64_t, radii *C.double, jobs C.int32_t, control *C.int64_t, counts *C.int64_t) C.int64_t {
	if radii == nil && n > 0 {
		return status(argErrorf("pcct: null radius buffer"))
	}
	return guard(func() error {
		src := source{q: q, ids: ids, first: int64(first), n: int64(n), d: int64(d), jobs: jobs, control: control, radii: radii}
		return withTree(h, func(t *tree) error {
			if ix := t.i32(); ix != nil {
				return count(ix, src, 0, counts)
			}
			return count(t.i64(), src, 0, counts)
		})
	})
}
