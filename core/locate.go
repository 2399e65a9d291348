package core

import (
	"cmp"
	"math"
	"slices"
)

// located is where a point would go if it were inserted alone.
type located struct {
	// bound is the highest level the point may take: the nodes of level
	// >= j are more than b^j from it for every j <= bound (down to its
	// floor). It is levelInf when no counted node covers the point.
	bound int32
	// parent is the nearest counted node of level > bound within
	// b^(bound+1), at distance pdist (the one of lowest slot among equally
	// near ones); -1 when bound is levelInf.
	parent int32
	pdist  float64
	// dup is a counted node at distance zero, or -1.
	dup int32
	// seen lists nodes measured, with their distances and levels, by slot:
	// the point's conflict scope (trimmed to the nodes that matter), and a
	// cache for later radius updates.
	seen  []int32
	seenD []float64
	seenL []int32 // the level of each seen node (levelInf for the root)
	evals int     // distances measured
}

// distTo returns the cached distance to node u, if u was measured.
func (l *located) distTo(u int32) (float64, bool) {
	for i, v := range l.seen {
		if v == u {
			return l.seenD[i], true
		}
	}
	return 0, false
}

// locCand is a node kept by the traversal: its first child group below the
// current level, and its distance to the point.
type locCand struct {
	node int32
	g    int32
	d    float64
}

// listed is a node measured by a traversal: its level and its distance to
// the point.
type listed struct {
	node  int32
	level int32
	d     float64
}

// locate finds where x would go if inserted alone into t, as the
// sequential insertion does: the lowest level m above floor at which some
// counted node of level >= m lies within b^m of x gives bound m-1 and the
// nearest such node as parent; the conflict scope is every counted node of
// level lp > bound within b^bound + b^lp (see measureConflicts). Nodes for
// which ghost returns true route the search (their children are explored)
// but do not count: they are being deleted. The node skip (an orphan being
// relocated) is not counted; its own subtree lies below floor. A counted
// node at distance zero is reported as dup.
//
// The traversal lists the nodes that may be reported (traverse) and the
// location is read from that list (resolve); the lists in out are reused.
// The result depends on x, floor, skip and ghost alone: among equally near
// parents the one of lowest slot is taken, and the scope is kept by slot.
func (t *Tree[T]) locate(x []T, floor, skip int32, ghost []bool, out *located, list []listed, q, q2 []locCand) ([]listed, []locCand, []locCand) {
	var evals int
	list, evals, q, q2 = t.traverse(x, floor, list[:0], q, q2)
	t.resolve(floor, skip, ghost, list, out)
	out.evals += evals
	return list, q, q2
}

// traverse lists, with their distances to y, the root and every node above
// floor within reportRadius of its level of y, and returns the distances
// it measured. Going down the levels, it measures a child only if the
// triangle inequality through its parent, with the child's reach and
// radius, leaves it or a node of its subtree possibly within range
// (mayReport), and keeps a node only while a child group it has not yet
// measured may hold one (needed). Each ancestor of a node in range passes
// both tests, as its reach and radius bound the distance to that node, so
// none is missed.
func (t *Tree[T]) traverse(y []T, floor int32, list []listed, q, q2 []locCand) ([]listed, int, []locCand, []locCand) {
	sc := t.scale
	d0 := t.dist(y, t.point(t.root))
	evals := 1
	list = append(list, listed{node: t.root, level: levelInf, d: d0})
	q = append(q[:0], locCand{node: t.root, d: d0})
	if !t.needed(t.node(t.root), 0, d0, floor) {
		return list, evals, q, q2
	}
	for {
		next := levelNegInf
		for _, c := range q {
			n := t.node(c.node)
			next = max(next, n.groups()[c.g].level)
		}
		if next <= floor {
			return list, evals, q, q2
		}
		rep := sc.reportRadius(next)
		q2 = q2[:0]
		for k := range q {
			c := &q[k]
			n := t.node(c.node)
			if n.groups()[c.g].level != next {
				// Nothing of it measured at this level: still needed.
				q2 = append(q2, *c)
				continue
			}
			g := int(c.g)
			c.g++
			for _, u := range n.children()[n.groupStart(g):n.groups()[g].end] {
				un := t.node(u)
				if !t.mayReport(un, c.d, rep, floor) {
					continue
				}
				d := t.dist(y, t.point(u))
				evals++
				if within(d, rep) {
					list = append(list, listed{node: u, level: next, d: d})
				}
				if t.needed(un, 0, d, floor) {
					q2 = append(q2, locCand{node: u, d: d})
				}
			}
			if t.needed(n, c.g, c.d, floor) {
				q2 = append(q2, *c)
			}
		}
		if len(q2) == 0 {
			return list, evals, q, q2
		}
		q, q2 = q2, q
	}
}

