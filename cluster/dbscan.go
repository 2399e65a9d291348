package cluster

import (
	"math"
	"slices"

	"github.com/pcct-dev/pcct/core"
)

// DBSCANResult is a DBSCAN clustering. Both slices are indexed by
// position among the tree's live caller indices in ascending order
// (caller index i for a tree made by Build).
type DBSCANResult struct {
	// Labels holds each point's cluster, numbered 0, 1, ... in the order
	// of each cluster's first core point, or -1 for noise.
	Labels []int
	// Core reports whether each point is a core point.
	Core []bool
}

// DBSCAN clusters the tree's points as scikit-learn's
// sklearn.cluster.DBSCAN(eps, min_samples) does (Ester, Kriegel, Sander
// and Xu, KDD 1996), with the same labels: a point is a core point if the
// points within eps of it (d <= eps, itself and its duplicates included)
// number at least minSamples, or weigh at least minSamples when weights
// (one per point, by position) is not nil; core points within eps of each
// other are in one cluster; a point that is not a core point but lies
// within eps of core points joins the lowest-numbered of their clusters,
// and is noise otherwise. Clusters are numbered in the order of their
// first core point.
//
// A Euclidean tree of one to three dimensions is clustered on a grid of
// its points instead, as DBSCANPoints does (which see), a pair within eps
// as scikit-learn's k-d tree decides it, unless its coordinates are too
// spread for the grid's cells. Other trees are clustered as follows, a
// pair within eps when Tree.Dist measures it at most eps.
//
// Core points are found without listing any neighbourhood: the points
// of a subtree of radius at most eps/2 that holds minSamples points are
// core points outright, and every other point counts its neighbours by a
// tree search that adds whole subtrees lying within eps without measuring
// them and stops once the count reaches minSamples (when no weight is
// negative). Each count records the first nodes and whole subtrees it met
// within eps (at most min(max(minSamples, 4), 32) entries): a core point
// is joined at once to the core points of its record, and a point that is
// not a core point takes its label from its record, which then holds its
// whole neighbourhood (it searches again only if the record overflowed).
// The clusters of core points are then the components of a spanning
// forest of the edges no longer than eps between core points (found by
// the same search as the minimum spanning tree, after joining the core
// nodes of every such tight subtree and each core node within eps of its
// core parent in the tree), whose rounds leave the largest component
// idle: the others prove that they are final. Memory is a few numbers
// per point and the records, 4 bytes an entry.
func DBSCAN[T core.Float](t *core.Tree[T], eps float64, minSamples int, weights []float64, o Options) (res DBSCANResult, err error) {
	defer catch(&err)
	if err := checkDBSCAN(eps, minSamples, weights, t.Len()); err != nil {
		return res, err
	}
	if t.Len() == 0 {
		return res, nil
	}
	if gridMetric(t.Metric(), t.Dim()) {
		// The live points, ascending by caller index, on a grid.
		if g := newDBSCANGrid(t.Flat().Points(), t.Dim(), eps); g != nil {
			return g.dbscan(eps, minSamples, weights, o)
		}
	}
	return dbscanTree(t, eps, minSamples, weights, o)
}

// dbscanTree is DBSCAN by the tree's counts and spanning forest, on a
// tree that is not empty, the arguments checked.
func dbscanTree[T core.Float](t *core.Tree[T], eps float64, minSamples int, weights []float64, o Options) (res DBSCANResult, err error) {
	f, err := flatten(t)
	if err != nil {
		return res, err
	}
	r := t.SearchDistance(eps)
	nonNegative := true
	for _, w := range weights {
		nonNegative = nonNegative && w >= 0
	}
	own, sub := f.subtreeWeights(weights)
	isCore := f.tightCore(sub, nonNegative, minSamples, r)
	nb, err := f.coreFlags(isCore, own, sub, nonNegative, minSamples, r, o)
	if err != nil {
		return res, err
	}
	// Clusters of core points: components of the edges within eps.
	// A core point whose record is complete has all its core neighbours
	// in its component once the records are joined: an edge between two
	// components joins two core points whose records overflowed.
	active := make([]bool, f.n)
	for k := range active {
		active[k] = isCore[k] && nb.over[k]
	}
	b := newBoruvka(f, o, active, r)
	b.anyEdge = true
	if err := f.joinTightSubtrees(b, isCore, r, o); err != nil {
		return res, err
	}
	// Each core point joins the core points its count met: the search
	// then starts from fewer components.
	f.joinRecorded(b, nb, isCore)
	if _, err := b.run(); err != nil {
		return res, err
	}
	label := clusterNumbers(f.n, func(k int32) bool { return isCore[k] }, b.find, f.firstID)
	if err := f.borderLabels(label, isCore, nb, r, o); err != nil {
		return res, err
	}
	res.Labels = make([]int, len(f.live))
	res.Core = make([]bool, len(f.live))
	for k := range int32(f.n) {
		for _, id := range f.idsOf(k) {
			p := f.pos[id]
			res.Labels[p], res.Core[p] = int(label[k]), isCore[k]
		}
	}
	return res, nil
}

