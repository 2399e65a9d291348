package core

import "slices"

// Four-lane coordinates. In a Euclidean layout of more than boxDims
// dimensions (in fewer, bounding boxes skip most subtrees before any of
// their points is measured, and two and three are written out in scalar
// code, see flatTree.descend) whose machine runs the vector kernel (Go's
// SIMD package, AVX2), the layout keeps its coordinates a second time with
// four positions interleaved: the quad of positions 4g..4g+3 is
// lanes[4*dim*g: 4*dim*(g+1)], coordinate j of position 4g+l at offset
// 4j+l. A bucket's
// descendants and a node's child block are runs of positions, so their
// squared distances to a query come four at a time, one lane a position,
// with no sum across lanes: each lane adds its squares in the order
// sqEuclidean does (four partial sums, the coordinates past the last
// multiple of four into the first, then (s0+s1)+(s2+s3)), with separate
// multiplies and adds, so the results have sqEuclidean's bits and the
// distances the tree's kernel's. (Four lanes over the coordinates of one
// pair, tried before, were no faster than the scalar loop in 10 and 16
// dimensions: the lanes' sum and the call dominate.)

// quadSize is the number of positions interleaved in one quad.
const quadSize = 4

// interleave fills f.lanes from f.pts when the layout's searches use them
// (lanesPay), and leaves it nil otherwise.
func (f *flatTree[T]) interleave() {
	if !f.euclid || f.dim <= boxDims || !lanesPay() {
		return
	}
	f.lanes = interleaved(f.pts, f.dim)
}

// interleaved returns the coordinates pts (rows of dim values) with quads
// of rows interleaved, the last quad padded with zeros.
func interleaved[T Float](pts []T, dim int) []T {
	n := len(pts) / dim
	quads := (n + quadSize - 1) / quadSize
	out := make([]T, quads*quadSize*dim)
	for i := range n {
		g, l := i/quadSize, i%quadSize
		base := g * quadSize * dim
		for j, x := range pts[i*dim : (i+1)*dim] {
			out[base+j*quadSize+l] = x
		}
	}
	return out
}

// squaresAt returns the squared Euclidean distances from q to the nodes at
// positions [lo, hi), with sqEuclidean's bits, from the four-lane
// coordinates: the distance of position i is at index i-lo&^3 of the
// slice returned, which lives in s.sq until the next call.
func (f *flatTree[T]) squaresAt(s *scratch, q []T, lo, hi int32) []float64 {
	g0, g1 := int(lo)/quadSize, (int(hi)+quadSize-1)/quadSize
	s.sq = slices.Grow(s.sq[:0], (g1-g0)*quadSize)[:(g1-g0)*quadSize]
	quadSquares(f.lanes, f.dim, q, g0, g1, s.sq)
	return s.sq[int(lo)-g0*quadSize:]
}

// quadSquaresScalar is quadSquares without vectors: out[4(g-g0)+l] is the
// squared Euclidean distance from q to lane l of quad g, for g in [g0, g1),
// summed as sqEuclidean sums.
func quadSquaresScalar[T Float](lanes []T, dim int, q []T, g0, g1 int, out []float64) {
	d4 := dim &^ 3
	for g := g0; g < g1; g++ {
		quad := lanes[g*quadSize*dim : (g+1)*quadSize*dim]
		for l := range quadSize {
			var s0, s1, s2, s3 float64
			j := 0
			for ; j < d4; j += 4 {
				d0 := float64(q[j]) - float64(quad[j*quadSize+l])
				d1 := float64(q[j+1]) - float64(quad[(j+1)*quadSize+l])
				d2 := float64(q[j+2]) - float64(quad[(j+2)*quadSize+l])
				d3 := float64(q[j+3]) - float64(quad[(j+3)*quadSize+l])
				s0 += d0 * d0
				s1 += d1 * d1
				s2 += d2 * d2
				s3 += d3 * d3
			}
			for ; j < dim; j++ {
				d := float64(q[j]) - float64(quad[j*quadSize+l])
				s0 += d * d
			}
			out[(g-g0)*quadSize+l] = (s0 + s1) + (s2 + s3)
		}
	}
}

// descendLanes is descend for a layout with four-lane coordinates (a
// Euclidean layout of more than boxDims dimensions, so without boxes): a
// bucket's points and a node's child block, as far as the children's
// reaches leave them, are measured four at a time, and a child is looked
// at further only when its squared distance may put it within the bound
// (to be offered) or its subtree within it (to be stacked). The children
// stacked are ordered only as far as their two nearest (nearestOnTop),
// opened first: sorting them all took a tenth of magic's held-out queries,
// and opening the rest nearest first saved 1% to 2% of the distances
// (magic, one thread, best of four: 14.6 -> 14.0 us a query on all points,
// 17.4 -> 16.5 held out; letter and pendigits 3% to 5% less on all points).
// It is a function of its own so that its loop keeps its variables in
// registers.
func (f *flatTree[T]) descendLanes(s *scratch, q []T, stack []cand, skip int32, b *bound) []cand {
	info, reach := f.info, f.reach
	evals := int64(0)
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		xi := &info[x.node]
		if prunable(x.d, xi.rad, b.ub) {
			continue
		}
		lo := xi.kids
		if xi.desc-lo <= f.bucket {
			evals += int64(xi.desc - lo)
			f.scanLanes(s, q, lo, xi.desc, b)
			continue
		}
		m := lo
		for m < xi.kidEnd && !prunable(x.d, reach[m], b.ub) {
			m++
		}
		evals += int64(m - lo)
		kids, rc := info[lo:m], reach[lo:m]
		sq := f.squaresAt(s, q, lo, m)[:len(kids)]
		base := len(stack)
		for j := range kids {
			if prunable(x.d, rc[j], b.ub) {
				break // and so is every later child: their reach is no larger
			}
			ci := &kids[j]
			s2 := sq[j]
			// Beyond (worst + rad) with a margin, the child is neither
			// offered (d > worst) nor stacked (prunable: ub <= worst).
			if s2 > sqBound((b.worst+ci.rad)*(1+4*slack)) {
				continue
			}
			c := lo + int32(j)
			if c == skip {
				continue
			}
			dc := f.fromSquare(q, c, s2)
			if dc <= b.worst {
				f.offerAt(s, c, dc, b)
			}
			if ci.desc > ci.kids && !prunable(dc, ci.rad, b.ub) {
				stack = append(stack, cand{node: c, d: dc})
			}
		}
		if len(stack)-base > 1 {
			nearestOnTop(stack[base:], 2)
		}
	}
	s.evals += evals
	return stack[:0]
}

// scanLanes is scan with four-lane coordinates.
func (f *flatTree[T]) scanLanes(s *scratch, q []T, lo, hi int32, b *bound) {
	sq := f.squaresAt(s, q, lo, hi)[:hi-lo]
	for j, s2 := range sq {
		if s2 <= b.sq {
			f.offerSq(s, q, lo+int32(j), s2, b)
		}
	}
}
