package core

import (
	"fmt"
	"math"
	"slices"
)

// Level covers: the nodes of a compressed cover tree at or above a level i
// form a net of the data at scale b^i (b the level base, 2 by default).
// By the separation condition they are pairwise more than b^i apart; by
// the cover condition every point lies within b^(i+1)/(b-1) (2^(i+1) for
// b = 2) of the nearest of its ancestors in the net, since the distances
// along a path of children of levels below i sum to less. Weighted by the
// points under each center, the net is a weighted b^i-cover of the data:
// a summary that gets coarser as i grows, with the root alone above the
// root's level.

// Center is one center of a level cover: a node of level >= i and the
// caller points it stands for.
type Center[T Float] struct {
	// Node is the center.
	Node Node[T]
	// Count is the number of caller points the center stands for: its own
	// (more than one for identical points) and those under its children of
	// levels below i, that is, the points whose nearest ancestor in the
	// cover it is. The counts of a cover sum to Len(); Count/Len() is the
	// center's weight.
	Count int
	// Radius bounds the distance, in the metric's units, from the center to
	// each point it stands for; it is below b^(i+1)/(b-1) in the units of
	// Tree.Dist.
	Radius float64
	// Dist is the distance from the query to the center, in the metric's
	// units, in the answers of CentersNear; it is 0 in those of Cover.
	Dist float64
}

// coverLevel clamps a level to the range of node levels.
func coverLevel(level int) int32 {
	return int32(min(max(level, math.MinInt32+1), math.MaxInt32-1))
}

// firstBelow returns the index of n's first child group of level < i
// (len(n.grp) if there is none).
func firstBelow(n *node, i int32) int32 {
	g := int32(0)
	for int(g) < len(n.groups()) && n.groups()[g].level >= i {
		g++
	}
	return g
}

// Cover returns the cover of the tree at the given level: every node of
// level >= level, the root included (alone once level reaches the root's
// level), parents before children. Nodes of level >= i are more than b^i
// apart (b = Base(), 2 by default), and each caller point is counted by
// exactly one center, its nearest ancestor of level >= i, within
// b^(i+1)/(b-1) of it (2^(i+1) for b = 2). An empty tree has an empty
// cover. The work is proportional to the size of the cover.
func (t *Tree[T]) Cover(level int) []Center[T] {
	if t.root < 0 {
		return nil
	}
	i := coverLevel(level)
	var out []Center[T]
	stack := []int32{t.root}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := t.node(u)
		g := firstBelow(n, i)
		out = append(out, Center[T]{
			Node:   Node[T]{t, u},
			Count:  int(n.subWeight(g)),
			Radius: t.outDist(n.subRad(g)),
		})
		end := n.groupStart(int(g))
		for k := end - 1; k >= 0; k-- {
			stack = append(stack, n.children()[k])
		}
	}
	return out
}

// CentersNear returns the centers of the cover at the given level (see
// Cover) within maxDist of q (d <= maxDist, in the metric's units), with
// their distances from q, nearest first, ties ordered by the centers'
// smallest caller index. q is a point as given to Build (not normalised);
// maxDist may be +Inf. It prunes with the subtree radii, so it measures
// only the centers that may be within reach and the nodes above them.
func (t *Tree[T]) CentersNear(q []T, level int, maxDist float64) ([]Center[T], error) {
	if math.IsNaN(maxDist) || maxDist < 0 {
		return nil, fmt.Errorf("core: maximum distance must be >= 0, got %v", maxDist)
	}
	if len(q) != t.s.dim {
		return nil, fmt.Errorf("core: query has %d coordinates, the tree %d", len(q), t.s.dim)
	}
	for j, v := range q {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("core: query has a non-finite coordinate %v at column %d", f, j)
		}
	}
	q, err := prepare(t.metric, q, t.s.dim)
	if err != nil {
		return nil, fmt.Errorf("core: query: %w", err)
	}
	if t.root < 0 {
		return nil, nil
	}
	i := coverLevel(level)
	r := t.inRadius(maxDist)
	var evals int64
	defer func() { t.queryEvals.Add(evals) }()
	var out []Center[T]
	emit := func(u int32, g int32, d float64) {
		if d <= r {
			n := t.node(u)
			out = append(out, Center[T]{
				Node:   Node[T]{t, u},
				Count:  int(n.subWeight(g)),
				Radius: t.outDist(n.subRad(g)),
				Dist:   t.outDist(d),
			})
		}
	}
	d0 := t.dist(q, t.point(t.root))
	evals++
	rn := t.node(t.root)
	g0 := firstBelow(rn, i)
	emit(t.root, g0, d0)
	stack := []cand{{node: t.root, g: g0, d: d0}}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := t.node(x.node)
		for _, c := range n.children()[:n.groupStart(int(x.g))] {
			cn := t.node(c)
			if prunable(x.d, cn.reach, r) {
				continue
			}
			dc := t.dist(q, t.point(c))
			evals++
			g := firstBelow(cn, i)
			emit(c, g, dc)
			if g > 0 && !prunable(dc, cn.rad, r) {
				stack = append(stack, cand{node: c, g: g, d: dc})
			}
		}
	}
	slices.SortFunc(out, func(a, b Center[T]) int {
		switch {
		case a.Dist < b.Dist:
			return -1
		case a.Dist > b.Dist:
			return 1
		}
		return int(a.Node.IDs()[0]) - int(b.Node.IDs()[0])
	})
	return out, nil
}
