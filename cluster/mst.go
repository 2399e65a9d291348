package cluster

import (
	"cmp"
	"math"
	"slices"

	"github.com/pcct-dev/pcct/core"
)

// Edge is an edge of a spanning tree: two caller indices, I < J, and the
// distance between their points in the metric's units.
type Edge struct {
	I, J int
	Dist float64
}

// MinimumSpanningTree returns the edges of an exact minimum spanning tree
// of the tree's points under its metric: n-1 edges for n points
// (duplicates included, joined by edges of distance 0), sorted by
// distance, then by I and J. It is Boruvka's algorithm with a pruned tree
// search per node (see the package documentation); where several spanning
// trees have the least total distance, ties are broken by caller index, so
// the answer does not depend on o.Jobs. An empty tree has no edges.
//
// Under the Cosine metric the tree is the minimum spanning tree of the
// cosine distances (the Euclidean distance between normalised points, in
// whose order the search runs, ranks edges the same way).
func MinimumSpanningTree[T core.Float](t *core.Tree[T], o Options) (edges []Edge, err error) {
	defer catch(&err)
	if t.Len() == 0 {
		return nil, nil
	}
	f, err := flatten(t)
	if err != nil {
		return nil, err
	}
	keep := min(listLen, len(f.live)-1)
	_, near, reach, err := f.nearest(keep, 0, keep, nil, o)
	if err != nil {
		return nil, err
	}
	b := newBoruvka(f, o, nil, math.Inf(1))
	b.seed(near, reach)
	ne, err := b.run()
	if err != nil {
		return nil, err
	}
	edges = f.pointEdges(ne, func(k int32) float64 { return 0 }, t.MetricDistance)
	sortEdges(edges)
	return edges, nil
}

// pointEdges turns a spanning forest of nodes into one of caller indices:
// each node edge joins the nodes' smallest caller indices (its weight
// converted by conv), and the identical points of a node are joined to
// its smallest caller index by edges of weight self(node).
func (f *flatTree[T]) pointEdges(ne []nodeEdge, self func(k int32) float64, conv func(float64) float64) []Edge {
	edges := make([]Edge, 0, len(ne)+len(f.ids)-f.n)
	for k := range int32(f.n) {
		ids := f.idsOf(k)
		for _, id := range ids[1:] {
			edges = append(edges, Edge{int(ids[0]), int(id), self(k)})
		}
	}
	for _, e := range ne {
		i, j := int(f.firstID(e.a)), int(f.firstID(e.b))
		edges = append(edges, Edge{min(i, j), max(i, j), conv(e.w)})
	}
	return edges
}

func sortEdges(edges []Edge) {
	slices.SortFunc(edges, func(a, b Edge) int {
		if c := cmp.Compare(a.Dist, b.Dist); c != 0 {
			return c
		}
		if c := cmp.Compare(a.I, b.I); c != 0 {
			return c
		}
		return cmp.Compare(a.J, b.J)
	})
}
