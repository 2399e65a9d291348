package cluster

import (
	"math"
	"slices"
)

// The condensed hierarchy of HDBSCAN and the selection of its clusters,
// defined as scikit-learn defines them, so that labels, their numbering
// and probabilities agree with sklearn.cluster.HDBSCAN given the same
// single-linkage hierarchy.

// condensedRow is one edge of the condensed hierarchy: a cluster (numbered
// from n, the root) and a child, which is a point (below n) that falls out
// of it or a cluster that splits off, at lambda = 1/distance, with the
// child's size.
type condensedRow struct {
	parent, child int
	lambda        float64
	size          int
}

// bfsHierarchy appends to out the nodes of the single-linkage hierarchy h
// below and including node, breadth first, left before right.
func bfsHierarchy(h []Merge, node int, out []int) []int {
	n := len(h) + 1
	start := len(out)
	out = append(out, node)
	for i := start; i < len(out); i++ {
		if x := out[i]; x >= n {
			out = append(out, h[x-n].A, h[x-n].B)
		}
	}
	return out
}

func lambdaOf(d float64) float64 {
	if d > 0 {
		return 1 / d
	}
	return math.Inf(1)
}

// condense returns the condensed hierarchy: walking the single-linkage
// hierarchy from the root breadth first, a split into two parts of at
// least minSize points makes two new clusters; otherwise the small parts
// fall out of the current cluster point by point, and the cluster goes on
// as the large part.
func condense(h []Merge, minSize int) []condensedRow {
	n := len(h) + 1
	root := 2 * len(h)
	nodes := bfsHierarchy(h, root, make([]int, 0, root+1))
	relabel := make([]int, root+1)
	relabel[root] = n
	next := n + 1
	ignore := make([]bool, root+1)
	size := func(x int) int {
		if x >= n {
			return h[x-n].Size
		}
		return 1
	}
	var rows []condensedRow
	var sub []int
	fallOut := func(parent, x int, lambda float64) {
		sub = bfsHierarchy(h, x, sub[:0])
		for _, s := range sub {
			if s < n {
				rows = append(rows, condensedRow{parent, s, lambda, 1})
			}
			ignore[s] = true
		}
	}
	for _, node := range nodes {
		if ignore[node] || node < n {
			continue
		}
		m := h[node-n]
		left, right := m.A, m.B
		lambda := lambdaOf(m.Dist)
		lc, rc := size(left), size(right)
		p := relabel[node]
		switch {
		case lc >= minSize && rc >= minSize:
			relabel[left] = next
			next++
			rows = append(rows, condensedRow{p, relabel[left], lambda, lc})
			relabel[right] = next
			next++
			rows = append(rows, condensedRow{p, relabel[right], lambda, rc})
		case lc < minSize && rc < minSize:
			fallOut(p, left, lambda)
			fallOut(p, right, lambda)
		case lc < minSize:
			relabel[right] = p
			fallOut(p, left, lambda)
		default:
			relabel[left] = p
			fallOut(p, right, lambda)
		}
	}
	return rows
}

// clusterTree is the condensed hierarchy's clusters: for each cluster
// (indexed from the root, cluster n), its parent, children, birth, the
// largest lambda of its rows (its death), size and stability.
type clusterTree struct {
	n        int // points; cluster c is index c-n
	parent   []int
	kids     [][]int
	birth    []float64 // lambda of the row that made it; 0 for the root
	death    []float64
	size     []int // from the row that made it (the root: see selectClusters)
	stab     []float64
	rowOf    []int // per point: its row (the cluster it falls out of)
	rows     []condensedRow
	hasSplit bool // some cluster splits: the cluster tree has an edge
}

