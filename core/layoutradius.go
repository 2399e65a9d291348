package core

import "math"

// Radius searches on the search layout. Once a version has made its
// layout (see Tree.layout), its radius queries walk it as the k-nearest
// search does: a bucket's descendants in one loop (squared Euclidean
// distances against the squared radius, four at a time from the four-lane
// coordinates where the layout has them), a node's children in one block
// cut short by their reaches, and, in up to boxDims Euclidean dimensions,
// a subtree skipped when its bounding box lies beyond the radius. Every
// point is kept or left by its distance under the tree's kernel, as
// Tree.radius does, so the answers are the same.

// within leaves in s.rd and s.rid the distances and caller indices of the
// points within distance r of q (d <= r), s.exclude left out, in no
// particular order.
func (f *flatTree[T]) within(s *scratch, q []T, r float64) {
	s.rd, s.rid = s.rd[:0], s.rid[:0]
	rsq := sqBound(r)
	d0 := f.distAt(q, 0)
	evals := int64(1)
	f.emit(s, 0, d0, r)
	stack := append(s.stack[:0], cand{node: 0, d: d0})
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		xi := &f.info[x.node]
		if prunable(x.d, xi.rad, r) {
			continue
		}
		if xi.desc-xi.kids <= f.bucket {
			evals += int64(xi.desc - xi.kids)
			f.bucketWithin(s, q, xi.kids, xi.desc, r, rsq)
			for j, i := range s.nodes {
				f.emit(s, i, s.dists[j], r)
			}
			continue
		}
		m, sq := f.block(s, q, x, r)
		if sq != nil {
			evals += int64(m - xi.kids)
		}
		for c := xi.kids; c < m; c++ {
			dc, ok := f.childAt(q, c, xi.kids, sq, rsq, &evals)
			if !ok {
				continue
			}
			f.emit(s, c, dc, r)
			if ci := &f.info[c]; ci.desc > ci.kids && !prunable(dc, ci.rad, r) {
				stack = append(stack, cand{node: c, d: dc})
			}
		}
	}
	s.stack = stack[:0]
	s.evals += evals
}

// block returns the end m of the children of x's node that its reach
// bounds leave within r of q, [kids, m), and with four-lane coordinates
// their squared distances (the child at kids first), nil otherwise. Only
// the squares count as measured: a caller without them measures the
// children it does not skip by their boxes.
func (f *flatTree[T]) block(s *scratch, q []T, x cand, r float64) (int32, []float64) {
	xi := &f.info[x.node]
	m := xi.kids
	for m < xi.kidEnd && !prunable(x.d, f.reach[m], r) {
		m++
	}
	if f.lanes == nil {
		return m, nil
	}
	return m, f.squaresAt(s, q, xi.kids, m)
}

// boxBeyondAt reports whether the bounding box at index box lies beyond
// the squared bound rsq from q.
func (f *flatTree[T]) boxBeyondAt(q []T, box int32, rsq float64) bool {
	o := int(box) * 2 * f.dim
	return boxBeyond(q, f.box[o:o+2*f.dim], rsq)
}

// fromSquare returns the distance the tree's kernel gives q and the node at
// position i, from their squared Euclidean distance s2 as sqEuclidean sums
// it.
func (f *flatTree[T]) fromSquare(q []T, i int32, s2 float64) float64 {
	if exactSquare(s2) {
		return math.Sqrt(s2)
	}
	return f.dist(q, f.row(i))
}

// kdWithin is within answered by the layout's k-d split (where kdDims
// holds): the halves whose boxes come within sqBound(r) of q are opened,
// and each point of a leaf within that bound is measured as the tree
// measures it (offerSlot's rule: the root of the exact square, else the
// kernel) and emitted if within r, so the answers are within's (the
// caller sorts them). A k-nearest query already searches this split; a
// radius query of bunny's held-out rows took half the time of within's
// walk of the cover tree.
func (f *flatTree[T]) kdWithin(s *scratch, q []T, r float64) {
	s.rd, s.rid = s.rd[:0], s.rid[:0]
	nodes, pts, pos, ids := f.kdNodes, f.kdPts, f.kdPos, f.kdID
	rsq := sqBound(r)
	q0, q1, q2 := kdQuery(q)
	stack := append(s.kd[:0], kdCand{node: 0})
	evals := int64(0)
	for len(stack) > 0 {
		nd := &nodes[stack[len(stack)-1].node]
		stack = stack[:len(stack)-1]
		if nd.left < 0 {
			evals += int64(nd.hi - nd.lo)
			p := pts[3*nd.lo : 3*nd.hi]
			for j := 0; len(p) >= 3; j++ {
				c := p[:3:3]
				d0, d1, d2 := q0-c[0], q1-c[1], q2-c[2]
				if s2 := d0*d0 + d1*d1 + d2*d2; s2 <= rsq {
					sl := nd.lo + int32(j)
					at := pos[sl]
					d := math.Sqrt(s2)
					if !exactSquare(s2) {
						d = f.dist(q, f.row(at))
					}
					switch id := ids[sl]; {
					case d > r:
					case id < 0: // several caller indices
						f.emit(s, at, d, r)
					case id != s.exclude:
						s.rd = append(s.rd, d)
						s.rid = append(s.rid, id)
					}
				}
				p = p[3:]
			}
			continue
		}
		lb, rb := &nodes[nd.left].box, &nodes[nd.left+1].box
		l0, l1, l2 := gap(q0, lb[0], lb[3]), gap(q1, lb[1], lb[4]), gap(q2, lb[2], lb[5])
		r0, r1, r2 := gap(q0, rb[0], rb[3]), gap(q1, rb[1], rb[4]), gap(q2, rb[2], rb[5])
		if l0*l0+l1*l1+l2*l2 <= rsq {
			stack = append(stack, kdCand{node: nd.left})
		}
		if r0*r0+r1*r1+r2*r2 <= rsq {
			stack = append(stack, kdCand{node: nd.left + 1})
		}
	}
	s.kd = stack[:0]
	s.evals += evals
}

