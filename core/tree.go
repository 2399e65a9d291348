package core

import (
	"slices"
	"sync/atomic"
)

// Tree is an immutable compressed cover tree over a set of points in R^d.
//
// Nodes are numbered 0..Nodes()-1 in depth-first order, children visited by
// level, highest first; node 0 is the root. The subtree of node v is the run
// of nodes [v, end[v]), and the distinctive descendants S_i(v) — v and the
// subtrees of its children of level < i — are v plus the run that starts at
// the first such child. A Tree is safe for concurrent use.
type Tree[T Float] struct {
	dim    int
	n      int // caller points, duplicates included
	metric Metric
	dist   distFunc[T]

	pts    []T       // node points, row-major, in node order
	level  []int32   // node -> level
	parent []int32   // node -> parent node, -1 for the root
	pdist  []float64 // node -> distance to its parent
	end    []int32   // node -> one past the last node of its subtree
	rad    []float64 // node -> bound on the distance to any descendant

	// Children grouped by level: node v's groups are grpOff[v]..grpOff[v+1]
	// in descending level order; group g holds the children of level
	// grpLevel[g], the first of which is node grpFirst[g] (the others follow
	// as siblings: the next sibling of c is end[c]). grpRad[g] bounds the
	// distance from v to every node in the subtrees of groups g, g+1, ...
	grpOff   []int32
	grpLevel []int32
	grpFirst []int32
	grpRad   []float64

	cum    []int64 // cum[v] = caller points in nodes 0..v-1
	idOff  []int32 // caller indices of node v: ids[idOff[v]:idOff[v+1]], ascending
	ids    []int32
	nodeOf []int32 // caller index -> node

	minLevel   int32
	buildEvals int64
	queryEvals atomic.Int64
}

// freeze lays the builder's nodes out in depth-first order and computes the
// tables the searches read.
func (b *builder[T]) freeze() *Tree[T] {
	nn := len(b.row)
	dim := b.dim
	t := &Tree[T]{
		dim:        dim,
		n:          len(b.next),
		metric:     b.metric,
		dist:       b.dist,
		pts:        make([]T, nn*dim),
		level:      make([]int32, nn),
		parent:     make([]int32, nn),
		pdist:      make([]float64, nn),
		end:        make([]int32, nn),
		rad:        make([]float64, nn),
		grpOff:     make([]int32, nn+1),
		cum:        make([]int64, nn+1),
		idOff:      make([]int32, nn+1),
		ids:        make([]int32, 0, len(b.next)),
		nodeOf:     make([]int32, len(b.next)),
		buildEvals: b.evals,
	}
	// Depth-first order: pos[old] is the new number of builder node old.
	order := make([]int32, 0, nn)
	pos := make([]int32, nn)
	stack := []int32{0}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		pos[v] = int32(len(order))
		order = append(order, v)
		kids := b.kids[v]
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	rootLevel := int32(0)
	if len(b.kids[0]) > 0 {
		rootLevel = b.level[b.kids[0][0]] + 1
	}
	t.minLevel = rootLevel
	for nv, ov := range order {
		copy(t.pts[nv*dim:(nv+1)*dim], b.nodePoint(ov))
		if ov == 0 {
			t.level[nv] = rootLevel
			t.parent[nv] = -1
		} else {
			t.level[nv] = b.level[ov]
			t.parent[nv] = pos[b.parent[ov]]
			t.pdist[nv] = b.pdist[ov]
		}
		t.minLevel = min(t.minLevel, t.level[nv])
		// Caller indices, ascending.
		start := len(t.ids)
		for id := b.head[ov]; id >= 0; id = b.next[id] {
			t.ids = append(t.ids, id)
			t.nodeOf[id] = int32(nv)
		}
		slices.Sort(t.ids[start:])
		t.idOff[nv+1] = int32(len(t.ids))
		t.cum[nv+1] = t.cum[nv] + int64(len(t.ids)-start)
		// Groups of children by level.
		kids := b.kids[ov]
		t.grpOff[nv+1] = t.grpOff[nv]
		for i, c := range kids {
			if i == 0 || b.level[c] != b.level[kids[i-1]] {
				t.grpLevel = append(t.grpLevel, b.level[c])
				t.grpFirst = append(t.grpFirst, pos[c])
				t.grpOff[nv+1]++
			}
		}
	}
	t.grpRad = make([]float64, len(t.grpLevel))
	// Subtree ends and radius bounds, children before parents.
	size := make([]int32, nn) // by builder node
	for v := nn - 1; v >= 0; v-- {
		ov := order[v]
		size[ov] = 1
		for _, c := range b.kids[ov] {
			size[ov] += size[c]
		}
		t.end[v] = int32(v) + size[ov]
		r := 0.0
		for g := t.grpOff[v+1] - 1; g >= t.grpOff[v]; g-- {
			for c := t.grpFirst[g]; c < t.groupEnd(int32(v), g); c = t.end[c] {
				r = max(r, t.pdist[c]+t.rad[c])
			}
			t.grpRad[g] = r
		}
		t.rad[v] = r
	}
	return t
}

