package cluster

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/pcct-dev/pcct/core"
)

// kdMSTMaxDim is the most features an array may have for
// MinimumSpanningTreePoints to span it on a k-d tree (kdMST) rather than
// a cover tree. Measured (one thread, the whole call, an earlier form of
// kdMST for any dimension): on 40,000 clustered points the k-d tree took
// 0.70 of the cover tree's time in 3 dimensions, 0.90 in 4, 0.94 in 6
// and 1.11 in 8, letter (16 features) 1.12 and magic (10) 0.67; the
// search keeps points padded to three features (kdPadded), where it
// gains most.
const kdMSTMaxDim = 3

// kdMSTLeaf is the most points a leaf of kdMST's k-d tree holds, and
// kdListLen the number of lightest edges a point's search keeps. Leaves
// of 8, 16 and 32 points and lists of 2 to 8 edges were measured on the
// benchmark sets of two and three features (one thread): leaves of 16
// and lists of 4 to 6 came out best, by a few per cent.
const (
	kdMSTLeaf = 16
	kdListLen = 6
)

// MinimumSpanningTreePoints returns the edges MinimumSpanningTree returns
// for a tree built over the rows (n rows of dim values; the caller
// indices are the row numbers), without keeping a tree: the same edges,
// distances and order. Euclidean rows (the metric Euclidean, or Minkowski
// with p = 2, with no parameters) of one to three features are spanned
// by Boruvka's algorithm on a k-d tree made for the call (kdMST); other
// metrics and dimensions on a cover tree built for the call (core.Build,
// then MinimumSpanningTree).
func MinimumSpanningTreePoints[T core.Float](points []T, dim int, m core.Metric, o Options) (edges []Edge, err error) {
	defer catch(&err)
	if dim < 1 || len(points) == 0 || len(points)%dim != 0 {
		return nil, fmt.Errorf("cluster: %d values do not make rows of dimension %d", len(points), dim)
	}
	n := len(points) / dim
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("cluster: %d points exceed the limit of %d", n, math.MaxInt32)
	}
	if euclideanPlain(m) && dim <= kdMSTMaxDim {
		for i, v := range points {
			if x := float64(v); math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("cluster: point %d has a non-finite coordinate %v at column %d", i/dim, x, i%dim)
			}
		}
		return kdMST(points, dim, o)
	}
	t, err := core.Build(points, dim, core.Options{Metric: m, Jobs: o.Jobs, Monitor: o.Monitor})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return MinimumSpanningTree(t, o)
}

// kdDist returns the Euclidean distance between a and b (of at most three
// values) with the bits core.Distance gives them: the square root of the
// sequential sum of the squared differences, or, where that sum is out
// of the range whose square root is exact, core's scaled norm.
func kdDist(a, b []float64) float64 {
	b = b[:len(a)]
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return kdRoot(s, a, b)
}

// kdRoot returns kdDist(a, b) from the sum s of their squared
// differences.
func kdRoot(s float64, a, b []float64) float64 {
	if s == 0 {
		return 0 // identical points (core's scaled norm of a zero difference)
	}
	if s < 0x1p-900 || s > 0x1p900 {
		return core.Distance(core.Metric{}, a, b)
	}
	return math.Sqrt(s)
}

// kdSquareBound returns b*b raised by a relative 1e-10: a sum of squares
// s in the exact range that exceeds it has a square root above b.
func kdSquareBound(b float64) float64 { return b * b * (1 + 1e-10) }

// kdPadded holds a k-d tree's points and boxes of one to three features
// padded with zeros to three: a zero difference or gap adds nothing to a
// sum of squares (s + 0 is s), so the sums keep their bits, and the loops
// have a fixed length.
type kdPadded struct {
	pts []([3]float64)
	box []([2][3]float64) // per node: lo, hi
}

func (t *dbscanKD) padded() *kdPadded {
	p := &kdPadded{pts: make([][3]float64, len(t.order)), box: make([][2][3]float64, len(t.start))}
	for s := range p.pts {
		copy(p.pts[s][:], t.point(int32(s)))
	}
	for k := range p.box {
		lo, hi := t.bounds(int32(k))
		copy(p.box[k][0][:], lo)
		copy(p.box[k][1][:], hi)
	}
	return p
}