// clusterNumbers numbers the clusters of n items in the order of their
// smallest caller index and returns each item's cluster, -1 for an item
// in none: an item is in one if core(k), its cluster is the component
// root(k), and firstID(k) is the smallest caller index it holds.
func clusterNumbers(n int, core func(k int32) bool, root func(k int32) int32, firstID func(k int32) int32) []int32 {
	first := make([]int32, n) // per component root: its smallest caller index
	for k := range first {
		first[k] = math.MaxInt32
	}
	for k := range int32(n) {
		if core(k) {
			c := root(k)
			first[c] = min(first[c], firstID(k))
		}
	}
	var roots []int32
	for c := range int32(n) {
		if first[c] != math.MaxInt32 {
			roots = append(roots, c)
		}
	}
	slices.SortFunc(roots, func(a, b int32) int { return int(first[a]) - int(first[b]) })
	number := first // reused: per component root, its cluster's number
	for i, c := range roots {
		number[c] = int32(i)
	}
	label := make([]int32, n)
	for k := range int32(n) {
		label[k] = -1
		if core(k) {
			label[k] = number[root(k)]
		}
	}
	return label
}

// joinTightSubtrees unites the core nodes of every subtree whose points
// are all within r of each other (its radius is at most r/2): a dense
// region then enters the spanning forest's search as one component.
func (f *flatTree[T]) joinTightSubtrees(b *boruvka[T], isCore []bool, r float64, o Options) error {
	// A core node within r of its core parent joins it: in dense regions
	// most of the tree's own edges are short. The distances are measured
	// in parallel, the unions made after.
	near := make([]bool, f.n)
	err := forBlocks(f.n-1, 4096, o, func(_, lo, hi int) {
		for k := int32(lo + 1); k < int32(hi+1); k++ {
			p := f.par[k]
			near[k] = isCore[k] && isCore[p] && f.t.Dist(f.point(k), f.point(p)) <= r
		}
	})
	if err != nil {
		return err
	}
	for k := int32(1); k < int32(f.n); k++ {
		if near[k] {
			b.union(f.par[k], k)
		}
	}
	half := r / 2 * (1 - slack)
	stack := []int32{0}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if f.rad[x] > half {
			for c := f.kidLo[x]; c < f.kidHi[x]; c++ {
				stack = append(stack, c)
			}
			continue
		}
		// Every core node below x joins the first one met.
		first := int32(-1)
		sub := []int32{x}
		for len(sub) > 0 {
			y := sub[len(sub)-1]
			sub = sub[:len(sub)-1]
			if isCore[y] {
				if first < 0 {
					first = y
				} else {
					b.union(first, y)
				}
			}
			for c := f.kidLo[y]; c < f.kidHi[y]; c++ {
				sub = append(sub, c)
			}
		}
	}
	return nil
}

// subtreeWeights returns each node's weight (its points, or their total
// weight when weights is not nil) and the total of its subtree.
func (f *flatTree[T]) subtreeWeights(weights []float64) (own, sub []float64) {
	own = make([]float64, f.n)
	sub = make([]float64, f.n)
	for k := f.n - 1; k >= 0; k-- {
		ids := f.idsOf(int32(k))
		s := float64(len(ids))
		if weights != nil {
			s = 0
			for _, id := range ids {
				s += weights[f.pos[id]]
			}
		}
		own[k] = s
		for c := f.kidLo[k]; c < f.kidHi[k]; c++ {
			s += sub[c]
		}
		sub[k] = s
	}
	return own, sub
}

