package core

import "fmt"

// Check verifies the tree's invariants and returns the first violation
// found, or nil:
//
//   - structure: every node is reached from the root exactly once through
//     children whose parent it is; children are sorted by level,
//     descending, and the child groups, weights and counts agree with them;
//   - root: the root's level exceeds every other level;
//   - cover: every child c of p has l(c) < l(p) and d(c, p) <= b^(l(c)+1)
//     for the level base b (2 by default), and caches that distance;
//   - separation: any two nodes u, v satisfy d(u, v) > b^min(l(u), l(v)),
//     so the nodes of level >= i are more than b^i apart at every level i
//     (the nodes of each level nest in those of the levels below), and no
//     two nodes hold the same point;
//   - radius bounds: rad(a) and the reach of a's child on the path are at
//     least d(a, x) for every ancestor a of every node x;
//   - every caller index held maps back to its node, and the counts of
//     points and nodes are right.
//
// Check takes O(n^2) distance evaluations for n nodes (separation is
// checked pairwise, independently of the tree) and is meant for tests.
func (t *Tree[T]) Check() error {
	live, err := t.checkStructure()
	if err != nil {
		return err
	}
	if err := t.checkIndices(live); err != nil {
		return err
	}
	for _, u := range live {
		n := t.node(u)
		if u == t.root {
			continue
		}
		p := n.parent
		if n.level >= t.node(p).level {
			return fmt.Errorf("core: check: cover condition: node %d has level %d >= its parent %d's level %d", u, n.level, p, t.node(p).level)
		}
		d := t.dist(t.point(u), t.point(p))
		if d != n.pdist {
			return fmt.Errorf("core: check: node %d caches distance %v to its parent, actual %v", u, n.pdist, d)
		}
		if !within(d, t.scale.pow(n.level+1)) {
			return fmt.Errorf("core: check: cover condition: node %d at level %d is %v from its parent %d, more than %g^%d", u, n.level, d, p, t.scale.base, n.level+1)
		}
	}
	pows := map[int32]float64{}
	pow := func(l int32) float64 {
		p, ok := pows[l]
		if !ok {
			p = t.scale.pow(l)
			pows[l] = p
		}
		return p
	}
	for i, u := range live {
		pu := t.point(u)
		lu := t.node(u).level
		for _, v := range live[i+1:] {
			d := t.dist(pu, t.point(v))
			l := min(lu, t.node(v).level)
			if d <= pow(l) {
				return fmt.Errorf("core: check: separation condition: nodes %d and %d (levels %d, %d) are %v apart, not more than %g^%d", u, v, lu, t.node(v).level, d, t.scale.base, l)
			}
		}
	}
	return t.checkRadii(live)
}

// checkStructure walks the tree from the root and checks links, order,
// groups and weights. It returns the nodes reached, parents first.
func (t *Tree[T]) checkStructure() ([]int32, error) {
	if t.root < 0 {
		if t.n != 0 || t.nodes != 0 {
			return nil, fmt.Errorf("core: check: empty tree counts %d points in %d nodes", t.n, t.nodes)
		}
		return nil, nil
	}
	rn := t.node(t.root)
	if rn.parent != -1 || rn.level != levelInf {
		return nil, fmt.Errorf("core: check: root %d has parent %d and level %d", t.root, rn.parent, rn.level)
	}
	visited := make(map[int32]bool, t.nodes)
	live := make([]int32, 0, t.nodes)
	stack := []int32{t.root}
	points := 0
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if u < 0 || u >= t.s.slots {
			return nil, fmt.Errorf("core: check: node %d is outside the %d slots", u, t.s.slots)
		}
		if visited[u] {
			return nil, fmt.Errorf("core: check: node %d is reached twice", u)
		}
		visited[u] = true
		live = append(live, u)
		n := t.node(u)
		if !n.live() {
			return nil, fmt.Errorf("core: check: node %d holds no caller index", u)
		}
		points += len(n.idList())
		w := int64(len(n.idList()))
		for i, c := range n.children() {
			cn := t.node(c)
			if cn.parent != u {
				return nil, fmt.Errorf("core: check: node %d lists child %d whose parent is %d", u, c, cn.parent)
			}
			if i > 0 && cn.level > t.node(n.children()[i-1]).level {
				return nil, fmt.Errorf("core: check: children of node %d are not sorted by level", u)
			}
			w += cn.weight
			stack = append(stack, c)
		}
		if n.weight != w {
			return nil, fmt.Errorf("core: check: node %d has weight %d, its points and subtrees hold %d", u, n.weight, w)
		}
		if err := t.checkGroups(u); err != nil {
			return nil, err
		}
	}
	if len(live) != t.nodes || points != t.n {
		return nil, fmt.Errorf("core: check: the tree holds %d points in %d nodes, it counts %d in %d", points, len(live), t.n, t.nodes)
	}
	return live, nil
}

// checkGroups checks node u's child groups against its children.
func (t *Tree[T]) checkGroups(u int32) error {
	n := t.node(u)
	start := int32(0)
	for g, gr := range n.groups() {
		if gr.end <= start || int(gr.end) > len(n.children()) {
			return fmt.Errorf("core: check: node %d group %d spans children [%d, %d) of %d", u, g, start, gr.end, len(n.children()))
		}
		if g > 0 && gr.level >= n.groups()[g-1].level {
			return fmt.Errorf("core: check: node %d groups are not in descending level order", u)
		}
		for _, c := range n.children()[start:gr.end] {
			if t.node(c).level != gr.level {
				return fmt.Errorf("core: check: child %d of node %d has level %d in group %d of level %d", c, u, t.node(c).level, g, gr.level)
			}
		}
		var w int64
		var r float64
		for _, c := range n.children()[start:] {
			w += t.node(c).weight
			r = max(r, t.node(c).reach)
		}
		if gr.w != w || gr.rad < r {
			return fmt.Errorf("core: check: node %d group %d counts %d points within %v, its children %d within %v", u, g, gr.w, gr.rad, w, r)
		}
		start = gr.end
	}
	if int(start) != len(n.children()) {
		return fmt.Errorf("core: check: node %d groups cover %d of its %d children", u, start, len(n.children()))
	}
	return nil
}

// checkIndices checks that caller indices and nodes point at each other.
func (t *Tree[T]) checkIndices(live []int32) error {
	held := 0
	for _, u := range live {
		n := t.node(u)
		for j, id := range n.idList() {
			if j > 0 && n.idList()[j-1] >= id {
				return fmt.Errorf("core: check: caller indices of node %d are not ascending", u)
			}
			if got := t.s.nodeOf(id); got != u {
				return fmt.Errorf("core: check: caller index %d is held by node %d but mapped to node %d", id, u, got)
			}
		}
	}
	held = len(t.LiveIDs(nil))
	if held != t.n {
		return fmt.Errorf("core: check: %d caller indices are mapped to nodes, the tree holds %d points", held, t.n)
	}
	return nil
}

// checkRadii checks the radius bounds against the points: rad(a) and the
// reach of a's child on the path are at least d(a, x) for every ancestor a
// of every node x.
func (t *Tree[T]) checkRadii(live []int32) error {
	for _, x := range live {
		px := t.point(x)
		for c, a := x, t.node(x).parent; a >= 0; c, a = a, t.node(a).parent {
			d := t.dist(px, t.point(a))
			if !within(d, t.node(a).rad) || !within(d, t.node(c).reach) {
				return fmt.Errorf("core: check: node %d is %v from its ancestor %d, beyond the bounds rad %v and reach %v (of child %d)", x, d, a, t.node(a).rad, t.node(c).reach, c)
			}
		}
	}
	return nil
}
