package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// BuildSequential builds a compressed cover tree by inserting the points
// one at a time, in a random order fixed by opts.Seed. It is the simple
// reference construction; Build, the parallel batch construction, gives a
// tree with the same invariants and is what callers should use. Arguments
// are as for Build.
func BuildSequential[T Float](data []T, dim int, opts Options) (*Tree[T], error) {
	n, sc, err := opts.check(data, dim)
	if err != nil {
		return nil, err
	}
	if data, err = prepare(opts.Metric, data, dim); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	lo, hi, err := newTree[T](dim, opts.Metric, sc, opts.Seed).widenBox(data, opts.jobs())
	if err != nil {
		return nil, err
	}
	b := newBuilder(data, dim, opts.Metric, sc)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15))
	for _, i := range rng.Perm(n) {
		b.insert(int32(i))
	}
	t := b.tree(opts.Seed)
	t.lo, t.hi = lo, hi
	return t, nil
}

// builder is the mutable tree used during sequential insertion. Nodes are
// numbered in insertion order; freeze lays them out in depth-first order.
type builder[T Float] struct {
	dim    int
	data   []T // the caller's rows
	metric Metric
	dist   distFunc[T]
	scale  scale

	row    []int32   // node -> caller row holding its point
	level  []int32   // node -> level; the root is levelInf while building
	parent []int32   // node -> parent node, -1 for the root
	pdist  []float64 // node -> distance to its parent
	kids   [][]int32 // node -> children, by level descending, stable
	head   []int32   // node -> first caller index of its duplicate chain
	tail   []int32   // node -> last caller index of its duplicate chain
	next   []int32   // caller index -> next caller index on the same node

	evals int64
	q, q2 []buildCand
}

// buildCand is a candidate during insertion: a node, the index of its first
// child below the current level, and its distance to the new point.
type buildCand struct {
	node int32
	cur  int32
	d    float64
}

func newBuilder[T Float](data []T, dim int, m Metric, sc scale) *builder[T] {
	n := len(data) / dim
	b := &builder[T]{dim: dim, data: data, metric: m.Canonical(), dist: fastKernel[T](m, dim), scale: sc, next: make([]int32, n)}
	for i := range b.next {
		b.next[i] = -1
	}
	return b
}

func (b *builder[T]) point(idx int32) []T {
	o := int(idx) * b.dim
	return b.data[o : o+b.dim : o+b.dim]
}

func (b *builder[T]) nodePoint(v int32) []T { return b.point(b.row[v]) }

// insert adds caller row idx to the tree.
//
// The new point x gets level m-1 where m is the lowest level j at which some
// node of level >= j lies within b^j of x, and a parent within b^m among
// those nodes; this keeps the cover and separation conditions. The search
// keeps, level by level, every node of level >= i within rho*b^(i+1) of x,
// which holds the parents of every node of level i-1 within rho*b^i; a node
// at distance zero receives x as a duplicate instead.
func (b *builder[T]) insert(idx int32) {
	x := b.point(idx)
	if len(b.row) == 0 {
		b.addNode(idx, levelInf, -1, 0)
		return
	}
	d := b.dist(x, b.nodePoint(0))
	b.evals++
	if d == 0 {
		b.addDuplicate(0, idx)
		return
	}
	q := append(b.q[:0], buildCand{node: 0, cur: 0, d: d})
	q2 := b.q2[:0]
	defer func() { b.q, b.q2 = q[:0], q2[:0] }()

	i := levelInf
	var bestLevel, bestParent int32
	var bestDist float64
	for {
		next := levelNegInf
		dmin, arg := math.Inf(1), int32(-1)
		for _, c := range q {
			if c.d < dmin {
				dmin, arg = c.d, c.node
			}
			if kids := b.kids[c.node]; int(c.cur) < len(kids) {
				next = max(next, b.level[kids[c.cur]])
			}
		}
		// Between the levels next (exclusive) and i (inclusive) the nodes of
		// level >= j near x are exactly q; the lowest such j within b^j is:
		j := b.scale.ceilLog(dmin)
		if next != levelNegInf {
			j = max(j, next+1)
		}
		if j <= i {
			bestLevel, bestParent, bestDist = j, arg, dmin
		}
		if next == levelNegInf {
			break
		}
		keep := b.scale.rho * b.scale.pow(next+1)
		parentMax := b.scale.rho * b.scale.pow(next+2)
		q2 = q2[:0]
		for k := range q {
			c := &q[k]
			kids := b.kids[c.node]
			eligible := within(c.d, parentMax)
			for int(c.cur) < len(kids) && b.level[kids[c.cur]] == next {
				u := kids[c.cur]
				c.cur++
				if !eligible {
					continue
				}
				du := b.dist(x, b.nodePoint(u))
				b.evals++
				if du == 0 {
					b.addDuplicate(u, idx)
					return
				}
				if within(du, keep) {
					q2 = append(q2, buildCand{node: u, d: du})
				}
			}
			if within(c.d, keep) {
				q2 = append(q2, *c)
			}
		}
		if len(q2) == 0 {
			break
		}
		q, q2 = q2, q
		i = next
	}
	b.addNode(idx, bestLevel-1, bestParent, bestDist)
}

