package core

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
)

// Tree is one version of a compressed cover tree over points in R^d.
//
// A Tree never changes once made: Insert and Delete return a new version
// and leave the old one answering exactly as before, so keeping a *Tree is
// an O(1) snapshot. Versions share the chunks of node storage that an
// update did not touch. A Tree is safe for concurrent use, including
// queries on one version while another version is being made from it.
type Tree[T Float] struct {
	s      *store[T]
	root   int32 // -1 when the tree is empty
	n      int   // caller points, duplicates included
	nodes  int   // distinct points
	metric Metric
	dist   distFunc[T]
	scale  scale
	seed   uint64
	// lo and hi bound the coordinates of every point ever inserted; the
	// distance between them must be finite, so that no two points are
	// +Inf apart (levels are logarithms of distances).
	lo, hi []float64

	buildEvals int64 // distance evaluations spent making this version, since its first ancestor
	queryEvals atomic.Int64
	// sampled holds the bits of the distance evaluations a k=10 query on
	// this version measured on a sample of its points (QuerySeconds), or
	// 0 until they are measured.
	sampled atomic.Uint64

	// flat is this version's search layout, made by the first batches of
	// k-nearest queries that need it and kept until the version is freed;
	// a version made by an update starts with an empty one.
	flat flatCache[T]

	// locate is how this version's updates locate their items (the
	// tests compare the ways); it is not inherited by later versions.
	locateBy locateHow
	// batchesOnly, for the tests, inserts every batch whole (no
	// batchCut).
	batchesOnly bool
}

// node returns slot u.
func (t *Tree[T]) node(u int32) *node { return t.s.node(u) }

// point returns slot u's coordinates.
func (t *Tree[T]) point(u int32) []T { return t.s.point(u) }

// Dim returns the dimension of the points.
func (t *Tree[T]) Dim() int { return t.s.dim }

// Len returns the number of points, duplicates included.
func (t *Tree[T]) Len() int { return t.n }

// Nodes returns the number of nodes, one per distinct point.
func (t *Tree[T]) Nodes() int { return t.nodes }

// Base returns the tree's level base.
func (t *Tree[T]) Base() float64 { return t.scale.base }

// Metric returns the tree's distance function.
func (t *Tree[T]) Metric() Metric { return t.metric }

// IDs returns the number of caller indices ever issued in this tree's
// history: every index held is below it.
func (t *Tree[T]) IDs() int { return int(t.s.nids) }

// Has reports whether the tree holds caller index id.
func (t *Tree[T]) Has(id int) bool {
	return id >= 0 && id < int(t.s.nids) && t.s.nodeOf(int32(id)) >= 0
}

// Point returns the coordinates of caller index id, or nil if the tree
// does not hold it. The slice aliases the tree's storage and must not be
// modified.
func (t *Tree[T]) Point(id int) []T {
	if !t.Has(id) {
		return nil
	}
	return t.point(t.s.nodeOf(int32(id)))
}

// LiveIDs appends the caller indices the tree holds, ascending, to dst.
func (t *Tree[T]) LiveIDs(dst []int64) []int64 {
	for i, c := range t.s.idc {
		if c == nil {
			continue
		}
		for j, u := range c.node {
			if u >= 0 {
				dst = append(dst, int64(i*chunkSize+j))
			}
		}
	}
	return dst
}

// DistanceEvals returns the number of distance evaluations spent making
// this version (its build and every update since) and answering queries
// on it so far.
func (t *Tree[T]) DistanceEvals() (build, query int64) {
	return t.buildEvals, t.queryEvals.Load()
}

// derive returns a new version of t over a fork of its storage, to be
// modified by an update.
func (t *Tree[T]) derive() *Tree[T] {
	d := t.shell()
	d.s, d.root = t.s.fork(), t.root
	return d
}

// shell returns a tree with t's counts, metric and history but no storage.
func (t *Tree[T]) shell() *Tree[T] {
	return &Tree[T]{
		root:       -1,
		n:          t.n,
		nodes:      t.nodes,
		metric:     t.metric,
		dist:       t.dist,
		scale:      t.scale,
		seed:       t.seed,
		lo:         t.lo,
		hi:         t.hi,
		buildEvals: t.buildEvals,
	}
}