func newClusterTree(rows []condensedRow, n int) *clusterTree {
	m := 1
	for _, r := range rows {
		m = max(m, r.parent-n+1)
		if r.size > 1 {
			m = max(m, r.child-n+1)
		}
	}
	c := &clusterTree{
		n: n, rows: rows,
		parent: make([]int, m), kids: make([][]int, m),
		birth: make([]float64, m), death: make([]float64, m),
		size: make([]int, m), stab: make([]float64, m),
		rowOf: make([]int, n),
	}
	c.parent[0] = -1
	for i, r := range rows {
		if r.child >= n {
			c.birth[r.child-n] = r.lambda
		} else {
			c.rowOf[r.child] = i
		}
	}
	for _, r := range rows {
		p := r.parent - n
		c.stab[p] += (r.lambda - c.birth[p]) * float64(r.size)
		c.death[p] = max(c.death[p], r.lambda)
		if r.size > 1 {
			k := r.child - n
			c.parent[k] = r.parent
			c.kids[p] = append(c.kids[p], r.child)
			c.size[k] = r.size
			c.hasSplit = true
		}
	}
	return c
}

// below returns cluster x and the clusters under it.
func (c *clusterTree) below(x int) []int {
	out := []int{x}
	for i := 0; i < len(out); i++ {
		out = append(out, c.kids[out[i]-c.n]...)
	}
	return out
}

// epsilonSelect replaces each selected cluster born below distance eps
// by its lowest ancestor born above eps (a child of the root stays, or
// becomes the root if a single cluster is allowed).
func (c *clusterTree) epsilonSelect(leaves []int, eps float64, allowSingle bool) map[int]bool {
	root := c.n
	selected := map[int]bool{}
	processed := map[int]bool{}
	for _, leaf := range leaves {
		if 1/c.birth[leaf-c.n] >= eps {
			selected[leaf] = true
			continue
		}
		if processed[leaf] {
			continue
		}
		x := leaf
		for {
			p := c.parent[x-c.n]
			if p == root {
				if allowSingle {
					x = p
				}
				break
			}
			if 1/c.birth[p-c.n] > eps {
				x = p
				break
			}
			x = p
		}
		selected[x] = true
		for _, s := range c.below(x)[1:] {
			processed[s] = true
		}
	}
	return selected
}

// selectClusters returns the selected clusters, ascending.
func (c *clusterTree) selectClusters(o HDBSCANOptions) []int {
	n := c.n
	m := len(c.parent)
	root := n
	if !c.hasSplit {
		if o.Method == ExcessOfMass && o.AllowSingleCluster {
			return []int{root}
		}
		return nil
	}
	var selected map[int]bool
	if o.Method == ExcessOfMass {
		maxSize := o.MaxClusterSize
		if maxSize <= 0 {
			maxSize = n + 1
		}
		size := slices.Clone(c.size)
		if o.AllowSingleCluster {
			size[0] = 0
			for _, k := range c.kids[0] {
				size[0] += c.size[k-n]
			}
		}
		stab := slices.Clone(c.stab)
		is := make([]bool, m)
		lowest := 1
		if o.AllowSingleCluster {
			lowest = 0
		}
		for i := lowest; i < m; i++ {
			is[i] = true
		}
		for i := m - 1; i >= lowest; i-- {
			var sub float64
			for _, k := range c.kids[i] {
				sub += stab[k-n]
			}
			if sub > stab[i] || size[i] > maxSize {
				is[i] = false
				stab[i] = sub
			} else {
				for _, s := range c.below(n + i)[1:] {
					is[s-n] = false
				}
			}
		}
		var eom []int
		for i := m - 1; i >= lowest; i-- {
			if is[i] {
				eom = append(eom, n+i)
			}
		}
		if o.ClusterSelectionEpsilon == 0 {
			return ascending(eom)
		}
		if len(eom) == 1 && eom[0] == root {
			if o.AllowSingleCluster {
				return eom
			}
			return nil
		}
		selected = c.epsilonSelect(eom, o.ClusterSelectionEpsilon, o.AllowSingleCluster)
	} else {
		var leaves []int
		var walk func(x int)
		walk = func(x int) {
			if len(c.kids[x-n]) == 0 {
				leaves = append(leaves, x)
				return
			}
			for _, k := range c.kids[x-n] {
				walk(k)
			}
		}
		walk(root)
		if o.ClusterSelectionEpsilon == 0 {
			return ascending(leaves)
		}
		selected = c.epsilonSelect(leaves, o.ClusterSelectionEpsilon, o.AllowSingleCluster)
	}
	var out []int
	for x := range selected {
		if x != root || o.AllowSingleCluster {
			out = append(out, x)
		}
	}
	return ascending(out)
}

