package core

import (
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
	// b^(bound+1), at distance pdist; -1 when bound is levelInf.
	parent int32
	pdist  float64
	// dup is a counted node at distance zero, or -1.
	dup int32
	// seen lists nodes measured, with their distances and levels: the
	// point's conflict scope (trimmed to the nodes that matter), and a
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

// locate finds where x would go if inserted alone into t, as the
// sequential insertion does: the lowest level m above floor at which some
// counted node of level >= m lies within b^m of x gives bound m-1 and the
// nearest such node as parent. Level by level it keeps every node of level
// >= i within rho*b^(i+1) of x, which holds the parents of every node of
// level i-1 within rho*b^i, so no qualifying node is missed.
//
// Of those it measures only the nodes that it may report (as a cover of x
// or in the conflict scope: within reportRadius of their level) or that
// may lead to one: a child is skipped, unmeasured, when the triangle
// inequality through its parent, with its reach and radius, puts it and
// its whole subtree beyond (mayReport), and a node leaves the traversal
// once none of its remaining child groups can hold such a node (needed).
// The result -- bound, parent, duplicate and trimmed scope, in the same
// order -- is what the plain traversal finds, for about half its distance
// evaluations in 3 dimensions.
//
// Nodes for which ghost returns true route the search (their children are
// explored) but do not count: they are being deleted. The node skip (an
// orphan being relocated) is neither counted nor explored; its own subtree
// lies below floor. A counted node at distance zero is reported as dup and
// ends the search.
func (t *Tree[T]) locate(x []T, floor, skip int32, ghost []bool, out *located, q, q2 []locCand) ([]locCand, []locCand) {
	q, q2 = t.scan(x, floor, skip, ghost, out, q, q2)
	out.evals = len(out.seen)
	out.trimScope(t.scale)
	return q, q2
}

// trimScope keeps, of the nodes measured, only those that can be the
// located parent of an item conflicting with this one (see
// measureConflicts): of level above the bound and within b^bound +
// b^level. The rest would only cost memory; a batch holds every item's
// scope at once.
func (l *located) trimScope(sc scale) {
	if l.dup >= 0 {
		l.seen, l.seenD, l.seenL = l.seen[:0], l.seenD[:0], l.seenL[:0]
		return
	}
	if l.bound == levelInf {
		return
	}
	bx := sc.pow(l.bound)
	j := 0
	for i, lp := range l.seenL {
		d := l.seenD[i]
		if lp <= l.bound || (lp != levelInf && d > (bx+sc.pow(lp))*(1+slack)) {
			continue
		}
		l.seen[j], l.seenD[j], l.seenL[j] = l.seen[i], d, lp
		j++
	}
	l.seen, l.seenD, l.seenL = l.seen[:j], l.seenD[:j], l.seenL[:j]
}

// scan is locate's traversal.
func (t *Tree[T]) scan(x []T, floor, skip int32, ghost []bool, out *located, q, q2 []locCand) ([]locCand, []locCand) {
	out.bound, out.parent, out.pdist, out.dup = levelInf, -1, 0, -1
	out.seen, out.seenD, out.seenL = out.seen[:0], out.seenD[:0], out.seenL[:0]
	counts := func(u int32) bool { return u != skip && (ghost == nil || !ghost[u]) }
	sc := t.scale

	d0 := t.dist(x, t.point(t.root))
	out.seen, out.seenD, out.seenL = append(out.seen, t.root), append(out.seenD, d0), append(out.seenL, levelInf)
	if d0 == 0 && counts(t.root) {
		out.dup = t.root
		return q, q2
	}
	q = append(q[:0], locCand{node: t.root, d: d0})
	i := levelInf
	for {
		next := levelNegInf
		dmin, arg := math.Inf(1), int32(-1)
		for _, c := range q {
			if c.d < dmin && counts(c.node) {
				dmin, arg = c.d, c.node
			}
			if n := t.node(c.node); int(c.g) < len(n.grp) {
				next = max(next, n.grp[c.g].level)
			}
		}
		if arg >= 0 {
			// Between next (exclusive) and i (inclusive) the counted nodes
			// of level >= j near x are those of q; the lowest j within b^j:
			j := max(sc.ceilLog(dmin), floor+1)
			if next != levelNegInf {
				j = max(j, next+1)
			}
			if j <= i {
				out.bound, out.parent, out.pdist = j-1, arg, dmin
			}
		}
		if next == levelNegInf || next <= floor {
			return q, q2
		}
		keep := sc.rho * sc.pow(next+1)
		parentMax := sc.rho * sc.pow(next+2)
		q2 = q2[:0]
		for k := range q {
			c := &q[k]
			n := t.node(c.node)
			if int(c.g) >= len(n.grp) || n.grp[c.g].level != next {
				if within(c.d, keep) && t.needed(n, c.g, c.d, next) {
					q2 = append(q2, *c)
				}
				continue
			}
			g := int(c.g)
			c.g++
			// Measure the group only if one of its children's subtrees
			// may reach into the keep ball: within parentMax of x, and
			// within keep once its radius is counted. Every node of
			// level >= next within keep is then still measured, and so
			// is every node the conflict scope keeps (trimScope: level
			// lp > bound, within b^bound + b^lp <= keep at level lp).
			// Of those, only a group whose subtrees may hold a node the
			// traversal reports is measured (see reaches).
			if within(c.d, parentMax) && within(c.d-n.grp[g].rad, keep) && t.reaches(n, g, c.d) {
				// Measure the group as a block, appended to the seen lists.
				base := len(out.seen)
				rep := sc.reportRadius(next)
				for _, u := range n.kids[n.groupStart(g):n.grp[g].end] {
					if u != skip && t.mayReport(t.node(u), c.d, rep) {
						out.seen = append(out.seen, u)
					}
				}
				m := len(out.seen) - base
				out.seenD = slices.Grow(out.seenD, m)[:base+m]
				for range m {
					out.seenL = append(out.seenL, next)
				}
				t.distances(x, out.seen[base:], out.seenD[base:])
				for i, u := range out.seen[base:] {
					du := out.seenD[base+i]
					if du == 0 && counts(u) {
						out.dup = u
						out.seen, out.seenD, out.seenL = out.seen[:base+i+1], out.seenD[:base+i+1], out.seenL[:base+i+1]
						return q, q2
					}
					if within(du, keep) && t.needed(t.node(u), 0, du, next) {
						q2 = append(q2, locCand{node: u, d: du})
					}
				}
			}
			if within(c.d, keep) && t.needed(n, c.g, c.d, next) {
				q2 = append(q2, *c)
			}
		}
		if len(q2) == 0 {
			return q, q2
		}
		q, q2 = q2, q
		i = next
	}
}

// reportRadius bounds the distance from x of every node of level l that a
// traversal must report: a node that covers x at some level j <= l lies
// within b^j <= b^l, and one the conflict scope keeps (level l > bound)
// within b^bound + b^l <= b^(l-1) + b^l (trimScope).
func (s scale) reportRadius(l int32) float64 { return s.pow(l) + s.pow(l-1) }

// reaches reports whether group g of node n (at distance d from x) or a
// later group may hold a node the traversal must report: some descendant
// v of level <= l, the group's level, within reportRadius(l) of x. Every
// such v lies within the group's radius of n, so d - rad <= d(v, x).
// Each ancestor of a reported node passes this test for the group that
// leads to it (its radius bounds the distance to the node), and for every
// earlier group, whose radius and level are no smaller.
func (t *Tree[T]) reaches(n *node, g int, d float64) bool {
	return within(d-n.grp[g].rad, t.scale.reportRadius(n.grp[g].level))
}

// needed reports whether a node n of level >= next, at distance d from x,
// with g its first child group not yet measured, must stay in the
// traversal below level next: it may cover x there (d <= b^next), or its
// remaining groups may lead to a node to report.
func (t *Tree[T]) needed(n *node, g int32, d float64, next int32) bool {
	return within(d, t.scale.pow(next)) || (int(g) < len(n.grp) && t.reaches(n, int(g), d))
}

// mayReport reports whether child u of a node at distance d from x, or a
// node of u's subtree, may be one the traversal must report, by the
// triangle inequality through the parent, without measuring u. u lies
// pdist from the parent, so d(u, x) >= |d - pdist|, which must be within
// rep, the report radius of u's level. A node v below u has a level no
// higher than u's first child group and lies within u's reach of the
// parent and within u's radius of u, so d(v, x) >= d - reach and >=
// |d - pdist| - rad, which must be within that group's report radius.
// Each test keeps a margin for rounding in the distances it combines.
func (t *Tree[T]) mayReport(u *node, d, rep float64) bool {
	near := math.Abs(d - u.pdist)
	margin := slack * (d + u.pdist + u.rad + rep)
	if near <= rep+margin {
		return true
	}
	if len(u.grp) == 0 {
		return false
	}
	below := t.scale.reportRadius(u.grp[0].level)
	return !prunable(d, u.reach, below) && near-u.rad <= below+margin
}