// kdBeyond reports whether every point of node k's box lies farther than
// b from q by kdDist, given b2 = kdSquareBound(b): by the sum of the
// squared gaps (which rounds no term past any point's) against b2, or
// where that sum is out of the exact range, by the largest gap, lowered
// by a relative 1e-12 against the scaled norm's rounding.
func (p *kdPadded) kdBeyond(q *[3]float64, k int32, b, b2 float64) bool {
	box := &p.box[k]
	var s, m float64
	for a, x := range q {
		var g float64
		if lo, hi := box[0][a], box[1][a]; x < lo {
			g = lo - x
		} else if x > hi {
			g = x - hi
		}
		s += g * g
		m = max(m, g)
	}
	if s < 0x1p-900 || s > 0x1p900 {
		return m*(1-1e-12) > b
	}
	return s > b2
}

// kdMST returns the minimum spanning tree of the rows (Euclidean, one to
// three features, finite) by Boruvka's algorithm on a k-d tree
// (dbscanKD), every point a vertex.
//
// Edges are ordered totally by distance, then by the smaller and the
// larger row number of their ends, as MinimumSpanningTree orders them
// (where identical points share a node whose first caller index stands
// for them); the minimum spanning tree under a total order is unique, so
// the two return the same edges: identical points are joined to the
// smallest row number among them by edges of distance 0 (those are the
// lightest edges, and among them the smallest row number's come first),
// and two groups of points at one distance by the edge between their
// smallest row numbers.
//
// In each round every point that may hold its component's lightest edge
// needs its lightest edge to another component. A search finds a point's
// kdListLen lightest edges to other components: from its own leaf up,
// passing over subtrees wholly in its component and boxes farther than
// the list's last entry or the component's lightest edge so far (kept
// per component, shared by the workers). The list is complete up to a
// distance (every edge to another component at most that long is in it,
// or lighter than its last entry); as components merge, entries whose
// other end joined the point's component drop out, and the first one
// left is still the point's lightest edge if it lies within that
// distance. Otherwise the distance bounds the point's lightest edge, and
// a point whose bound exceeds its component's lightest edge so far does
// not search.
func kdMST[T core.Float](points []T, dim int, o Options) ([]Edge, error) {
	t := newDBSCANKD(points, dim, kdMSTLeaf, o)
	pad := t.padded()
	n := len(t.order)
	nodes := len(t.start)
	if n == 1 {
		return nil, nil
	}
	uf := newDisjointSets(n)
	comp := make([]int32, n)         // per point, its component this round
	nodeComp := make([]int32, nodes) // per node, its points' one component, or -1
	l := &kdLists{
		end:  make([]int32, n*kdListLen),
		dist: make([]float64, n*kdListLen),
		cnt:  make([]int8, n),
		head: make([]int8, n),
		upTo: make([]float64, n),
		lb:   make([]float64, n),
	}
	search := make([]bool, n)
	compD := make([]atomic.Uint64, n) // per component root: its lightest edge so far (bits)
	compE := make([]int32, n)         // per component root: the point whose edge is the lightest
	scratch := make([]kdSearch, o.jobs())
	edges := make([]Edge, 0, n-1)
	inf := math.Float64bits(math.Inf(1))
	var leaves, mixed, inside []int32
	for k := range int32(nodes) {
		if t.right[k] < 0 {
			leaves = append(leaves, k)
		}
	}
	for comps := n; comps > 1; {
		for s := range int32(n) {
			comp[s] = uf.find(s)
		}
		for k := nodes - 1; k >= 0; k-- {
			if r := t.right[k]; r >= 0 {
				c := nodeComp[k+1]
				if nodeComp[r] != c {
					c = -1
				}
				nodeComp[k] = c
				continue
			}
			c := comp[t.start[k]]
			for s := t.start[k] + 1; s < t.end[k]; s++ {
				if comp[s] != c {
					c = -1
					break
				}
			}
			nodeComp[k] = c
		}
		for s := range int32(n) {
			if comp[s] == s {
				compD[s].Store(inf)
				compE[s] = -1
			}
		}
		for s := range int32(n) {
			e, ok := l.lightest(s, comp)
			search[s] = !ok
			if ok {
				atomicMinFloat(&compD[comp[s]], l.dist[e])
			}
		}
		// The points of leaves that hold several components search
		// first: they lie at the components' borders, where the lightest
		// edges are. Then each leaf inside one component is first tested
		// whole: if no other component lies within the component's
		// lightest edge so far of its box, none of its points searches.
		mixed, inside = mixed[:0], inside[:0]
		for _, k := range leaves {
			if nodeComp[k] < 0 {
				mixed = append(mixed, k)
			} else {
				inside = append(inside, k)
			}
		}
		for _, ls := range [][]int32{mixed, inside} {
			err := forBlocks(len(ls), 16, o, func(w, lo, hi int) {
				sc := &scratch[w]
				for _, k := range ls[lo:hi] {
					if c := nodeComp[k]; c >= 0 {
						cd := &compD[c]
						need := false
						for s := t.start[k]; s < t.end[k] && !need; s++ {
							need = search[s] && l.lb[s] <= math.Float64frombits(cd.Load())
						}
						if !need {
							continue
						}
						if !t.mayReach(k, c, nodeComp, cd, sc) {
							// Every other component lies farther than cd
							// was, at least cd now, from every point.
							b := math.Float64frombits(cd.Load())
							for s := t.start[k]; s < t.end[k]; s++ {
								l.lb[s] = max(l.lb[s], b)
							}
							continue
						}
					}
					for s := t.start[k]; s < t.end[k]; s++ {
						if !search[s] {
							continue
						}
						cd := &compD[comp[s]]
						if l.lb[s] > math.Float64frombits(cd.Load()) {
							continue
						}
						t.lightestEdges(s, comp, nodeComp, cd, l, pad, sc)
						if e, ok := l.lightest(s, comp); ok {
							atomicMinFloat(cd, l.dist[e])
						}
					}
				}
			})
			if err != nil {
				return nil, err
			}
		}
		// Each component's lightest edge, by the total order.
		for s := range int32(n) {
			e, ok := l.lightest(s, comp)
			if !ok {
				continue
			}
			c := comp[s]
			if f := compE[c]; f < 0 || t.edgeLess(l.dist[e], s, l.end[e], l.dist[f], f/kdListLen, l.end[f]) {
				compE[c] = e
			}
		}
		before := comps
		for c := range int32(n) {
			if comp[c] != c || compE[c] < 0 {
				continue
			}
			e := compE[c]
			a, b := e/kdListLen, l.end[e]
			ra, rb := uf.find(a), uf.find(b)
			if ra == rb {
				continue // the other component chose the same edge
			}
			uf.link(ra, rb)
			i, j := t.order[a], t.order[b]
			edges = append(edges, Edge{int(min(i, j)), int(max(i, j)), l.dist[e]})
			comps--
		}
		if comps == before {
			return nil, fmt.Errorf("%w: a round of Boruvka's algorithm added no edge", ErrInternal)
		}
		if o.stopped() {
			return nil, core.ErrStopped
		}
	}
	sortEdges(edges)
	return edges, nil
}

