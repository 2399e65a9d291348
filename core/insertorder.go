package core

import (
	"math"
	"slices"
)

// curveOrder returns the indices 0..n-1 sorted along a Z-order (Morton)
// curve through the box of the n points pt(k) of dim coordinates: points
// close in the order are mostly close in space. Locating a batch in this
// order lets consecutive traversals read the same nodes while they are
// still in cache; the order changes no result, only the memory traffic.
//
// The curve interleaves up to 63 bits over the first min(dim, 21)
// coordinates (at least 3 bits each), which is enough to group the points
// of a batch by neighbourhood.
func curveOrder[T Float](n, dim int, pt func(k int) []T) []int32 {
	order := make([]int32, n)
	for k := range order {
		order[k] = int32(k)
	}
	if n < 2 {
		return order
	}
	axes := min(dim, 21)
	bits := 63 / axes
	lo := make([]float64, axes)
	hi := make([]float64, axes)
	for a := range axes {
		lo[a], hi[a] = math.Inf(1), math.Inf(-1)
	}
	for k := range n {
		p := pt(k)
		for a := range axes {
			v := float64(p[a])
			lo[a], hi[a] = min(lo[a], v), max(hi[a], v)
		}
	}
	scale := make([]float64, axes)
	top := float64(uint64(1)<<bits - 1)
	for a := range axes {
		if w := hi[a] - lo[a]; w > 0 && !math.IsInf(w, 0) {
			scale[a] = top / w
		}
	}
	keys := make([]uint64, n)
	cell := make([]uint64, axes)
	for k := range n {
		p := pt(k)
		for a := range axes {
			c := (float64(p[a]) - lo[a]) * scale[a]
			cell[a] = uint64(min(max(c, 0), top))
		}
		var key uint64
		for b := bits - 1; b >= 0; b-- {
			for a := range axes {
				key = key<<1 | (cell[a]>>b)&1
			}
		}
		keys[k] = key
	}
	slices.SortFunc(order, func(a, b int32) int {
		if keys[a] != keys[b] {
			if keys[a] < keys[b] {
				return -1
			}
			return 1
		}
		return int(a - b)
	})
	return order
}