// tightCore marks the nodes that are core points without counting: those
// in a subtree whose points are all within r of each other (its radius is
// at most r/2) and number (or, with non-negative weights, weigh) at least
// minSamples.
func (f *flatTree[T]) tightCore(sub []float64, nonNegative bool, minSamples int, r float64) []bool {
	isCore := make([]bool, f.n)
	if !nonNegative {
		return isCore // a negative weight can lower a neighbourhood's total
	}
	half := r / 2 * (1 - slack)
	stack := []int32{0}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if f.rad[x] <= half && sub[x] >= float64(minSamples) {
			mark := []int32{x}
			for len(mark) > 0 {
				y := mark[len(mark)-1]
				mark = mark[:len(mark)-1]
				isCore[y] = true
				for c := f.kidLo[y]; c < f.kidHi[y]; c++ {
					mark = append(mark, c)
				}
			}
			continue
		}
		for c := f.kidLo[x]; c < f.kidHi[x]; c++ {
			stack = append(stack, c)
		}
	}
	return isCore
}

// within reports whether every point within rad of a point at distance d
// lies within r, with the rounding slack of the tree's searches: then the
// whole subtree is counted without measuring it.
func within(d, rad, r float64) bool { return d+rad < r-slack*(d+rad+r) }

// coreFlags marks, in isCore, the nodes not yet marked whose neighbourhood
// (the points within r of the node's point as Tree.Dist measures it, its
// own and its duplicates included) weighs at least minSamples. A node's
// search counts whole subtrees that lie within r without measuring them
// and, when no weight is negative, stops as soon as the count reaches
// minSamples.
//
// It returns what each node's search met within r (see neighbours): for
// a node that is not a core node the record is complete unless it
// overflowed, for a core node it is a part.
func (f *flatTree[T]) coreFlags(isCore []bool, own, sub []float64, nonNegative bool, minSamples int, r float64, o Options) (nb *neighbours, err error) {
	nb = newNeighbours(f.n, minSamples)
	var queries []int32
	for k := range int32(f.n) {
		if !isCore[k] {
			queries = append(queries, k)
		}
	}
	cn := f.countNodes(own, sub)
	need := float64(minSamples)
	stacks := make([][]cand, o.jobs())
	err = forBlocks(len(queries), 64, o, func(w, lo, hi int) {
		stack := stacks[w]
		for _, q := range queries[lo:hi] {
			var n float64
			n, stack = f.countNear(cn, q, r, need, nonNegative, stack, nb)
			isCore[q] = n >= need
		}
		stacks[w] = stack
	})
	return nb, err
}

// countNode holds what countNear reads of a node, side by side: its
// radius and reach, its own and its subtree's weight, and its children.
type countNode struct {
	rad, reach, own, sub float64
	kidLo, kidHi         int32
}

func (f *flatTree[T]) countNodes(own, sub []float64) []countNode {
	cn := make([]countNode, f.n)
	for k := range cn {
		cn[k] = countNode{f.rad[k], f.reach[k], own[k], sub[k], f.kidLo[k], f.kidHi[k]}
	}
	return cn
}

// countNear returns the weight of the points within r of node q's point.
// With stop (every weight non-negative) it may return as soon as the
// count reaches need. It searches q's own subtree first, then, up the path
// to the root, each ancestor and its other subtrees: a point's neighbours
// are mostly near it in the tree. It records in nb what it met within r:
// each other node within r and each subtree counted whole. stack is
// scratch space, returned for reuse.
func (f *flatTree[T]) countNear(cn []countNode, q int32, r float64, need float64, stop bool, stack []cand, nb *neighbours) (float64, []cand) {
	dist := f.t.Dist
	pq := f.point(q)
	rec := nb.start(q)
	if !stop {
		need = math.Inf(1) // the count runs to the end
	}
	var n float64
	stack = stack[:0]
	if within(0, cn[q].rad, r) {
		n = cn[q].sub
		rec.reset(wholeSubtree(q))
	} else {
		n = cn[q].own
		n, stack = f.countKids(cn, pq, q, 0, -1, r, need, n, stack, &rec)
		n, stack = f.countStacked(cn, pq, r, need, n, stack, &rec)
	}
	for prev, a := q, f.par[q]; a >= 0 && n < need; prev, a = a, f.par[a] {
		da := dist(pq, f.point(a))
		if within(da, cn[a].rad, r) {
			n = cn[a].sub // everything counted so far lies below a
			rec.reset(wholeSubtree(a))
			continue
		}
		if da <= r {
			n += cn[a].own
			rec.add(a)
		}
		stack = stack[:0]
		n, stack = f.countKids(cn, pq, a, da, prev, r, need, n, stack, &rec)
		n, stack = f.countStacked(cn, pq, r, need, n, stack, &rec)
	}
	rec.finish(n >= need)
	return n, stack[:0]
}