// widenBox returns the bounding box of the tree's points and the new
// points, or an error if two points in it could be an infinite distance
// apart. Large sets of points are scanned on jobs goroutines.
func (t *Tree[T]) widenBox(points []T, jobs int) (lo, hi []float64, err error) {
	lo, hi = slices.Clone(t.lo), slices.Clone(t.hi)
	dim := t.s.dim
	if lo == nil {
		lo, hi = emptyBox(dim)
	}
	extendBoxJobs(lo, hi, points, jobs)
	if err := t.checkBox(lo, hi); err != nil {
		return nil, nil, err
	}
	return lo, hi, nil
}

// extendBoxJobs is extendBox on jobs goroutines for a large set: a box for
// each, joined after.
func extendBoxJobs[T Float](lo, hi []float64, points []T, jobs int) {
	dim := len(lo)
	if jobs = workers(jobs); jobs == 1 || len(points) < boxParallelMin {
		extendBox(lo, hi, points)
		return
	}
	los, his := make([][]float64, jobs), make([][]float64, jobs)
	for w := range los {
		los[w], his[w] = emptyBox(dim)
	}
	forRange(len(points)/dim, jobs, func(w, a, b int) {
		extendBox(los[w], his[w], points[a*dim:b*dim])
	})
	for w := range los {
		for j := range dim {
			lo[j], hi[j] = min(lo[j], los[w][j]), max(hi[j], his[w][j])
		}
	}
}

// boxParallelMin is the fewest coordinates extendBoxJobs scans on more than one
// goroutine.
const boxParallelMin = 1 << 16

// setBox sets the bounding box from the tree's points.
func (t *Tree[T]) setBox() error {
	lo, hi := emptyBox(t.s.dim)
	for _, u := range t.preorder() {
		extendBox(lo, hi, t.point(u))
	}
	if t.root >= 0 {
		if err := t.checkBox(lo, hi); err != nil {
			return err
		}
		t.lo, t.hi = lo, hi
	}
	return nil
}

func emptyBox(dim int) (lo, hi []float64) {
	lo, hi = make([]float64, dim), make([]float64, dim)
	for j := range dim {
		lo[j], hi[j] = math.Inf(1), math.Inf(-1)
	}
	return lo, hi
}

// extendBox widens the box lo, hi (of len(lo) dimensions) to hold the
// rows of points, which must not be NaN. It compares rather than calls
// min and max, which test for NaNs and signed zeros, and loops over rows
// rather than taking each index modulo the dimension: 1,000,000 x 3 on
// one thread in 2.5 ms (4.6 with min and max over rows, 5.8 with both
// costs).
func extendBox[T Float](lo, hi []float64, points []T) {
	dim := len(lo)
	hi = hi[:dim]
	for o := 0; o+dim <= len(points); o += dim {
		for j, v := range points[o : o+dim : o+dim] {
			f := float64(v)
			if f < lo[j] {
				lo[j] = f
			}
			if f > hi[j] {
				hi[j] = f
			}
		}
	}
}

// checkBox reports an error if two points of the box could be an
// infinite distance apart.
func (t *Tree[T]) checkBox(lo, hi []float64) error {
	if d := kernelFor[float64](t.metric)(lo, hi); math.IsInf(d, 1) {
		return fmt.Errorf("core: the points span too wide a range: under the %v metric two of them could be more than %g apart, beyond float64", t.metric, math.MaxFloat64)
	}
	return nil
}

// regroup rebuilds node u's child groups from its children's levels,
// weights and reaches, and its weight from them and its own caller
// indices. Its children must be sorted by level, descending.
func (t *Tree[T]) regroup(u int32) {
	n := t.s.mut(u)
	f, room := familyWith(len(n.groups()) + 1)
	grp, w, r := t.groupKids(n, room)
	n.setGroupsIn(f, grp)
	n.weight = int64(n.nid) + w
	n.rad = max(n.rad, r)
}