// mayReach reports whether a point of another component than c may lie
// within cd of leaf k's box (all of whose points are in c): whether a
// node not wholly in c has a box within cd of k's, the boxes' gap summed
// as kdBeyond sums a point's.
func (t *dbscanKD) mayReach(k, c int32, nodeComp []int32, cd *atomic.Uint64, sc *kdSearch) bool {
	la, ha := t.bounds(k)
	stack := append(sc.stack[:0], 0)
	defer func() { sc.stack = stack }()
	for len(stack) > 0 {
		j := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if nodeComp[j] == c {
			continue
		}
		b := math.Float64frombits(cd.Load())
		lb, hb := t.bounds(j)
		s, m := kdBoxGap(la, ha, lb, hb, math.Inf(1))
		var beyond bool
		if s < 0x1p-900 || s > 0x1p900 {
			beyond = m*(1-1e-12) > b
		} else {
			beyond = s > kdSquareBound(b)
		}
		switch {
		case beyond:
		case t.right[j] < 0:
			return true
		default:
			stack = append(stack, t.right[j], j+1)
		}
	}
	return false
}

// kdLists holds each point's list of lightest edges to other components
// (kdListLen entries a point, by the total order: the other ends and the
// distances), the entries recorded, the first entry whose other end may
// still lie in another component, the distance up to which the list is
// complete, and a lower bound on the point's lightest edge.
type kdLists struct {
	end  []int32
	dist []float64
	cnt  []int8
	head []int8
	upTo []float64
	lb   []float64
}

