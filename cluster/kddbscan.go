package cluster

import (
	"math"
	"sync/atomic"

	"github.com/pcct-dev/pcct/core"
)

// kdLeaf is the most points a leaf of dbscanKD holds for DBSCAN (and the
// most any leaf holds: see newDBSCANKD).
const kdLeaf = 32

// kdMaxDim is the most features an array may have for DBSCANPoints to
// cluster it on a k-d tree (dbscanKD) rather than a cover tree. Up to it
// the k-d tree's whole call was measured to take less CPU time than the
// cover tree's build and DBSCAN together (one thread: clustered sets of
// 4 to 64 features 2.1 to 3.3 times less, magic's 10 features 2.4
// times, letter's 16 features 1.1 to 1.2 times); above it, boxes prune
// ever less and nothing was measured.
const kdMaxDim = 64

// dbscanKD is a k-d tree made for one DBSCAN call on Euclidean rows: the
// points, converted to float64 (exactly), sorted so that every node's
// points are consecutive, and each node's bounding box. Nodes are
// numbered in preorder; a node that is not a leaf splits its points at
// the median along the axis of their largest variance (the box's widest
// axis ties on integer data such as letter's: splitting by variance took
// letter's call from 0.63 to 0.43 s of CPU time), its left child being
// the next node; subtrees of at least 2^15 points are built in parallel.
//
// A pair lies within eps when the sum of the squared differences, in
// float64 and in column order, is at most eps*eps, as in the grid. The
// tests on boxes (a point's distance to a box, a box's to a box, a
// split plane's, a box's width) sum the same terms in the same order for
// the nearest or farthest corners, which rounds no term or partial sum
// past the corresponding one of any pair they stand for: they decide
// exactly too.
type dbscanKD struct {
	dim   int
	pts   []float64 // n*dim coordinates in tree order
	order []int32   // caller index of each point in tree order
	// per node: its points [start, end), its right child (-1 for a leaf)
	// and its box, lo then hi (2*dim numbers)
	start, end, right []int32
	box               []float64
	axis              []int32   // per node that is not a leaf: the axis split
	split             []float64 // and the median's coordinate along it
	parent            []int32   // per node, -1 for the root
	// small[k] tells that node k's box is at most 2 eps across, so that
	// it may lie within eps of a point (set by setSmall).
	small []bool
	leaf  []int32 // per point in tree order, its leaf
	// The leaves' points column by column (see kdkernel.go): leaf k's
	// block starts at lanes[laneOff[k]].
	lanes   []float64
	laneOff []int
	vec     bool // the vector kernels run (kdVector)
}

// kdNodes returns the nodes of a dbscanKD subtree over m points, with
// leaves of at most leaf points.
func kdNodes(m, leaf int) int {
	if m <= leaf {
		return 1
	}
	return 1 + kdNodes(m/2, leaf) + kdNodes(m-m/2, leaf)
}

