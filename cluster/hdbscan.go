package cluster

import (
	"fmt"
	"math"
	"slices"

	"github.com/pcct-dev/pcct/core"
)

// Selection is how HDBSCAN picks its flat clustering from the condensed
// hierarchy.
type Selection int

const (
	// ExcessOfMass picks the clusters of greatest total stability, none of
	// them inside another (scikit-learn's "eom", the default).
	ExcessOfMass Selection = iota
	// Leaf picks the leaves of the condensed hierarchy: the finest clusters
	// (scikit-learn's "leaf").
	Leaf
)

// String returns the method's name as scikit-learn spells it.
func (s Selection) String() string {
	switch s {
	case ExcessOfMass:
		return "eom"
	case Leaf:
		return "leaf"
	}
	return fmt.Sprintf("Selection(%d)", int(s))
}

// HDBSCANOptions are the parameters of HDBSCAN, named and defined as in
// sklearn.cluster.HDBSCAN.
type HDBSCANOptions struct {
	// MinClusterSize is the least number of points a cluster has (>= 2).
	MinClusterSize int
	// MinSamples is the neighbourhood size of the core distance, the point
	// itself included (>= 1); 0 means MinClusterSize.
	MinSamples int
	// ClusterSelectionEpsilon merges the selected clusters that split
	// below this distance (>= 0; 0 merges none).
	ClusterSelectionEpsilon float64
	// MaxClusterSize bounds the clusters the excess-of-mass selection may
	// pick (0: no bound).
	MaxClusterSize int
	// Alpha divides the distances between points in the mutual
	// reachability distance (> 0; 0 means 1).
	Alpha float64
	// Method selects the clusters: ExcessOfMass (the default) or Leaf.
	Method Selection
	// AllowSingleCluster lets the selection return one cluster holding
	// every point.
	AllowSingleCluster bool
	Options
}

// HDBSCANResult is an HDBSCAN clustering. Labels and Probabilities are
// indexed by position among the tree's live caller indices in ascending
// order (caller index i for a tree made by Build).
type HDBSCANResult struct {
	// Labels holds each point's cluster, 0, 1, ..., or -1 for noise.
	Labels []int
	// Probabilities holds the strength of each point's membership of its
	// cluster, in [0, 1] (0 for noise).
	Probabilities []float64
	// Hierarchy is the single-linkage tree of the mutual reachability
	// distance (scikit-learn's single_linkage_tree_): row j joins the
	// clusters A and B, in the order the minimum spanning tree meets them,
	// at distance Dist into cluster n+j of Size points.
	Hierarchy []Merge
}

func (o *HDBSCANOptions) check(n int) error {
	if o.MinClusterSize < 2 {
		return fmt.Errorf("cluster: min_cluster_size must be at least 2, got %d", o.MinClusterSize)
	}
	if o.MinSamples == 0 {
		o.MinSamples = o.MinClusterSize
	}
	if o.MinSamples < 1 {
		return fmt.Errorf("cluster: min_samples must be at least 1, got %d", o.MinSamples)
	}
	if o.MinSamples > n {
		return fmt.Errorf("cluster: min_samples (%d) must be at most the number of samples (%d)", o.MinSamples, n)
	}
	if math.IsNaN(o.ClusterSelectionEpsilon) || o.ClusterSelectionEpsilon < 0 || math.IsInf(o.ClusterSelectionEpsilon, 1) {
		return fmt.Errorf("cluster: cluster_selection_epsilon must be a finite distance >= 0, got %v", o.ClusterSelectionEpsilon)
	}
	if o.MaxClusterSize < 0 {
		return fmt.Errorf("cluster: max_cluster_size must be >= 0 (0: no bound), got %d", o.MaxClusterSize)
	}
	if o.Alpha == 0 {
		o.Alpha = 1
	}
	if !(o.Alpha > 0) || math.IsInf(o.Alpha, 1) {
		return fmt.Errorf("cluster: alpha must be a positive finite number, got %v", o.Alpha)
	}
	if o.Method != ExcessOfMass && o.Method != Leaf {
		return fmt.Errorf("cluster: unknown cluster selection method %d", int(o.Method))
	}
	if n < 2 {
		return fmt.Errorf("cluster: HDBSCAN needs more than one sample, got %d", n)
	}
	return nil
}

// HDBSCAN clusters the tree's points as scikit-learn's
// sklearn.cluster.HDBSCAN does (Campello, Moulavi and Sander, PAKDD 2013;
// McInnes, Healy and Astels), with the same labels and probabilities.
//
// A point's core distance is the distance to its MinSamples-th nearest
// point (itself first), from the tree's k-nearest-neighbour search; the
// mutual reachability distance of two points is the largest of their core
// distances and their distance divided by Alpha. Its minimum spanning tree
// comes from the same Boruvka search as MinimumSpanningTree, with bounds
// on the core distances in each subtree. The single-linkage hierarchy of
// that tree is then condensed (clusters smaller than MinClusterSize fall
// out as points), and clusters are selected by excess of mass or as
// leaves, merged below ClusterSelectionEpsilon, as scikit-learn selects
// them. Where the spanning tree has edges of equal weight, scikit-learn
// visits them in the order of Prim's algorithm from the first point and of
// a sort that is not stable; this function uses Prim's order and a stable
// sort, which agree with it wherever the order of equal merges changes
// nothing.
func HDBSCAN[T core.Float](t *core.Tree[T], o HDBSCANOptions) (res HDBSCANResult, err error) {
	defer catch(&err)
	if err := o.check(t.Len()); err != nil {
		return res, err
	}
	f, err := flatten(t)
	if err != nil {
		return res, err
	}
	coreDist, err := f.coreDistances(o.MinSamples, o.Options)
	if err != nil {
		return res, err
	}
	b := newBoruvka(f, o.Options, nil, math.Inf(1))
	b.withCore(coreDist, o.Alpha)
	ne, err := b.run()
	if err != nil {
		return res, err
	}
	edges := f.pointEdges(ne, func(k int32) float64 { return coreDist[k] }, func(w float64) float64 { return w })
	n := len(f.live)
	for i, e := range edges {
		edges[i] = Edge{int(f.pos[e.I]), int(f.pos[e.J]), e.Dist}
	}
	h := primHierarchy(n, edges)
	res.Hierarchy = h
	res.Labels, res.Probabilities = labelHierarchy(h, o)
	return res, nil
}

