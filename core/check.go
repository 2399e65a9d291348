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
//   - cover: every child c of p has l(c) < l(p) and d(c, p) <= b^(l(c)+1)
//     for the level base b (2 by default);
//   - separation: any two nodes u, v satisfy d(u, v) > b^min(l(u), l(v)),
//     so the nodes of level >= i are more than b^i apart at every level i,
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
	if t.parent[0] != -1 {
		return fmt.Errorf("core: check: node 0 is not the root (parent %d)", t.parent[0])
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
		if !within(d, t.scale.pow(t.level[v]+1)) {
			return fmt.Errorf("core: check: cover condition: node %d at level %d is %v from its parent %d, more than %g^%d", v, t.level[v], d, p, t.scale.base, t.level[v]+1)
		}
	}
	for u := range nn {
		pu := t.point(int32(u))
		for v := u + 1; v < nn; v++ {
			d := t.dist(pu, t.point(int32(v)))
			l := min(t.level[u], t.level[v])
			if d <= t.scale.pow(l) {
				return fmt.Errorf("core: check: separation condition: nodes %d and %d (levels %d, %d) are %v apart, not more than %g^%d", u, v, t.level[u], t.level[v], d, t.scale.base, l)
			}
		}
	}
	return t.checkRadii()
}

// checkStructure checks the layout: every node but the root sits in
// exactly one child block, its parent's, after its parent; a block is
// grouped by strictly descending level.
func (t *Tree[T]) checkStructure() error {
	nn := int32(len(t.level))
	children := int32(0)
	for v := int32(0); v < nn; v++ {
		if v > 0 {
			if p := t.parent[v]; p < 0 || p >= v {
				return fmt.Errorf("core: check: node %d has parent %d, not an earlier node", v, p)
			}
		}
		prevLevel := t.level[v]
		for g := t.grpOff[v]; g < t.grpOff[v+1]; g++ {
			if t.grpLevel[g] >= prevLevel {
				return fmt.Errorf("core: check: node %d has child group %d at level %d, not below %d", v, g, t.grpLevel[g], prevLevel)
			}
			prevLevel = t.grpLevel[g]
			if t.grpEnd[g] <= t.grpFirst[g] || (g > t.grpOff[v] && t.grpFirst[g] != t.grpEnd[g-1]) {
				return fmt.Errorf("core: check: node %d group %d spans nodes [%d, %d), not a nonempty run after its previous group", v, g, t.grpFirst[g], t.grpEnd[g])
			}
			for c := t.grpFirst[g]; c < t.grpEnd[g]; c++ {
				if t.parent[c] != v || t.level[c] != t.grpLevel[g] {
					return fmt.Errorf("core: check: node %d in group %d of node %d has parent %d and level %d, expected %d and %d", c, g, v, t.parent[c], t.level[c], v, t.grpLevel[g])
				}
			}
			children += t.grpEnd[g] - t.grpFirst[g]
		}
		if t.level[v] < t.minLevel {
			return fmt.Errorf("core: check: node %d has level %d below the minimum %d", v, t.level[v], t.minLevel)
		}
	}
	// Group members have their group's node as parent, so no node is in
	// two blocks; with nn-1 members in all, every non-root node is in one.
	if children != nn-1 {
		return fmt.Errorf("core: check: child blocks hold %d nodes, want %d", children, nn-1)
	}
	return nil
}

// checkIndices checks that caller indices form a partition over the nodes.
func (t *Tree[T]) checkIndices() error {
	seen := make([]bool, t.n)
	nn := len(t.level)
	if len(t.ids) != t.n || t.idOff[nn] != int32(t.n) {
		return fmt.Errorf("core: check: nodes hold %d caller indices, want %d", len(t.ids), t.n)
	}
	for v := range nn {
		lo, hi := t.idOff[v], t.idOff[v+1]
		if hi <= lo {
			return fmt.Errorf("core: check: node %d holds no caller index", v)
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

// checkRadii checks the subtree tables against the points: rad[a] and
// grpRad of the group holding the branch are at least d(a, x) for every
// ancestor a of every node x, and the weights grpW count the caller points
// in the subtrees of each group and those after it.
func (t *Tree[T]) checkRadii() error {
	nn := int32(len(t.level))
	grpOf := make([]int32, nn)
	for v := range nn {
		for g := t.grpOff[v]; g < t.grpOff[v+1]; g++ {
			for c := t.grpFirst[g]; c < t.grpEnd[g]; c++ {
				grpOf[c] = g
			}
		}
	}
	w := make([]int64, len(t.grpLevel)) // points below each group alone
	for x := int32(1); x < nn; x++ {
		px := t.point(x)
		mult := int64(t.idOff[x+1] - t.idOff[x])
		for c, a := x, t.parent[x]; a >= 0; c, a = a, t.parent[a] {
			d := t.dist(px, t.point(a))
			g := grpOf[c]
			if !within(d, t.rad[a]) || !within(d, t.grpRad[g]) {
				return fmt.Errorf("core: check: descendant %d of node %d is %v away, beyond the radius bounds %v (node) and %v (group %d)", x, a, d, t.rad[a], t.grpRad[g], g)
			}
			w[g] += mult
		}
	}
	for v := range nn {
		var suffix int64
		for g := t.grpOff[v+1] - 1; g >= t.grpOff[v]; g-- {
			suffix += w[g]
			if t.grpW[g] != suffix {
				return fmt.Errorf("core: check: node %d group %d counts %d points in its subtrees and those after, actual %d", v, g, t.grpW[g], suffix)
			}
		}
	}
	return nil
}