// countStacked adds to the count n the subtrees on the stack, until n
// reaches need, and returns the count and the stack.
func (f *flatTree[T]) countStacked(cn []countNode, pq []T, r, need, n float64, stack []cand, rec *recorder) (float64, []cand) {
	for len(stack) > 0 && n < need {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n, stack = f.countKids(cn, pq, x.k, x.d, -1, r, need, n, stack, rec)
	}
	return n, stack
}

// countKids adds to the count n the subtrees of node x's children other
// than skip, x being at distance d from the query point pq, until n
// reaches need; it stacks the children whose subtrees need opening and
// records what it counted. It returns the count and the stack.
func (f *flatTree[T]) countKids(cn []countNode, pq []T, x int32, d float64, skip int32, r, need, n float64, stack []cand, rec *recorder) (float64, []cand) {
	dist := f.t.Dist
	// A child whose reach is below far lies beyond r.
	far := farReach(d, r)
	for c := cn[x].kidLo; c < cn[x].kidHi && n < need; c++ {
		nc := &cn[c]
		if nc.reach < far || c == skip {
			continue
		}
		dc := dist(pq, f.point(c))
		if within(dc, nc.rad, r) {
			n += nc.sub
			rec.add(wholeSubtree(c))
		} else {
			if dc <= r {
				n += nc.own
				rec.add(c)
			}
			if nc.kidHi > nc.kidLo && !beyond(dc, nc.rad, r) {
				stack = append(stack, cand{c, dc})
			}
		}
	}
	return n, stack
}

// borderLabels gives each node that is not a core node the lowest label
// among the core nodes within r of it (as Tree.Dist measures it), or
// leaves it -1 if there is none. It reads the neighbourhood from the
// node's record (nb) when that is complete, and searches otherwise.
func (f *flatTree[T]) borderLabels(label []int32, isCore []bool, nb *neighbours, r float64, o Options) error {
	// The lowest label of a core node in each subtree.
	minLab := make([]int32, f.n)
	for k := f.n - 1; k >= 0; k-- {
		m := int32(math.MaxInt32)
		if isCore[k] {
			m = label[k]
		}
		for c := f.kidLo[k]; c < f.kidHi[k]; c++ {
			m = min(m, minLab[c])
		}
		minLab[k] = m
	}
	if minLab[0] == math.MaxInt32 {
		return nil // no core node
	}
	border := make([]int32, 0)
	for k := range int32(f.n) {
		if isCore[k] {
			continue
		}
		if nb == nil || nb.over[k] {
			border = append(border, k)
			continue
		}
		if best, ok := nb.recordLabel(k, isCore, label, minLab); ok {
			label[k] = best
		}
	}
	stacks := make([][]cand, o.jobs())
	dist := f.t.Dist
	return forBlocks(len(border), 64, o, func(w, lo, hi int) {
		stack := stacks[w]
		for _, q := range border[lo:hi] {
			pq := f.point(q)
			best := int32(math.MaxInt32)
			d0 := dist(pq, f.point(0))
			if isCore[0] && d0 <= r {
				best = label[0]
			}
			stack = append(stack[:0], cand{0, d0})
			for len(stack) > 0 {
				x := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if minLab[x.k] >= best || beyond(x.d, f.rad[x.k], r) {
					continue
				}
				for c := f.kidLo[x.k]; c < f.kidHi[x.k]; c++ {
					if minLab[c] >= best || beyond(x.d, f.reach[c], r) {
						continue
					}
					dc := dist(pq, f.point(c))
					if isCore[c] && dc <= r {
						best = min(best, label[c])
					}
					if f.hasKids(c) {
						stack = append(stack, cand{c, dc})
					}
				}
			}
			if best != math.MaxInt32 {
				label[q] = best
			}
		}
		stacks[w] = stack
	})
}

// beyond reports whether every point within rad of a point at distance d
// lies farther than r, with the rounding slack of the tree's searches.
func beyond(d, rad, r float64) bool { return d-rad > r+slack*(d+rad+r) }

// farReach returns the radius below which every point within it of a
// point at distance d lies farther than r: beyond(d, rad, r) for rad below
// it, with the terms rearranged, so that a loop over children compares
// each one's reach once.
func farReach(d, r float64) float64 { return (d*(1-slack) - r*(1+slack)) / (1 + slack) }
