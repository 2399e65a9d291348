package core

import "sync/atomic"

// Tree is an immutable compressed cover tree over a set of points in R^d.
//
// Node 0 is the root. The children of every node occupy one contiguous block
// of node numbers, ordered by level, highest first, and blocks follow the
// depth-first order of their parents; so the children of a node at one level
// are a run of consecutive rows of the point storage, which the searches
// read sequentially. A Tree is safe for concurrent use.
type Tree[T Float] struct {
	dim    int
	n      int // caller points, duplicates included
	metric Metric
	dist   distFunc[T]
	scale  scale

	pts    []T       // node points, row-major, in node order
	level  []int32   // node -> level
	parent []int32   // node -> parent node, -1 for the root
	pdist  []float64 // node -> distance to its parent
	rad    []float64 // node -> largest distance to a descendant

	// Children grouped by level: node v's groups are grpOff[v]..grpOff[v+1]
	// in descending level order; group g holds the children of level
	// grpLevel[g], nodes grpFirst[g]..grpEnd[g]-1. grpRad[g] is the largest
	// distance from v to a node in the subtrees of groups g, g+1, ..., and
	// grpW[g] the number of caller points in them: for a level i, with g the
	// first group of level < i, the distinctive descendants S_i(v) are v and
	// those subtrees.
	grpOff   []int32
	grpLevel []int32
	grpFirst []int32
	grpEnd   []int32
	grpRad   []float64
	grpW     []int64

	idOff  []int32 // caller indices of node v: ids[idOff[v]:idOff[v+1]], ascending
	ids    []int32
	nodeOf []int32 // caller index -> node

	minLevel   int32
	buildEvals int64
	queryEvals atomic.Int64
}

// point returns node v's coordinates.
func (t *Tree[T]) point(v int32) []T {
	o := int(v) * t.dim
	return t.pts[o : o+t.dim : o+t.dim]
}

// weight returns |S_i(v)| counted in caller points, where g is v's first
// group of level < i.
func (t *Tree[T]) weight(v, g int32) int64 {
	w := int64(t.idOff[v+1] - t.idOff[v])
	if g < t.grpOff[v+1] {
		w += t.grpW[g]
	}
	return w
}

// groupRad bounds the distance from v to S_i(v) \ {v}, where g is v's first
// group of level < i.
func (t *Tree[T]) groupRad(v, g int32) float64 {
	if g < t.grpOff[v+1] {
		return t.grpRad[g]
	}
	return 0
}

// Dim returns the dimension of the points.
func (t *Tree[T]) Dim() int { return t.dim }

// Len returns the number of points, duplicates included.
func (t *Tree[T]) Len() int { return t.n }

// Nodes returns the number of nodes, one per distinct point.
func (t *Tree[T]) Nodes() int { return len(t.level) }

// Base returns the tree's level base.
func (t *Tree[T]) Base() float64 { return t.scale.base }

// Metric returns the tree's distance function.
func (t *Tree[T]) Metric() Metric { return t.metric }

// Point returns the coordinates of caller index i. The slice aliases the
// tree's storage and must not be modified.
func (t *Tree[T]) Point(i int) []T { return t.point(t.nodeOf[i]) }

// DistanceEvals returns the number of distance evaluations spent building
// the tree and answering queries so far.
func (t *Tree[T]) DistanceEvals() (build, query int64) {
	return t.buildEvals, t.queryEvals.Load()
}