// emit appends the caller indices of the node at position i, at distance
// d, to the radius answers if d <= r, s.exclude left out.
func (f *flatTree[T]) emit(s *scratch, i int32, d, r float64) {
	if d > r {
		return
	}
	for _, id := range f.ids[f.info[i].ids:f.info[i+1].ids] {
		if id != s.exclude {
			s.rd = append(s.rd, d)
			s.rid = append(s.rid, id)
		}
	}
}

// bucketWithin leaves in s.nodes and s.dists the positions in [lo, hi), a
// bucket's descendants, whose nodes lie within r of q, and their
// distances; rsq is sqBound(r).
func (f *flatTree[T]) bucketWithin(s *scratch, q []T, lo, hi int32, r, rsq float64) {
	nodes, dists := s.nodes[:0], s.dists[:0]
	keep := func(i int32, d float64) {
		if d <= r {
			nodes, dists = append(nodes, i), append(dists, d)
		}
	}
	switch {
	case !f.euclid:
		for i := lo; i < hi; i++ {
			keep(i, f.dist(q, f.row(i)))
		}
	case f.lanes != nil:
		sq := f.squaresAt(s, q, lo, hi)
		for i := lo; i < hi; i++ {
			if s2 := sq[i-lo]; s2 <= rsq {
				keep(i, f.fromSquare(q, i, s2))
			}
		}
	default:
		// sqEuclidean sums two and three coordinates as the written-out
		// kernels do.
		for i := lo; i < hi; i++ {
			if s2 := sqEuclidean(q, f.row(i)); s2 <= rsq {
				keep(i, f.fromSquare(q, i, s2))
			}
		}
	}
	s.nodes, s.dists = nodes, dists
}

// childAt returns the distance from q to the node at position c, in a
// child block starting at lo, and whether the node or its subtree may lie
// within the bound: not when its box lies beyond rsq. The distance comes
// from the block's squared distances sq if not nil, or is measured
// (counted in *evals).
func (f *flatTree[T]) childAt(q []T, c, lo int32, sq []float64, rsq float64, evals *int64) (float64, bool) {
	if box := f.info[c].box; box >= 0 && f.boxBeyondAt(q, box, rsq) {
		return 0, false
	}
	if sq != nil {
		return f.fromSquare(q, c, sq[c-lo]), true
	}
	*evals++
	return f.distAt(q, c), true
}

// countWithin returns the number of points within distance r of q
// (d <= r), s.exclude left out: what within would list. A subtree lying
// wholly within r counts by its weight, unmeasured.
func (f *flatTree[T]) countWithin(s *scratch, q []T, r float64) int64 {
	rsq := sqBound(r)
	d0 := f.distAt(q, 0)
	evals := int64(1)
	var n int64
	stack := append(s.stack[:0], cand{node: 0, d: d0})
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		xi := &f.info[x.node]
		if inside(x.d, xi.rad, r) {
			n += int64(f.weight(x.node))
			continue
		}
		if x.d <= r {
			n += int64(f.info[x.node+1].ids - xi.ids)
		}
		if xi.desc == xi.kids || prunable(x.d, xi.rad, r) {
			continue
		}
		if xi.desc-xi.kids <= f.bucket {
			evals += int64(xi.desc - xi.kids)
			f.bucketWithin(s, q, xi.kids, xi.desc, r, rsq)
			for _, i := range s.nodes {
				n += int64(f.info[i+1].ids - f.info[i].ids)
			}
			continue
		}
		m, sq := f.block(s, q, x, r)
		if sq != nil {
			evals += int64(m - xi.kids)
		}
		for c := xi.kids; c < m; c++ {
			if inside(x.d, f.reach[c], r) {
				n += int64(f.weight(c))
				continue
			}
			if dc, ok := f.childAt(q, c, xi.kids, sq, rsq, &evals); ok {
				stack = append(stack, cand{node: c, d: dc})
			}
		}
	}
	s.stack = stack[:0]
	s.evals += evals
	if s.exclude >= 0 {
		// The query is the tree's own point, at distance 0 from itself:
		// it was counted, and is not its own neighbour.
		n--
	}
	return n
}
