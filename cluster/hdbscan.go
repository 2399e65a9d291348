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
// is ReachabilityTree's. The single-linkage hierarchy of that tree is then
// condensed (clusters smaller than MinClusterSize fall out as points), and
// clusters are selected by excess of mass or as leaves, merged below
// ClusterSelectionEpsilon, as scikit-learn selects them (LabelTree).
//
// scikit-learn sorts the spanning tree's edges with numpy's default sort,
// which does not keep the order of equal weights; HDBSCAN uses a stable
// sort, which keeps Prim's order. Where weights tie at a split of the
// hierarchy the two can differ; to reproduce scikit-learn exactly, sort
// ReachabilityTree's edges as it does and call LabelTree (pcct's Python
// package does).
func HDBSCAN[T core.Float](t *core.Tree[T], o HDBSCANOptions) (res HDBSCANResult, err error) {
	edges, err := ReachabilityTree(t, o)
	if err != nil {
		return res, err
	}
	sortByDist(edges)
	return LabelTree(t.Len(), edges, o)
}

// ReachabilityTree returns the minimum spanning tree of the tree's points
// under HDBSCAN's mutual reachability distance (see HDBSCAN) that
// scikit-learn's HDBSCAN finds: its n-1 edges in the order Prim's
// algorithm over all pairs of points takes them from the first point, each
// directed from the point it came from (I) to the point it reached (J),
// points named by position among the live caller indices in ascending
// order. Distances are computed as scikit-learn computes them for the
// Euclidean, Manhattan and Chebyshev metrics (sequential sums in float64),
// so that the same weights tie.
//
// The spanning tree comes from the Boruvka search of MinimumSpanningTree,
// with bounds on the core distances in each subtree; Prim's choices among
// equal weights are then replayed over every edge that can be in a
// minimum spanning tree: the pairs within the larger of their core
// distances, those whose weight ties the bottleneck between them in the
// spanning tree found, and the spanning tree's own edges.
func ReachabilityTree[T core.Float](t *core.Tree[T], o HDBSCANOptions) (edges []Edge, err error) {
	defer catch(&err)
	if err := o.check(t.Len()); err != nil {
		return nil, err
	}
	f, err := flatten(t)
	if err != nil {
		return nil, err
	}
	coreDist, near, reach, err := f.coreDistances(o.MinSamples, o.Options)
	if err != nil {
		return nil, err
	}
	b := newBoruvka(f, o.Options, nil, math.Inf(1))
	b.withCore(coreDist, o.Alpha)
	b.seed(near, reach)
	tree, err := b.run()
	if err != nil {
		return nil, err
	}
	r := &reachability[T]{f: f, core: coreDist, alpha: o.Alpha}
	if err := r.candidates(tree, b.minCore, near, reach, o.Options); err != nil {
		return nil, err
	}
	return r.prim(), nil
}

// LabelTree condenses the single-linkage hierarchy of n points that the
// spanning tree edges define, taken in the given order (scikit-learn's
// make_single_linkage: each merge lists first the cluster of the edge's
// point I), selects clusters as HDBSCAN does and returns the labels,
// probabilities and hierarchy. It returns an error unless the edges form a
// spanning tree of the points 0..n-1.
func LabelTree(n int, edges []Edge, o HDBSCANOptions) (res HDBSCANResult, err error) {
	defer catch(&err)
	if o.MinSamples == 0 {
		o.MinSamples = 1 // not used here; check wants one within n
	}
	if err := o.check(n); err != nil {
		return res, err
	}
	if len(edges) != n-1 {
		return res, fmt.Errorf("cluster: %d edges cannot span %d points", len(edges), n)
	}
	u := newLabelled(n)
	h := make([]Merge, len(edges))
	for j, e := range edges {
		if e.I < 0 || e.I >= n || e.J < 0 || e.J >= n {
			return res, fmt.Errorf("cluster: edge (%d, %d) names a point outside 0..%d", e.I, e.J, n-1)
		}
		a, b := u.label(e.I), u.label(e.J)
		if a == b {
			return res, fmt.Errorf("cluster: edge (%d, %d) closes a cycle", e.I, e.J)
		}
		if math.IsNaN(e.Dist) || e.Dist < 0 {
			return res, fmt.Errorf("cluster: edge (%d, %d) has distance %v", e.I, e.J, e.Dist)
		}
		h[j] = Merge{A: a, B: b, Dist: e.Dist, Size: u.join(e.I, e.J, n+j)}
	}
	res.Hierarchy = h
	res.Labels, res.Probabilities = labelHierarchy(h, o)
	return res, nil
}