// groupEnd returns the node number one past the children of group g of v:
// the first child of the next group, or the end of v's subtree.
func (t *Tree[T]) groupEnd(v, g int32) int32 {
	if g+1 < t.grpOff[v+1] {
		return t.grpFirst[g+1]
	}
	return t.end[v]
}

// point returns node v's coordinates.
func (t *Tree[T]) point(v int32) []T {
	o := int(v) * t.dim
	return t.pts[o : o+t.dim : o+t.dim]
}

// weight returns |S_i(v)| counted in caller points, where g is v's first
// group of level < i.
func (t *Tree[T]) weight(v, g int32) int64 {
	w := t.cum[v+1] - t.cum[v]
	if g < t.grpOff[v+1] {
		w += t.cum[t.end[v]] - t.cum[t.grpFirst[g]]
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

// Stats describes a tree's shape and the work spent on it.
type Stats struct {
	Points     int // caller points, duplicates included
	Nodes      int // distinct points
	Dim        int
	MinLevel   int // lowest level of any node
	MaxLevel   int // the root's level
	Levels     int // distinct levels in use
	Depth      int // edges on the longest root-to-leaf path
	MaxFanout  int // most children of one node at one level
	BuildEvals int64
	QueryEvals int64
	// NodesPerLevel maps each level in use to its number of nodes.
	NodesPerLevel map[int]int
}

// Stats returns the tree's shape and distance-evaluation counts.
func (t *Tree[T]) Stats() Stats {
	nn := len(t.level)
	s := Stats{
		Points:        t.n,
		Nodes:         nn,
		Dim:           t.dim,
		MinLevel:      int(t.minLevel),
		MaxLevel:      int(t.level[0]),
		BuildEvals:    t.buildEvals,
		QueryEvals:    t.queryEvals.Load(),
		NodesPerLevel: map[int]int{},
	}
	depth := make([]int32, nn)
	for v := range nn {
		s.NodesPerLevel[int(t.level[v])]++
		if v > 0 {
			depth[v] = depth[t.parent[v]] + 1
			s.Depth = max(s.Depth, int(depth[v]))
		}
		for g := t.grpOff[v]; g < t.grpOff[v+1]; g++ {
			fan := 0
			for c := t.grpFirst[g]; c < t.groupEnd(int32(v), g); c = t.end[c] {
				fan++
			}
			s.MaxFanout = max(s.MaxFanout, fan)
		}
	}
	s.Levels = len(s.NodesPerLevel)
	return s
}

// LevelHistogram returns the levels in use, ascending, and the number of
// nodes at each.
func (s Stats) LevelHistogram() (levels, counts []int) {
	for l := range s.NodesPerLevel {
		levels = append(levels, l)
	}
	slices.Sort(levels)
	for _, l := range levels {
		counts = append(counts, s.NodesPerLevel[l])
	}
	return levels, counts
}