// coreDistances returns each node's core distance in the metric's units:
// the distance to the minSamples-th nearest point, the node's own point
// first. It is recomputed in float64 from the neighbour the tree's search
// returns, as the search reports distances in the tree's precision.
func (f *flatTree[T]) coreDistances(minSamples int, o Options) ([]float64, error) {
	out := make([]float64, f.n)
	k := minSamples - 1 // the point itself is the first
	if k == 0 {
		return out, nil
	}
	ids := make([]int64, f.n)
	for i := range int32(f.n) {
		ids[i] = int64(f.firstID(i))
	}
	const chunk = 1 << 14
	dist := make([]T, min(chunk, f.n)*k)
	idx := make([]int64, min(chunk, f.n)*k)
	for lo := 0; lo < f.n; lo += chunk {
		hi := min(lo+chunk, f.n)
		m := hi - lo
		err := f.t.KNearestBatch(core.Batch[T]{IDs: ids[lo:hi], Jobs: o.Jobs, Monitor: o.Monitor}, k, dist[:m*k], idx[:m*k])
		if err != nil {
			return nil, err
		}
		for i := range m {
			q := int32(lo + i)
			far := f.t.Point(int(idx[i*k+k-1]))
			out[q] = f.t.MetricDistance(f.t.Dist(f.point(q), far))
		}
	}
	return out, nil
}

// primHierarchy returns the single-linkage hierarchy of a spanning tree of
// the points 0..n-1 as scikit-learn builds it from the output of Prim's
// algorithm: each edge is directed from the point Prim's algorithm (from
// point 0, lightest edge first, ties to the lower point) reached first to
// the other, the edges are sorted by weight (stable, so ties keep Prim's
// order), and each merge lists first the cluster of the edge's first point.
func primHierarchy(n int, edges []Edge) []Merge {
	if n < 2 {
		return nil
	}
	// The tree as adjacency lists.
	off := make([]int32, n+1)
	for _, e := range edges {
		off[e.I+1]++
		off[e.J+1]++
	}
	for i := range n {
		off[i+1] += off[i]
	}
	adj := make([]int32, 2*len(edges))
	adjW := make([]float64, 2*len(edges))
	fill := slices.Clone(off[:n])
	for _, e := range edges {
		adj[fill[e.I]], adjW[fill[e.I]] = int32(e.J), e.Dist
		fill[e.I]++
		adj[fill[e.J]], adjW[fill[e.J]] = int32(e.I), e.Dist
		fill[e.J]++
	}
	// Prim's algorithm on the tree: each point is offered once, by the
	// neighbour reached before it.
	src := make([]int32, n)
	key := make([]float64, n)
	seen := make([]bool, n)
	h := primHeap{key: key}
	order := make([]Edge, 0, n-1)
	seen[0] = true
	visit := func(u int32) {
		for i := off[u]; i < off[u+1]; i++ {
			if v := adj[i]; !seen[v] {
				seen[v] = true
				src[v], key[v] = u, adjW[i]
				h.push(v)
			}
		}
	}
	visit(0)
	for len(h.v) > 0 {
		v := h.pop()
		order = append(order, Edge{int(src[v]), int(v), key[v]})
		visit(v)
	}
	slices.SortStableFunc(order, func(a, b Edge) int {
		switch {
		case a.Dist < b.Dist:
			return -1
		case a.Dist > b.Dist:
			return 1
		}
		return 0
	})
	u := newLabelled(n)
	out := make([]Merge, len(order))
	for j, e := range order {
		a, b := u.label(e.I), u.label(e.J)
		out[j] = Merge{A: a, B: b, Dist: e.Dist, Size: u.join(e.I, e.J, n+j)}
	}
	return out
}

// primHeap is a binary min-heap of points by (key, point).
type primHeap struct {
	v   []int32
	key []float64
}

func (h *primHeap) less(a, b int32) bool {
	ka, kb := h.key[a], h.key[b]
	return ka < kb || (ka == kb && a < b)
}

func (h *primHeap) push(x int32) {
	h.v = append(h.v, x)
	for j := len(h.v) - 1; j > 0; {
		p := (j - 1) / 2
		if !h.less(h.v[j], h.v[p]) {
			break
		}
		h.v[p], h.v[j] = h.v[j], h.v[p]
		j = p
	}
}

func (h *primHeap) pop() int32 {
	top := h.v[0]
	last := len(h.v) - 1
	h.v[0] = h.v[last]
	h.v = h.v[:last]
	for j := 0; ; {
		l := 2*j + 1
		if l >= len(h.v) {
			break
		}
		m := l
		if l+1 < len(h.v) && h.less(h.v[l+1], h.v[l]) {
			m = l + 1
		}
		if !h.less(h.v[m], h.v[j]) {
			break
		}
		h.v[j], h.v[m] = h.v[m], h.v[j]
		j = m
	}
	return top
}