// newDBSCANKD builds the tree over n rows of dim (<= kdMaxDim) values,
// with leaves of at most leaf (<= kdLeaf) points. The leaves' lanes
// (setLanes) and vec are left to the caller.
func newDBSCANKD[T core.Float](points []T, dim, leaf int, o Options) *dbscanKD {
	n := len(points) / dim
	nodes := kdNodes(n, leaf)
	t := &dbscanKD{
		dim:    dim,
		pts:    make([]float64, n*dim),
		order:  make([]int32, n),
		start:  make([]int32, nodes),
		end:    make([]int32, nodes),
		right:  make([]int32, nodes),
		box:    make([]float64, nodes*2*dim),
		axis:   make([]int32, nodes),
		split:  make([]float64, nodes),
		parent: make([]int32, nodes),
		leaf:   make([]int32, n),
	}
	perm := t.order
	for i := range perm {
		perm[i] = int32(i)
	}
	key := make([]float64, n) // scratch: one coordinate of each point
	var build func(k, s, e int, par bool)
	build = func(k, s, e int, par bool) {
		t.start[k], t.end[k], t.right[k] = int32(s), int32(e), -1
		lo, hi := t.bounds(int32(k))
		for a := range dim {
			lo[a], hi[a] = math.Inf(1), math.Inf(-1)
		}
		for _, i := range perm[s:e] {
			row := points[int(i)*dim : int(i+1)*dim]
			for a, v := range row {
				x := float64(v)
				lo[a], hi[a] = min(lo[a], x), max(hi[a], x)
			}
		}
		if e-s <= leaf {
			return
		}
		// The axis of the largest variance.
		axis := 0
		if dim > 1 {
			var mv, vv [kdMaxDim]float64
			mean, vr := mv[:dim], vv[:dim]
			for _, i := range perm[s:e] {
				for a, v := range points[int(i)*dim : int(i+1)*dim] {
					mean[a] += float64(v)
				}
			}
			for a := range mean {
				mean[a] /= float64(e - s)
			}
			for _, i := range perm[s:e] {
				for a, v := range points[int(i)*dim : int(i+1)*dim] {
					x := float64(v) - mean[a]
					vr[a] += x * x
				}
			}
			for a := range vr {
				if vr[a] > vr[axis] {
					axis = a
				}
			}
		}
		for _, i := range perm[s:e] {
			key[i] = float64(points[int(i)*dim+axis])
		}
		mid := s + (e-s)/2
		selectNth(perm[s:e], mid-s, key)
		t.axis[k], t.split[k] = int32(axis), key[perm[mid]]
		r := k + 1 + kdNodes(mid-s, leaf)
		t.right[k] = int32(r)
		if par && e-s >= 1<<15 {
			done := make(chan struct{})
			go func() {
				defer close(done)
				build(r, mid, e, true)
			}()
			build(k+1, s, mid, true)
			<-done
			return
		}
		build(k+1, s, mid, false)
		build(r, mid, e, false)
	}
	// key is shared: the parallel halves touch disjoint points.
	build(0, 0, n, o.jobs() > 1)
	t.parent[0] = -1
	for k := range int32(nodes) {
		if r := t.right[k]; r >= 0 {
			t.parent[k+1], t.parent[r] = k, k
			continue
		}
		for p := t.start[k]; p < t.end[k]; p++ {
			t.leaf[p] = k
		}
	}
	for s, i := range perm {
		for a := range dim {
			t.pts[s*dim+a] = float64(points[int(i)*dim+a])
		}
	}
	return t
}

// setLanes lays out each leaf's points column by column in t.lanes.
func (t *dbscanKD) setLanes() {
	d := t.dim
	t.laneOff = make([]int, len(t.start))
	size := 0
	for k := range t.start {
		if t.right[k] < 0 {
			t.laneOff[k] = size
			size += d * kdLaneWidth(int(t.end[k]-t.start[k]))
		}
	}
	t.lanes = make([]float64, size)
	for k := range t.start {
		if t.right[k] >= 0 {
			continue
		}
		s, e := int(t.start[k]), int(t.end[k])
		w := kdLaneWidth(e - s)
		block := t.lanes[t.laneOff[k] : t.laneOff[k]+d*w]
		for j := range e - s {
			for a, x := range t.pts[(s+j)*d : (s+j+1)*d] {
				block[a*w+j] = x
			}
		}
	}
}

// leafSquares sets sq[j] to the sum of squares from q to the j-th point
// of leaf k, summed as sqDist sums a pair, and returns sq's first end-start values.
func (t *dbscanKD) leafSquares(q []float64, k int32, sq *[kdLeaf]float64) []float64 {
	m := int(t.end[k] - t.start[k])
	w := kdLaneWidth(m)
	o := t.laneOff[k]
	kdSquares(t.lanes[o:o+t.dim*w], w, q, sq[:w])
	return sq[:m]
}

// setSmall sets t.small for eps*eps = e2.
func (t *dbscanKD) setSmall(e2 float64) {
	d := t.dim
	t.small = make([]bool, len(t.start))
	for k := range t.small {
		lo, hi := t.bounds(int32(k))
		var diag float64
		for a := range d {
			x := hi[a] - lo[a]
			diag += x * x
		}
		t.small[k] = diag <= 4*e2*(1+1e-9)
	}
}