// lightest returns the index of point s's lightest edge to another
// component in the lists, if the list proves it, dropping the entries
// whose other end joined s's component; if not, it raises s's bound.
func (l *kdLists) lightest(s int32, comp []int32) (int32, bool) {
	o := s * kdListLen
	h, c := l.head[s], l.cnt[s]
	for h < c && comp[l.end[o+int32(h)]] == comp[s] {
		h++
	}
	l.head[s] = h
	if h < c && l.dist[o+int32(h)] <= l.upTo[s] {
		return o + int32(h), true
	}
	l.lb[s] = max(l.lb[s], l.upTo[s])
	return -1, false
}

// kdSearch is a worker's scratch space for lightestEdges.
type kdSearch struct {
	stack []int32
}

// edgeLess reports whether the edge (a, b) at distance da precedes the
// edge (c, e) at distance dc (points in tree order) in the total order:
// distance, then the smaller row number of the two ends, then the larger.
func (t *dbscanKD) edgeLess(da float64, a, b int32, dc float64, c, e int32) bool {
	if da != dc {
		return da < dc
	}
	i, j := t.order[a], t.order[b]
	k, l := t.order[c], t.order[e]
	if min(i, j) != min(k, l) {
		return min(i, j) < min(k, l)
	}
	return max(i, j) < max(k, l)
}

// lightestEdges sets point s's list to its kdListLen lightest edges to
// other components no heavier than its component's lightest edge so far
// (cd), and the distance up to which the list is complete. It searches
// s's leaf first, then the other child of each ancestor in turn, nearer
// child first, passing over the boxes farther than the list's last entry
// (when full) or cd.
func (t *dbscanKD) lightestEdges(s int32, comp, nodeComp []int32, cd *atomic.Uint64, l *kdLists, pad *kdPadded, sc *kdSearch) {
	q := &pad.pts[s]
	c := comp[s]
	o := s * kdListLen
	ends := l.end[o : o+kdListLen]
	ds := l.dist[o : o+kdListLen]
	m := 0
	// The bound on the edges kept, and kdSquareBound of it.
	b, b2 := math.Inf(1), math.Inf(1)
	bound := func() {
		nb := math.Float64frombits(cd.Load())
		if m == kdListLen {
			nb = min(nb, ds[m-1])
		}
		if nb != b {
			b, b2 = nb, kdSquareBound(nb)
		}
	}
	prev := t.leaf[s]
	stack := append(sc.stack[:0], prev)
	for {
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if nodeComp[k] == c {
				continue
			}
			if bound(); pad.kdBeyond(q, k, b, b2) {
				continue
			}
			if t.right[k] >= 0 {
				lc, rc := k+1, t.right[k]
				if q[t.axis[k]] < t.split[k] {
					stack = append(stack, rc, lc)
				} else {
					stack = append(stack, lc, rc)
				}
				continue
			}
			for x := t.start[k]; x < t.end[k]; x++ {
				if comp[x] == c {
					continue
				}
				p := &pad.pts[x]
				var s2 float64
				for a, y := range p {
					d := q[a] - y
					s2 += d * d
				}
				if s2 > b2 && s2 >= 0x1p-900 && s2 <= 0x1p900 {
					continue // its root exceeds b
				}
				d := kdRoot(s2, t.point(s), t.point(x))
				if bound(); d > b {
					continue
				}
				// Insert x by the total order, dropping the last entry
				// of a full list.
				i := m
				for i > 0 && t.edgeLess(d, s, x, ds[i-1], s, ends[i-1]) {
					i--
				}
				if i == kdListLen {
					continue
				}
				if m < kdListLen {
					m++
				}
				copy(ends[i+1:m], ends[i:m-1])
				copy(ds[i+1:m], ds[i:m-1])
				ends[i], ds[i] = x, d
			}
		}
		a := t.parent[prev]
		if a < 0 {
			break
		}
		stack = append(stack[:0], t.sibling(a, prev))
		prev = a
	}
	sc.stack = stack
	// The points passed over lie farther than the bound at the time, at
	// least the bound now; the others were measured.
	bound()
	l.cnt[s], l.head[s], l.upTo[s] = int8(m), 0, b
}

// atomicMinFloat lowers the non-negative float64 whose bits v holds to x
// if x is smaller (the bits of non-negative floats order as the floats).
func atomicMinFloat(v *atomic.Uint64, x float64) {
	b := math.Float64bits(x)
	for {
		old := v.Load()
		if b >= old || v.CompareAndSwap(old, b) {
			return
		}
	}
}