func (b *builder[T]) addNode(idx, level, parent int32, pd float64) {
	v := int32(len(b.row))
	b.row = append(b.row, idx)
	b.level = append(b.level, level)
	b.parent = append(b.parent, parent)
	b.pdist = append(b.pdist, pd)
	b.kids = append(b.kids, nil)
	b.head = append(b.head, idx)
	b.tail = append(b.tail, idx)
	if parent < 0 {
		return
	}
	kids := b.kids[parent]
	// Children stay sorted by level, descending; equal levels keep their
	// insertion order.
	pos, _ := slices.BinarySearchFunc(kids, level, func(c, l int32) int {
		if b.level[c] >= l {
			return -1
		}
		return 1
	})
	b.kids[parent] = slices.Insert(kids, pos, v)
}

func (b *builder[T]) addDuplicate(v, idx int32) {
	b.next[b.tail[v]] = idx
	b.tail[v] = idx
}

// tree converts the builder's nodes into a Tree, children of each node in
// consecutive slots, with exact radii.
func (b *builder[T]) tree(seed uint64) *Tree[T] {
	t := newTree[T](b.dim, b.metric, b.scale, seed)
	s := t.s
	s.newIDs(int32(len(b.next)))
	order := []int32{0}
	stack := []int32{0}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		kids := b.kids[v]
		order = append(order, kids...)
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	pos := make([]int32, len(order))
	for nu, ou := range order {
		pos[ou] = int32(nu)
	}
	kidBuf := make([]int32, 0, len(order))
	idBuf := make([]int32, 0, len(b.next))
	for _, ou := range order {
		nu := s.add(b.nodePoint(ou))
		n := s.mut(nu)
		n.level = b.level[ou]
		if ou != 0 {
			n.parent = pos[b.parent[ou]]
			n.pdist = b.pdist[ou]
		}
		start := len(kidBuf)
		for _, k := range b.kids[ou] {
			kidBuf = append(kidBuf, pos[k])
		}
		n.setKids(kidBuf[start:len(kidBuf):len(kidBuf)])
		start = len(idBuf)
		for id := b.head[ou]; id >= 0; id = b.next[id] {
			idBuf = append(idBuf, id)
			s.setNodeOf(id, nu)
		}
		ids := idBuf[start:len(idBuf):len(idBuf)]
		slices.Sort(ids)
		n.setIDs(ids)
	}
	t.root = 0
	t.n = len(b.next)
	t.nodes = len(order)
	t.buildEvals = b.evals + t.exactRadii()
	return t
}
