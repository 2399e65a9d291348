package cluster

import (
	"fmt"
	"slices"

	"github.com/pcct-dev/pcct/core"
)

// Merge is one row of a linkage matrix, in the format of
// scipy.cluster.hierarchy: the two clusters joined (a number below n is
// the leaf of that point, n+j the cluster made by row j), the distance at
// which they join and the number of points in the new cluster.
type Merge struct {
	A, B int
	Dist float64
	Size int
}

// SingleLinkage returns the single-linkage hierarchy of the tree's n
// points as n-1 merges, in scipy's linkage format (as
// scipy.cluster.hierarchy.linkage(X, method="single") returns it): row j
// joins clusters A < B at distance Dist into cluster n+j, and the rows are
// ordered by distance. Leaf i is the point at position i among the tree's
// live caller indices in ascending order (caller index i for a tree made
// by Build). The merge distances are the minimum spanning tree's edge
// lengths; where several merges happen at one distance, which clusters
// get the lower numbers may differ from scipy's, the flat clusterings
// (fcluster) and the cophenetic distances do not.
func SingleLinkage[T core.Float](t *core.Tree[T], o Options) ([]Merge, error) {
	edges, err := MinimumSpanningTree(t, o)
	if err != nil {
		return nil, err
	}
	if len(edges) == 0 {
		return nil, nil
	}
	ids := t.LiveIDs(make([]int64, 0, t.Len()))
	pos := make(map[int]int, len(ids))
	for i, id := range ids {
		pos[int(id)] = i
	}
	for i, e := range edges {
		a, b := pos[e.I], pos[e.J]
		edges[i] = Edge{min(a, b), max(a, b), e.Dist}
	}
	return Linkage(len(ids), edges)
}

// Linkage returns the single-linkage hierarchy defined by a spanning tree
// of the points 0..n-1, in scipy's linkage format (see SingleLinkage). The
// edges are taken in order of distance (a stable sort), so ties keep the
// order given. It returns an error unless the edges form a spanning tree.
func Linkage(n int, edges []Edge) ([]Merge, error) {
	if n < 1 || len(edges) != n-1 {
		return nil, fmt.Errorf("cluster: %d edges cannot span %d points", len(edges), n)
	}
	edges = slices.Clone(edges)
	sortByDist(edges)
	u := newLabelled(n)
	out := make([]Merge, n-1)
	for j, e := range edges {
		if e.I < 0 || e.I >= n || e.J < 0 || e.J >= n {
			return nil, fmt.Errorf("cluster: edge (%d, %d) names a point outside 0..%d", e.I, e.J, n-1)
		}
		a, b := u.label(e.I), u.label(e.J)
		if a == b {
			return nil, fmt.Errorf("cluster: edge (%d, %d) closes a cycle", e.I, e.J)
		}
		out[j] = Merge{A: min(a, b), B: max(a, b), Dist: e.Dist, Size: u.join(e.I, e.J, n+j)}
	}
	return out, nil
}

// sortByDist sorts edges by distance, keeping the order of equal ones.
func sortByDist(edges []Edge) {
	slices.SortStableFunc(edges, func(a, b Edge) int {
		switch {
		case a.Dist < b.Dist:
			return -1
		case a.Dist > b.Dist:
			return 1
		}
		return 0
	})
}

// labelled is a union-find over points that names each set by the
// linkage cluster it forms.
type labelled struct {
	parent []int32
	size   []int32
	name   []int32 // per root: the set's cluster number
}

func newLabelled(n int) *labelled {
	u := &labelled{parent: make([]int32, n), size: make([]int32, n), name: make([]int32, n)}
	for i := range n {
		u.parent[i], u.size[i], u.name[i] = int32(i), 1, int32(i)
	}
	return u
}

func (u *labelled) find(x int) int32 {
	r := int32(x)
	for u.parent[r] != r {
		r = u.parent[r]
	}
	for y := int32(x); u.parent[y] != r; {
		u.parent[y], y = r, u.parent[y]
	}
	return r
}

// label returns the cluster number of the set holding x.
func (u *labelled) label(x int) int { return int(u.name[u.find(x)]) }

// join unites the sets of x and y under the cluster number name and
// returns the new set's size.
func (u *labelled) join(x, y, name int) int {
	a, b := u.find(x), u.find(y)
	if u.size[a] < u.size[b] {
		a, b = b, a
	}
	u.parent[b] = a
	u.size[a] += u.size[b]
	u.name[a] = int32(name)
	return int(u.size[a])
}
