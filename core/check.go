package core

import (
	"errors"
	"fmt"
)

// Check verifies the tree's invariants and returns the first violation
// found, or nil:
//
//   - structure: node 0 is the root; every other node's parent precedes it
//     and its subtree nests inside the parent's; children are grouped by
//     strictly descending level; the cached counts, distances and radius
//     bounds agree with the points;
//   - root: the root's level exceeds every other level;
//   - cover: every child c of p has l(c) < l(p) and d(c, p) <= 2^(l(c)+1);
//   - separation: any two nodes u, v satisfy d(u, v) > 2^min(l(u), l(v)),
//     so the nodes of level >= i are more than 2^i apart at every level i,
//     and no two nodes hold the same point;
//   - every caller index 0..Len()-1 is held by exactly one node.
//
// Check takes O(n^2) distance evaluations for n nodes (separation is checked
// pairwise, independently of the tree) and is meant for tests.
func (t *Tree[T]) Check() error {
	nn := len(t.level)
	if nn == 0 {
		return errors.New("core: check: tree has no nodes")
	}
	if t.parent[0] != -1 || t.end[0] != int32(nn) {
		return fmt.Errorf("core: check: node 0 is not a root spanning all %d nodes (parent %d, end %d)", nn, t.parent[0], t.end[0])
	}
	if err := t.checkStructure(); err != nil {
		return err
	}
	if err := t.checkIndices(); err != nil {
		return err
	}
	for v := 1; v < nn; v++ {
		if t.level[v] >= t.level[0] {
			return fmt.Errorf("core: check: root condition: node %d has level %d >= root level %d", v, t.level[v], t.level[0])
		}
		p := t.parent[v]
		if t.level[v] >= t.level[p] {
			return fmt.Errorf("core: check: cover condition: node %d has level %d >= its parent %d's level %d", v, t.level[v], p, t.level[p])
		}
		d := t.dist(t.point(int32(v)), t.point(p))
		if d != t.pdist[v] {
			return fmt.Errorf("core: check: node %d caches distance %v to its parent, actual %v", v, t.pdist[v], d)
		}
		if !within(d, pow2(t.level[v]+1)) {
			return fmt.Errorf("core: check: cover condition: node %d at level %d is %v from its parent %d, more than 2^%d", v, t.level[v], d, p, t.level[v]+1)
		}
	}
	for u := range nn {
		pu := t.point(int32(u))
		for v := u + 1; v < nn; v++ {
			d := t.dist(pu, t.point(int32(v)))
			l := min(t.level[u], t.level[v])
			if d <= pow2(l) {
				return fmt.Errorf("core: check: separation condition: nodes %d and %d (levels %d, %d) are %v apart, not more than 2^%d", u, v, t.level[u], t.level[v], d, l)
			}
		}
	}
	return t.checkRadii()
}

// checkStructure checks the depth-first layout and the child groups.
func (t *Tree[T]) checkStructure() error {
	nn := int32(len(t.level))
	for v := int32(0); v < nn; v++ {
		if t.end[v] <= v || t.end[v] > nn {
			return fmt.Errorf("core: check: node %d has subtree end %d outside (%d, %d]", v, t.end[v], v, nn)
		}
		if v > 0 {
			p := t.parent[v]
			if p < 0 || p >= v || t.end[v] > t.end[p] {
				return fmt.Errorf("core: check: node %d with parent %d does not nest in its parent's subtree", v, p)
			}
		}
		// Children: walk the groups; together they must tile (v, end[v]).
		next := v + 1
		prevLevel := t.level[v]
		for g := t.grpOff[v]; g < t.grpOff[v+1]; g++ {
			if t.grpLevel[g] >= prevLevel {
				return fmt.Errorf("core: check: node %d has child group %d at level %d, not below %d", v, g, t.grpLevel[g], prevLevel)
			}
			prevLevel = t.grpLevel[g]
			if t.grpFirst[g] != next {
				return fmt.Errorf("core: check: node %d group %d starts at node %d, expected %d", v, g, t.grpFirst[g], next)
			}
			end := t.groupEnd(v, g)
			if end <= next {
				return fmt.Errorf("core: check: node %d group %d is empty", v, g)
			}
			for c := next; c < end; c = t.end[c] {
				if t.parent[c] != v || t.level[c] != t.grpLevel[g] {
					return fmt.Errorf("core: check: node %d in group %d of node %d has parent %d and level %d, expected %d and %d", c, g, v, t.parent[c], t.level[c], v, t.grpLevel[g])
				}
				next = t.end[c]
			}
			if next != end {
				return fmt.Errorf("core: check: node %d group %d overruns to node %d, past %d", v, g, next, end)
			}
		}
		if next != t.end[v] {
			return fmt.Errorf("core: check: children of node %d end at node %d, its subtree at %d", v, next, t.end[v])
		}
		if t.level[v] < t.minLevel {
			return fmt.Errorf("core: check: node %d has level %d below the minimum %d", v, t.level[v], t.minLevel)
		}
	}
	return nil
}

// checkIndices checks that caller indices form a partition over the nodes.
func (t *Tree[T]) checkIndices() error {
	seen := make([]bool, t.n)
	nn := len(t.level)
	if len(t.ids) != t.n || t.idOff[nn] != int32(t.n) || t.cum[nn] != int64(t.n) {
		return fmt.Errorf("core: check: nodes hold %d caller indices, want %d", len(t.ids), t.n)
	}
	for v := range nn {
		lo, hi := t.idOff[v], t.idOff[v+1]
		if hi <= lo {
			return fmt.Errorf("core: check: node %d holds no caller index", v)
		}
		if t.cum[v+1]-t.cum[v] != int64(hi-lo) {
			return fmt.Errorf("core: check: node %d counts %d points, holds %d", v, t.cum[v+1]-t.cum[v], hi-lo)
		}
		for j := lo; j < hi; j++ {
			id := t.ids[j]
			if id < 0 || int(id) >= t.n || seen[id] {
				return fmt.Errorf("core: check: caller index %d at node %d is out of range or held twice", id, v)
			}
			if j > lo && t.ids[j-1] >= id {
				return fmt.Errorf("core: check: caller indices of node %d are not ascending", v)
			}
			seen[id] = true
			if t.nodeOf[id] != int32(v) {
				return fmt.Errorf("core: check: caller index %d is held by node %d but mapped to node %d", id, v, t.nodeOf[id])
			}
		}
	}
	return nil
}

// checkRadii checks that every radius bound covers the actual distances:
// rad[v] for all of v's descendants, and grpRad[g] for the subtrees of
// groups g, g+1, ... of v.
func (t *Tree[T]) checkRadii() error {
	nn := int32(len(t.level))
	for v := int32(0); v < nn; v++ {
		pv := t.point(v)
		g := t.grpOff[v]
		for x := v + 1; x < t.end[v]; x++ {
			for g+1 < t.grpOff[v+1] && x >= t.grpFirst[g+1] {
				g++
			}
			d := t.dist(pv, t.point(x))
			if !within(d, t.rad[v]) || !within(d, t.grpRad[g]) {
				return fmt.Errorf("core: check: descendant %d of node %d is %v away, beyond the radius bounds %v (node) and %v (group %d)", x, v, d, t.rad[v], t.grpRad[g], g)
			}
		}
	}
	return nil
}