// selectNth reorders xs so that key[xs[m]] is the value of rank m, none
// before it larger and none after it smaller (Hoare's selection).
func selectNth(xs []int32, m int, key []float64) {
	lo, hi := 0, len(xs)-1
	for hi > lo {
		// The median of three as the pivot.
		a, b, c := key[xs[lo]], key[xs[lo+(hi-lo)/2]], key[xs[hi]]
		p := max(min(a, b), min(max(a, b), c))
		i, j := lo, hi
		for i <= j {
			for key[xs[i]] < p {
				i++
			}
			for key[xs[j]] > p {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case m <= j:
			hi = j
		case m >= i:
			lo = i
		default:
			return
		}
	}
}

// bounds returns node k's box: its lower and upper corners.
func (t *dbscanKD) bounds(k int32) (lo, hi []float64) {
	d := t.dim
	o := int(k) * 2 * d
	return t.box[o : o+d : o+d], t.box[o+d : o+2*d : o+2*d]
}

func (t *dbscanKD) point(s int32) []float64 {
	o := int(s) * t.dim
	return t.pts[o : o+t.dim : o+t.dim]
}

// near reports, for point q and node k, whether the whole box lies
// farther than e2 (by the sum of squares) and, if tryIn, whether it lies
// within.
func (t *dbscanKD) near(q []float64, k int32, e2 float64, tryIn bool) (out, in bool) {
	d := t.dim
	lo, hi := t.bounds(k)
	if t.vec && d >= 8 {
		// The sums in another order decide unless they lie within
		// kdBoxMargin of e2; then the column-order sums below decide.
		sn, sf := kdBoxSums(lo, hi, q, tryIn)
		above, below := e2*(1+kdBoxMargin), e2*(1-kdBoxMargin)
		switch {
		case sn > above:
			return true, false
		case sn < below && !tryIn:
			return false, false
		case sn < below && sf > above:
			return false, false
		case sn < below && sf < below:
			return false, true
		}
	}
	if !tryIn {
		var sn float64
		for a, x := range q {
			var dn float64
			if x < lo[a] {
				dn = lo[a] - x
			} else if x > hi[a] {
				dn = x - hi[a]
			}
			sn += float64(dn * dn)
			if sn > e2 {
				return true, false
			}
		}
		return false, false
	}
	var sn, sf float64
	for a, x := range q {
		l, h := lo[a], hi[a]
		var dn float64
		if x < l {
			dn = l - x
		} else if x > h {
			dn = x - h
		}
		df := max(x-l, h-x)
		sn += float64(dn * dn)
		sf += float64(df * df)
		if sn > e2 {
			return true, false
		}
	}
	return false, sf <= e2
}

// kdDBSCAN clusters the rows as DBSCANPoints does, on a k-d tree (n
// rows of dim >= 1 values, all finite; the arguments checked).
//
// Every point counts its neighbours, from its own leaf up: boxes within
// eps are added whole, boxes beyond are skipped, and the count stops at
// minSamples when no weight is negative; it records what it met (as the
// cover tree's count does: see neighbours). Each core point is joined to
// the core points its record holds, and the core points of a tight node
// (within eps across) are one component from the start. Then every pair
// of leaves whose boxes lie within eps of each other joins their core
// points within eps, measuring only pairs in different components and
// only from the points whose own distance to the other leaf's box is
// within eps (a pair of leaves whose core points are all in one
// component measures nothing). A point that is not a core point takes
// the lowest cluster among the core points its record holds, or, if the
// record overflowed, among those a search finds.
func kdDBSCAN[T core.Float](points []T, dim int, eps float64, minSamples int, weights []float64, o Options) (res DBSCANResult, err error) {
	t := newDBSCANKD(points, dim, kdLeaf, o)
	t.setLanes()
	t.vec = kdVector()
	n := len(t.order)
	nodes := len(t.start)
	e2 := eps * eps
	t.setSmall(e2)
	// Weights in tree order, and per node.
	own := make([]float64, n)
	nonNegative := true
	for s, i := range t.order {
		own[s] = 1
		if weights != nil {
			own[s] = weights[i]
			nonNegative = nonNegative && own[s] >= 0
		}
	}
	sub := make([]float64, nodes)
	for k := nodes - 1; k >= 0; k-- {
		if r := t.right[k]; r >= 0 {
			sub[k] = sub[k+1] + sub[r]
			continue
		}
		for s := t.start[k]; s < t.end[k]; s++ {
			sub[k] += own[s]
		}
	}
	need := float64(minSamples)
	stop := nonNegative
	isCore := make([]bool, n)
	stacks := make([][]int32, o.jobs())
	nb := newNeighbours(n, minSamples)
	err = forBlocks(n, 256, o, func(w, lo, hi int) {
		stack := stacks[w]
		for s := int32(lo); s < int32(hi); s++ {
			var c float64
			rec := nb.start(s)
			c, stack = t.count(s, e2, need, stop, own, sub, &rec, stack)
			isCore[s] = c >= need
		}
		stacks[w] = stack
	})
	if err != nil {
		return res, err
	}
	// Per node: its core points, and whether its box is tight.
	cores := make([]int32, nodes)
	tight := make([]bool, nodes)
	for k := nodes - 1; k >= 0; k-- {
		if r := t.right[k]; r >= 0 {
			cores[k] = cores[k+1] + cores[r]
		} else {
			for s := t.start[k]; s < t.end[k]; s++ {
				if isCore[s] {
					cores[k]++
				}
			}
		}
		d := dim
		lo, hi := t.bounds(int32(k))
		var diag float64
		for a := range d {
			x := hi[a] - lo[a]
			diag += float64(x * x)
		}
		tight[k] = diag <= e2
	}
	uf := newAtomicSets(n)
	// The core points of a tight node are one component: join each to
	// the node's first core point. rep is a tight node's first core point.
	rep := make([]int32, nodes)
	for k := range rep {
		rep[k] = -1
	}
	for k := 0; k < nodes; k++ {
		if !tight[k] || cores[k] == 0 || rep[k] >= 0 {
			continue
		}
		first := int32(-1)
		for s := t.start[k]; s < t.end[k]; s++ {
			if isCore[s] {
				if first < 0 {
					first = s
				} else {
					uf.union(first, s)
				}
			}
		}
		// Every node below k is tight too and holds a core point of this
		// component: its first core point is as good a representative.
		for j := k; j < nodes && t.start[j] < t.end[k]; j++ {
			if cores[j] > 0 {
				for s := t.start[j]; ; s++ {
					if isCore[s] {
						rep[j] = s
						break
					}
				}
			}
		}
	}
	// First each core point joins the core points its count met.
	err = forBlocks(n, 1024, o, func(w, lo, hi int) {
		for s := int32(lo); s < int32(hi); s++ {
			if !isCore[s] {
				continue
			}
			for _, e := range nb.entries(s) {
				switch {
				case e >= 0 && isCore[e]:
					uf.union(s, e)
				case e < 0 && rep[-1-e] >= 0:
					uf.union(s, rep[-1-e])
				}
			}
		}
	})
	if err != nil {
		return res, err
	}
	// Then every pair of leaves that may hold core points within eps of
	// each other joins them.
	var leaves []int32
	for k := range int32(nodes) {
		if t.right[k] < 0 && cores[k] > 0 {
			leaves = append(leaves, k)
		}
	}
	near := make([][]int32, o.jobs())
	err = forBlocks(len(leaves), 4, o, func(w, lo, hi int) {
		for _, l := range leaves[lo:hi] {
			near[w], stacks[w] = t.nearLeaves(l, e2, cores, near[w], stacks[w])
			for _, k := range near[w] {
				t.joinLeaves(l, k, e2, isCore, uf)
			}
		}
	})
	if err != nil {
		return res, err
	}
	label := clusterNumbers(n, func(s int32) bool { return isCore[s] }, uf.find, func(s int32) int32 { return t.order[s] })
	// The lowest label of a core point under each node.
	minLab := make([]int32, nodes)
	for k := nodes - 1; k >= 0; k-- {
		m := int32(math.MaxInt32)
		if r := t.right[k]; r >= 0 {
			m = min(minLab[k+1], minLab[r])
		} else {
			for s := t.start[k]; s < t.end[k]; s++ {
				if isCore[s] {
					m = min(m, label[s])
				}
			}
		}
		minLab[k] = m
	}
	if minLab[0] != math.MaxInt32 {
		err = forBlocks(n, 256, o, func(w, lo, hi int) {
			stack := stacks[w]
			for s := int32(lo); s < int32(hi); s++ {
				switch {
				case isCore[s]:
				case nb.over[s]:
					label[s], stack = t.borderLabel(s, e2, isCore, label, minLab, stack)
				default:
					// The record holds the whole neighbourhood.
					if best, ok := nb.recordLabel(s, isCore, label, minLab); ok {
						label[s] = best
					}
				}
			}
			stacks[w] = stack
		})
		if err != nil {
			return res, err
		}
	}
	res.Labels = make([]int, n)
	res.Core = make([]bool, n)
	for s, i := range t.order {
		res.Labels[i], res.Core[i] = int(label[s]), isCore[s]
	}
	return res, nil
}

// count returns the weight of the points within e2 of point s, stopping
// once it reaches need if stop, and records in rec what it met within e2
// (points, and nodes wholly within). It searches s's leaf first, then
// the other child of each ancestor in turn. stack is scratch space.
func (t *dbscanKD) count(s int32, e2, need float64, stop bool, own, sub []float64, rec *recorder, stack []int32) (float64, []int32) {
	q := t.point(s)
	if !stop {
		need = math.Inf(1)
	}
	var sq [kdLeaf]float64
	var c float64
	prev := t.leaf[s]
	stack = append(stack[:0], prev)
	for {
		for len(stack) > 0 && c < need {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			out, in := t.near(q, k, e2, t.small[k])
			switch {
			case out:
			case in:
				c += sub[k]
				rec.add(wholeSubtree(k))
			case t.right[k] < 0:
				p := t.start[k]
				for _, x := range t.leafSquares(q, k, &sq) {
					if c >= need {
						break
					}
					if x <= e2 {
						c += own[p]
						rec.add(p)
					}
					p++
				}
			default:
				stack = t.pushKids(stack, q, k, e2)
			}
		}
		a := t.parent[prev]
		if a < 0 || c >= need {
			break
		}
		stack = append(stack[:0], t.sibling(a, prev))
		prev = a
	}
	rec.finish(c >= need)
	return c, stack[:0]
}

// sibling returns the child of node a other than k.
func (t *dbscanKD) sibling(a, k int32) int32 {
	if k == a+1 {
		return t.right[a]
	}
	return a + 1
}

// pushKids stacks node k's children, the one on q's side of the split
// last (searched first), and the other only if the split plane lies
// within e2 of q: the left child's points lie at or below the split along
// its axis and the right child's at or above, so that a point across it
// differs from q along the axis by at least the gap, whose square alone
// then exceeds e2.
func (t *dbscanKD) pushKids(stack []int32, q []float64, k int32, e2 float64) []int32 {
	l, r := k+1, t.right[k]
	x, sp := q[t.axis[k]], t.split[k]
	if x < sp {
		if g := sp - x; float64(g*g) > e2 {
			return append(stack, l)
		}
		return append(stack, r, l)
	}
	if g := x - sp; float64(g*g) > e2 {
		return append(stack, r)
	}
	return append(stack, l, r)
}

// nearLeaves lists the leaves k >= l holding core points whose boxes may
// hold a point within e2 of one of leaf l's box.
func (t *dbscanKD) nearLeaves(l int32, e2 float64, cores []int32, out, stack []int32) ([]int32, []int32) {
	la, ha := t.bounds(l)
	out = out[:0]
	stack = append(stack[:0], 0)
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if cores[k] == 0 || t.start[k] >= t.end[k] || t.end[k] <= t.start[l] {
			continue // no core point, or only leaves before l
		}
		// The boxes' gap, summed as a pair's squares are.
		lb, hb := t.bounds(k)
		sn, _ := kdBoxGap(la, ha, lb, hb, e2)
		switch {
		case sn > e2:
		case t.right[k] < 0:
			out = append(out, k)
		default:
			stack = append(stack, t.right[k], k+1)
		}
	}
	return out, stack
}