// coreDistances returns each node's core distance in the metric's units:
// the distance to the minSamples-th nearest point, the node's own point
// first. It is recomputed in float64 (by refDist) from the neighbour the
// tree's search returns, as the search reports distances in the tree's
// precision. With the same search it returns each node's nearest nodes
// (see nearest: all the search finds, at least listLen, and one beyond
// the core distance's), which seed Boruvka's first round and hold the
// pairs within a core distance.
func (f *flatTree[T]) coreDistances(minSamples int, o Options) (coreDist []float64, near []int32, reach []float64, err error) {
	m := min(max(minSamples, listLen), len(f.live)-1)
	return f.nearest(m, minSamples-1, m, refDist[T], o)
}

// nearBuffer is the number of answers (distance and index) nearest
// buffers per batch: 64 MiB in float64.
const nearBuffer = 1 << 22

// nearest runs the tree's k-nearest-neighbour search for m points from
// every node's point (its own point left out, its duplicates counted).
// It returns, per node, the distance to the kth of them (kth >= 1; 0
// gives zeros), measured again by measure, as the search reports
// distances in the tree's precision; and, if keep > 0, the nodes of the
// first keep answers (keep per node, -1 for an answer that is a duplicate
// of the node or of an earlier answer) and the distance of the keep-th as
// the search reported it, in the units of Tree.Dist: every node not listed
// is at least that far.
func (f *flatTree[T]) nearest(m, kth, keep int, measure func(*core.Tree[T], []T, []T) float64, o Options) (kthDist []float64, near []int32, reach []float64, err error) {
	kthDist = make([]float64, f.n)
	if keep > 0 {
		near = make([]int32, f.n*keep)
		reach = make([]float64, f.n)
	}
	if m <= 0 {
		return kthDist, near, reach, nil
	}
	var nodeOf []int32
	if keep > 0 {
		nodeOf = make([]int32, f.t.IDs())
		for k := range int32(f.n) {
			for _, id := range f.idsOf(k) {
				nodeOf[id] = k
			}
		}
	}
	ids := make([]int64, f.n)
	for k := range int32(f.n) {
		ids[k] = int64(f.firstID(k))
	}
	// The search lays out the tree for every batch: the batches are as
	// large as a bounded buffer allows (the layout of 16,384-point batches
	// took half of a 200,000-point search).
	chunk := max(1<<14, nearBuffer/m)
	dist := make([]T, min(chunk, f.n)*m)
	idx := make([]int64, min(chunk, f.n)*m)
	for lo := 0; lo < f.n; lo += chunk {
		hi := min(lo+chunk, f.n)
		c := hi - lo
		err := f.t.KNearestBatch(core.Batch[T]{IDs: ids[lo:hi], Jobs: o.Jobs, Monitor: o.Monitor}, m, dist[:c*m], idx[:c*m])
		if err != nil {
			return nil, nil, nil, err
		}
		for i := range c {
			q := int32(lo + i)
			row := idx[i*m : (i+1)*m]
			if kth > 0 {
				kthDist[q] = measure(f.t, f.point(q), f.t.Point(int(row[kth-1])))
			}
			if keep == 0 {
				continue
			}
			out := near[int(q)*keep : int(q+1)*keep]
			for j, id := range row[:keep] {
				r := nodeOf[id]
				if r == q || slices.Contains(out[:j], r) {
					r = -1
				}
				out[j] = r
			}
			reach[q] = f.t.SearchDistance(float64(dist[i*m+keep-1]))
		}
	}
	return kthDist, near, reach, nil
}