func ascending(x []int) []int {
	slices.Sort(x)
	return x
}

// labelHierarchy condenses a single-linkage hierarchy of n points, selects
// its clusters and returns each point's label and membership probability.
func labelHierarchy(h []Merge, o HDBSCANOptions) ([]int, []float64) {
	n := len(h) + 1
	c := newClusterTree(condense(h, o.MinClusterSize), n)
	clusters := c.selectClusters(o)
	number := make([]int, len(c.parent)) // cluster -> label, -1 if not selected
	for i := range number {
		number[i] = -1
	}
	for i, x := range clusters {
		number[x-n] = i
	}
	// Each cluster's selected ancestor (itself if selected), or -1.
	top := make([]int, len(c.parent))
	for i := range top {
		top[i] = -1
		if number[i] >= 0 {
			top[i] = n + i
		} else if p := c.parent[i]; p >= 0 {
			top[i] = top[p-n] // parents are numbered before their children
		}
	}
	root := n
	single := len(clusters) == 1 && o.AllowSingleCluster
	var threshold float64
	if single {
		if o.ClusterSelectionEpsilon != 0 {
			threshold = 1 / o.ClusterSelectionEpsilon
		} else {
			threshold = c.death[0]
		}
	}
	labels := make([]int, n)
	probs := make([]float64, n)
	for p := range n {
		r := c.rows[c.rowOf[p]]
		x := top[r.parent-n]
		label := -1
		switch {
		case x >= 0 && x != root:
			label = number[x-n]
		case single && r.lambda >= threshold && number[0] >= 0:
			label, x = number[0], root
		}
		labels[p] = label
		if label < 0 {
			continue
		}
		death := c.death[x-n]
		if death == 0 || math.IsInf(r.lambda, 1) {
			probs[p] = 1
		} else {
			probs[p] = min(r.lambda, death) / death
		}
	}
	return labels, probs
}

// LabelsAtCut returns the flat clustering of a single-linkage hierarchy of
// n points (HDBSCANResult.Hierarchy) cut at a distance, as scikit-learn's
// HDBSCAN.dbscan_clustering(cut_distance, min_cluster_size) computes it:
// the points joined by merges below cut form clusters, those with fewer
// than minClusterSize points are noise (-1), and the others are numbered
// in the order of scikit-learn's union-find representatives.
func LabelsAtCut(h []Merge, cut float64, minClusterSize int) []int {
	n := len(h) + 1
	root := 2 * len(h)
	parent := make([]int, root+1)
	rank := make([]int, root+1)
	for i := range parent {
		parent[i] = i
	}
	var find func(x int) int
	find = func(x int) int {
		if parent[x] != x {
			parent[x] = find(parent[x])
		}
		return parent[x]
	}
	union := func(x, y int) {
		a, b := find(x), find(y)
		switch {
		case rank[a] < rank[b]:
			parent[a] = b
		case rank[a] > rank[b]:
			parent[b] = a
		default:
			parent[b] = a
			rank[a]++
		}
	}
	for j, m := range h {
		if m.Dist < cut {
			union(m.A, n+j)
			union(m.B, n+j)
		}
	}
	labels := make([]int, n)
	size := make([]int, root+1)
	for p := range n {
		labels[p] = find(p)
		size[labels[p]]++
	}
	reps := slices.Clone(labels)
	slices.Sort(reps)
	reps = slices.Compact(reps)
	number := make(map[int]int, len(reps))
	next := 0
	for _, r := range reps {
		if size[r] < minClusterSize {
			number[r] = -1
		} else {
			number[r] = next
			next++
		}
	}
	for p := range labels {
		labels[p] = number[labels[p]]
	}
	return labels
}
