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
	type curveKey struct {
		key uint64
		k   int32
	}
	keys := make([]curveKey, n)
	cell := make([]uint64, axes)
	for k := range n {
		p := pt(k)
		for a := range axes {
			c := (float64(p[a]) - lo[a]) * scale[a]
			cell[a] = uint64(min(max(c, 0), top))
		}
		var key uint64
		switch axes {
		case 2:
			key = spread2(cell[0])<<1 | spread2(cell[1])
		case 3:
			key = spread3(cell[0])<<2 | spread3(cell[1])<<1 | spread3(cell[2])
		default:
			for b := bits - 1; b >= 0; b-- {
				for a := range axes {
					key = key<<1 | (cell[a]>>b)&1
				}
			}
		}
		keys[k] = curveKey{key, int32(k)}
	}
	slices.SortFunc(keys, func(a, b curveKey) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return int(a.k - b.k)
	})
	for i, e := range keys {
		order[i] = e.k
	}
	return order
}

// spread2 spreads the low 31 bits of x to the even bits of the result
// (bit i to bit 2i), as the curve interleaves two coordinates.
func spread2(x uint64) uint64 {
	x &= 1<<31 - 1
	x = (x | x<<16) & 0x0000ffff0000ffff
	x = (x | x<<8) & 0x00ff00ff00ff00ff
	x = (x | x<<4) & 0x0f0f0f0f0f0f0f0f
	x = (x | x<<2) & 0x3333333333333333
	x = (x | x<<1) & 0x5555555555555555
	return x
}

// spread3 spreads the low 21 bits of x to every third bit of the result
// (bit i to bit 3i), as the curve interleaves three coordinates.
func spread3(x uint64) uint64 {
	x &= 1<<21 - 1
	x = (x | x<<32) & 0x001f00000000ffff
	x = (x | x<<16) & 0x001f0000ff0000ff
	x = (x | x<<8) & 0x100f00f00f00f00f
	x = (x | x<<4) & 0x10c30c30c30c30c3
	x = (x | x<<2) & 0x1249249249249249
	return x
}
