package core

import "fmt"

// A read-only view of a tree's nodes, for algorithms that walk the tree
// themselves (dual-tree and per-node searches, such as the minimum spanning
// tree and the clusterings of package cluster). Nothing here can change a
// tree: a Tree is immutable, and so is every node of it.

// Node is a read-only handle to one node of a tree version: one distinct
// point, the caller indices of the identical points it holds, its level
// and its children. The zero Node is not a node; Root, NodeOf, Child and
// Parent return valid ones. A Node stays valid as long as its Tree (tree
// versions never change), and is safe for concurrent use.
//
// Distances between node points are the tree's search distances: see
// Tree.Dist.
type Node[T Float] struct {
	t *Tree[T]
	u int32
}

// Root returns the root node, or false for an empty tree.
func (t *Tree[T]) Root() (Node[T], bool) {
	if t.root < 0 {
		return Node[T]{}, false
	}
	return Node[T]{t, t.root}, true
}

// NodeOf returns the node holding caller index id, or false if the tree
// does not hold it.
func (t *Tree[T]) NodeOf(id int) (Node[T], bool) {
	if !t.Has(id) {
		return Node[T]{}, false
	}
	return Node[T]{t, t.s.nodeOf(int32(id))}, true
}

// Slots returns a bound on node indices: every node's Index is in
// [0, Slots()). It is at least Nodes(), and larger after deletions (which
// free slots that are not reused by the same version), so a slice of
// Slots() entries can hold a value per node.
func (t *Tree[T]) Slots() int { return int(t.s.slots) }

// Dist returns the distance the tree measures between two points as it
// stores them (Node.Point): the metric's own distance, except under
// Cosine, where points are stored normalised and Dist is the Euclidean
// distance between them (MetricDistance converts it). Every radius bound
// of the nodes is in these units. Dist is computed in float64 from the
// exact coordinate differences, as every search of the tree computes it.
func (t *Tree[T]) Dist(a, b []T) float64 { return t.dist(a, b) }

// MetricDistance converts a distance measured by Dist into the metric's
// units: the identity except under Cosine, where it returns 1 - cos, that
// is d*d/2. It is non-decreasing, so it preserves the order of distances
// and turns lower and upper bounds into bounds.
func (t *Tree[T]) MetricDistance(d float64) float64 { return t.outDist(d) }

// SearchDistance converts a distance in the metric's units into the units
// of Dist: the inverse of MetricDistance.
func (t *Tree[T]) SearchDistance(r float64) float64 { return t.inRadius(r) }

// PreparePoint returns q as the tree stores points, so that Dist can
// compare it with node points: for Cosine a normalised copy, otherwise q
// itself. It returns an error for a point the metric does not accept (a
// zero vector under Cosine, a latitude beyond a pole under Haversine) or of
// the wrong dimension.
func (t *Tree[T]) PreparePoint(q []T) ([]T, error) {
	if len(q) != t.s.dim {
		return nil, fmt.Errorf("core: point has %d coordinates, the tree %d", len(q), t.s.dim)
	}
	p, err := prepare(t.metric, q, t.s.dim)
	if err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	return p, nil
}

// Index returns the node's slot: a number in [0, Tree.Slots()) that no
// other node of the same tree version has, for indexing per-node slices.
func (n Node[T]) Index() int { return int(n.u) }

// Level returns the node's level i: its children lie within b^(i+1) of it
// for the tree's level base b (2 by default), and nodes of level >= i are
// more than b^i apart. The root's level is one above its highest child's
// (0 for a lone root), as Tree.Stats and Tree.Structure report it.
func (n Node[T]) Level() int {
	if n.u == n.t.root {
		return int(n.t.rootLevel())
	}
	return int(n.t.node(n.u).level)
}

// Point returns the node's coordinates as the tree stores them
// (normalised under Cosine). The slice aliases the tree's storage and must
// not be modified.
func (n Node[T]) Point() []T { return n.t.point(n.u) }

// IDs returns the caller indices of the identical points the node holds,
// ascending (at least one). The slice aliases the tree's storage and must
// not be modified.
func (n Node[T]) IDs() []int32 { return n.t.node(n.u).idList() }

// Count returns the number of caller points the node holds: len(IDs()).
func (n Node[T]) Count() int { return int(n.t.node(n.u).nid) }

// Weight returns the number of caller points in the node's subtree, its
// own included.
func (n Node[T]) Weight() int { return int(n.t.node(n.u).weight) }

// Radius returns an upper bound on the distance (as Tree.Dist measures it)
// from the node's point to any point of its subtree: 0 for a leaf. It is
// exact after Build and stays a valid bound through Insert and Delete.
func (n Node[T]) Radius() float64 { return n.t.node(n.u).rad }

// Parent returns the node's parent, or false for the root.
func (n Node[T]) Parent() (Node[T], bool) {
	p := n.t.node(n.u).parent
	if p < 0 {
		return Node[T]{}, false
	}
	return Node[T]{n.t, p}, true
}

// Reach returns an upper bound on the distance (as Tree.Dist measures it)
// from the node's parent to any point of the node's subtree, the node
// included; 0 for the root. A search at distance d from the parent can
// skip the subtree without measuring the node when d - Reach() is beyond
// its bound. Like Radius it is exact after Build and a valid bound after
// updates.
func (n Node[T]) Reach() float64 {
	if n.u == n.t.root {
		return 0
	}
	return n.t.node(n.u).reach
}

// ParentDistance returns the distance (as Tree.Dist measures it) from the
// node to its parent, 0 for the root.
func (n Node[T]) ParentDistance() float64 { return n.t.node(n.u).pdist }

// NumChildren returns the number of the node's children.
func (n Node[T]) NumChildren() int { return len(n.t.node(n.u).children()) }

// Child returns the node's i-th child, for 0 <= i < NumChildren().
// Children are ordered by level, descending.
func (n Node[T]) Child(i int) Node[T] { return Node[T]{n.t, n.t.node(n.u).children()[i]} }