// joinLeaves joins the core points of leaves l and k that lie within e2
// of each other, measuring only pairs not yet in one component.
func (t *dbscanKD) joinLeaves(l, k int32, e2 float64, isCore []bool, uf *atomicSets) {
	// Nothing to do when all the core points of both leaves are in one
	// component already, and nothing for a point of l in the component
	// of all k's core points (checked without measuring a distance).
	rl, rk := t.oneComponent(l, isCore, uf), t.oneComponent(k, isCore, uf)
	if rl >= 0 && rk >= 0 && uf.find(rl) == uf.find(rk) {
		return
	}
	var sq [kdLeaf]float64
	for p := t.start[l]; p < t.end[l]; p++ {
		if !isCore[p] || (rk >= 0 && uf.find(p) == uf.find(rk)) {
			continue
		}
		q := t.point(p)
		if out, _ := t.near(q, k, e2, false); out {
			continue
		}
		rp := uf.find(p)
		x := t.start[k]
		for _, d2 := range t.leafSquares(q, k, &sq) {
			if d2 <= e2 && isCore[x] && (k != l || x > p) && uf.find(x) != rp {
				uf.union(p, x)
				rp = uf.find(p)
			}
			x++
		}
	}
}

// oneComponent returns a core point of leaf l's component if all its core
// points are in one, or -1.
func (t *dbscanKD) oneComponent(l int32, isCore []bool, uf *atomicSets) int32 {
	one := int32(-1)
	for p := t.start[l]; p < t.end[l]; p++ {
		if !isCore[p] {
			continue
		}
		switch r := uf.find(p); {
		case one == -1:
			one = r
		case r != one:
			return -1
		}
	}
	return one
}