// resolve reads a point's location from its traversal's list, the nodes
// within their report radius (see locate); out's lists are reused. The
// lists are built in locals and stored in out once: out lies in the heap
// (a batch's items), and storing a slice into it at every append took a
// write barrier each while the collector ran (0.10 of resolve's 0.35 s
// in a profile of insertions into bunny and zip codes).
func (t *Tree[T]) resolve(floor, skip int32, ghost []bool, list []listed, out *located) {
	sc := t.scale
	out.bound, out.parent, out.pdist, out.dup, out.evals = levelInf, -1, 0, -1, 0
	seen, seenD, seenL := out.seen[:0], out.seenD[:0], out.seenL[:0]
	m := int32(levelInf) // the lowest level at which a counted node covers x
	for _, e := range list {
		v, l := e.node, e.level
		if v == skip || (ghost != nil && ghost[v]) || (l != levelInf && l <= floor) {
			continue
		}
		d := e.d
		if d == 0 {
			out.dup = v
			out.seen, out.seenD, out.seenL = seen[:0], seenD[:0], seenL[:0]
			return
		}
		seen, seenD, seenL = append(seen, v), append(seenD, d), append(seenL, l)
		if j := max(sc.ceilLog(d), floor+1); j <= l {
			m = min(m, j)
		}
	}
	out.seen, out.seenD, out.seenL = seen, seenD, seenL
	if m == levelInf {
		// No counted node covers x: it competes for the root (place).
		return
	}
	out.bound = m - 1
	parent, pdist := int32(-1), 0.0
	for i, v := range seen {
		d := seenD[i]
		if seenL[i] >= m && (parent < 0 || d < pdist || (d == pdist && v < parent)) {
			parent, pdist = v, d
		}
	}
	out.parent, out.pdist = parent, pdist
	out.trimScope(sc)
}

// trimScope keeps, of the nodes measured, only those that can be the
// located parent of an item conflicting with this one (see
// measureConflicts): of level above the bound and within b^bound +
// b^level, by slot. The rest would only cost memory; a batch holds every
// item's scope at once.
func (l *located) trimScope(sc scale) {
	bx, bound := sc.pow(l.bound), l.bound
	seen, seenD, seenL := l.seen, l.seenD, l.seenL
	j := 0
	for i, lp := range seenL {
		d := seenD[i]
		if lp <= bound || (lp != levelInf && d > (bx+sc.pow(lp))*(1+slack)) {
			continue
		}
		seen[j], seenD[j], seenL[j] = seen[i], d, lp
		j++
	}
	l.seen, l.seenD, l.seenL = seen[:j], seenD[:j], seenL[:j]
	sortScope(l.seen, l.seenD, l.seenL)
}