// groupKids appends to grp (empty, with room as needed) node n's child
// groups, one per level of its children (sorted by level, descending),
// each with the weight and reach of its own and all later groups, and
// returns them with the children's total weight and largest reach.
func (t *Tree[T]) groupKids(n *node, grp []group) (_ []group, w int64, r float64) {
	for i, c := range n.children() {
		l := t.node(c).level
		if i == 0 || l != grp[len(grp)-1].level {
			grp = append(grp, group{level: l})
		}
		grp[len(grp)-1].end = int32(i + 1)
	}
	for g := len(grp) - 1; g >= 0; g-- {
		for _, c := range n.children()[n.groupStartIn(grp, g):grp[g].end] {
			cn := t.node(c)
			w += cn.weight
			r = max(r, cn.reach)
		}
		grp[g].w, grp[g].rad = w, r
	}
	return grp, w, r
}

// groupStartIn returns where group g of grp starts in the children.
func (n *node) groupStartIn(grp []group, g int) int32 {
	if g == 0 {
		return 0
	}
	return grp[g-1].end
}

// sortKids sorts children by level, descending, keeping equal levels in
// slot order so that layouts are deterministic.
func (t *Tree[T]) sortKids(kids []int32) {
	slices.SortFunc(kids, func(a, b int32) int {
		la, lb := t.node(a).level, t.node(b).level
		switch {
		case la > lb:
			return -1
		case la < lb:
			return 1
		}
		return int(a - b)
	})
}

// exactRadii recomputes every node's rad and reach as exact maxima over
// its descendants, measuring each (ancestor, descendant) pair once:
// O(nodes * depth) distance evaluations. It returns the evaluations spent.
func (t *Tree[T]) exactRadii() int64 {
	var evals int64
	order := t.preorder()
	for _, u := range order {
		n := t.s.mut(u)
		n.rad = 0
		n.reach = 0
	}
	for _, x := range order {
		px := t.point(x)
		for c, a := x, t.node(x).parent; a >= 0; c, a = a, t.node(a).parent {
			var d float64
			if c == x {
				d = t.node(x).pdist
			} else {
				d = t.dist(px, t.point(a))
				evals++
			}
			an := t.s.mut(a)
			an.rad = max(an.rad, d)
			cn := t.s.mut(c)
			cn.reach = max(cn.reach, d)
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		t.regroup(order[i])
	}
	return evals
}

// preorder returns the live slots, parents before children.
func (t *Tree[T]) preorder() []int32 {
	if t.root < 0 {
		return nil
	}
	order := make([]int32, 0, t.nodes)
	stack := []int32{t.root}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		order = append(order, u)
		kids := t.node(u).children()
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	return order
}

// compact returns a copy of t in fresh storage without free slots, with
// the root in slot 0 and the children of every node in consecutive slots,
// blocks placed in the depth-first order of their parents: the searches
// then read each block of children sequentially.
func (t *Tree[T]) compact() *Tree[T] {
	c := t.shell()
	s := newStore[T](t.s.dim)
	c.s = s
	s.newIDs(t.s.nids)
	if t.root < 0 {
		return c
	}
	// order[new] = old slot; children blocks in parents' depth-first order.
	order := []int32{t.root}
	stack := []int32{t.root}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		kids := t.node(u).children()
		order = append(order, kids...)
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	pos := make(map[int32]int32, len(order))
	for nu, ou := range order {
		pos[ou] = int32(nu)
	}
	kidBuf := make([]int32, 0, len(order))
	for _, ou := range order {
		nu := s.add(t.point(ou))
		on := t.node(ou)
		nn := s.mut(nu)
		*nn = *on
		if on.parent >= 0 {
			nn.parent = pos[on.parent]
		}
		start := len(kidBuf)
		for _, k := range on.children() {
			kidBuf = append(kidBuf, pos[k])
		}
		nn.setKids(kidBuf[start:len(kidBuf):len(kidBuf)])
		for _, id := range on.idList() {
			s.setNodeOf(id, nu)
		}
	}
	c.root = 0
	return c
}