// borderLabel returns the lowest label among the core points within e2 of
// point s, or -1.
func (t *dbscanKD) borderLabel(s int32, e2 float64, isCore []bool, label, minLab []int32, stack []int32) (int32, []int32) {
	q := t.point(s)
	var sq [kdLeaf]float64
	best := int32(math.MaxInt32)
	stack = append(stack[:0], 0)
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if minLab[k] >= best {
			continue
		}
		out, _ := t.near(q, k, e2, false)
		switch {
		case out:
		case t.right[k] < 0:
			p := t.start[k]
			for _, x := range t.leafSquares(q, k, &sq) {
				if x <= e2 && isCore[p] && label[p] < best {
					best = label[p]
				}
				p++
			}
		default:
			stack = t.pushKids(stack, q, k, e2)
		}
	}
	if best == math.MaxInt32 {
		return -1, stack
	}
	return best, stack
}

// atomicSets is a union-find over 0..n-1 that goroutines may use at once:
// a union links the root with the larger index under the other by a
// compare-and-swap, and find halves paths as it goes.
type atomicSets struct{ parent []atomic.Int32 }

func newAtomicSets(n int) *atomicSets {
	u := &atomicSets{parent: make([]atomic.Int32, n)}
	for i := range u.parent {
		u.parent[i].Store(int32(i))
	}
	return u
}

func (u *atomicSets) find(x int32) int32 {
	for {
		p := u.parent[x].Load()
		if p == x {
			return x
		}
		g := u.parent[p].Load()
		if g != p {
			u.parent[x].CompareAndSwap(p, g)
		}
		x = p
	}
}

func (u *atomicSets) union(a, b int32) {
	for {
		a, b = u.find(a), u.find(b)
		if a == b {
			return
		}
		if a < b {
			a, b = b, a
		}
		if u.parent[a].CompareAndSwap(a, b) {
			return
		}
	}
}