// sortScope sorts a scope by slot, in place: by insertion if it is short
// or sorted already (a traversal lists nodes mostly by slot), else by
// sorting the positions (a layout lists them depth first, and inserting
// one entry at a time cost a 16-D deletion of 100,000 points half its
// time).
func sortScope(seen []int32, seenD []float64, seenL []int32) {
	if len(seen) > scopeInsertMax && !slices.IsSorted(seen) {
		perm := make([]int32, len(seen))
		for i := range perm {
			perm[i] = int32(i)
		}
		slices.SortFunc(perm, func(a, b int32) int { return cmp.Compare(seen[a], seen[b]) })
		u, d, l := slices.Clone(seen), slices.Clone(seenD), slices.Clone(seenL)
		for i, p := range perm {
			seen[i], seenD[i], seenL[i] = u[p], d[p], l[p]
		}
		return
	}
	for i := 1; i < len(seen); i++ {
		for j := i; j > 0 && seen[j] < seen[j-1]; j-- {
			seen[j], seen[j-1] = seen[j-1], seen[j]
			seenD[j], seenD[j-1] = seenD[j-1], seenD[j]
			seenL[j], seenL[j-1] = seenL[j-1], seenL[j]
		}
	}
}

// scopeInsertMax is the longest unsorted scope sortScope sorts by
// insertion.
const scopeInsertMax = 32

// reportRadius bounds the distance from x of every node of level l that a
// traversal must report: a node that covers x at some level j <= l lies
// within b^j <= b^l, and one the conflict scope keeps (level l > bound)
// within b^bound + b^l <= b^(l-1) + b^l.
func (s scale) reportRadius(l int32) float64 {
	if s.base == 2 && l > -1000 && l < 1000 {
		// 1.5 * 2^l, built from its exponent (math.Ldexp costs more
		// than the distance in a traversal of 3-D points).
		return math.Float64frombits(uint64(int64(l)+1023)<<52 | 1<<51)
	}
	return s.pow(l) + s.pow(l-1)
}

// reaches reports whether group g of node n (at distance d from the
// point) or a later group may hold a node within its report radius of the
// point: a descendant v of level <= l, the group's level,
// lies within the group's radius of n, and within rho*b^(l+2) (a child
// within b^(l+1), its subtree within rho*b^(l+1) of it), so d - radius <=
// d(v, point). An ancestor of a node in range passes this test for the
// group that leads to it and for every earlier group, whose radius and
// level are no smaller.
func (t *Tree[T]) reaches(n *node, g int, d float64) bool {
	l := n.groups()[g].level
	rep := t.scale.reportRadius(l)
	// rho*b^(l+2) = rep * rho*b^2/(1+1/b) = rep * b^3/(b^2-1).
	rad := min(n.groups()[g].rad, rep*t.scale.reachRatio())
	return !prunable(d, rad, rep)
}

// needed reports whether node n, at distance d from the point, with g its
// first child group not yet measured, must stay in the traversal: one of
// its remaining groups is above floor and may hold a node in range.
func (t *Tree[T]) needed(n *node, g int32, d float64, floor int32) bool {
	return int(g) < len(n.groups()) && n.groups()[g].level > floor && t.reaches(n, int(g), d)
}

// mayReport reports whether child u of a node at distance d from the
// point, or a node of u's subtree, may be in range, by the triangle
// inequality through the parent, without measuring u. u lies pdist from
// the parent, so d(u, point) >= |d - pdist|, which must be within rep,
// u's report radius. A node v below u has a level no higher
// than u's first child group and lies within u's reach of the parent and
// within u's radius of u, so d(v, point) >= d - reach and >= |d - pdist|
// - rad, which must be within that group's report radius; nodes at floor
// or below are never reported, so neither are they when u's first group is
// there. Each test keeps a margin for rounding in the distances it
// combines.
func (t *Tree[T]) mayReport(u *node, d, rep float64, floor int32) bool {
	near := math.Abs(d - u.pdist)
	round := slack * (d + u.pdist + u.rad + rep)
	if near <= rep+round {
		return true
	}
	if len(u.groups()) == 0 || u.groups()[0].level <= floor {
		return false
	}
	below := t.scale.reportRadius(u.groups()[0].level)
	return !prunable(d, u.reach, below) && near-u.rad <= below+round
}

// reachRatio is rho*b^(l+2) over reportRadius(l): b^3/(b^2-1).
func (s scale) reachRatio() float64 { return s.base * s.base * s.base / (s.base*s.base - 1) }
