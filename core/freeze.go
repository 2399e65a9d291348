package core

import "slices"

// freeze lays the builder's nodes out in child blocks and computes the
// tables the searches read.
func (b *builder[T]) freeze() *Tree[T] {
	nn := len(b.row)
	dim := b.dim
	t := &Tree[T]{
		dim:        dim,
		n:          len(b.next),
		metric:     b.metric,
		scale:      b.scale,
		dist:       b.dist,
		pts:        make([]T, nn*dim),
		level:      make([]int32, nn),
		parent:     make([]int32, nn),
		pdist:      make([]float64, nn),
		rad:        make([]float64, nn),
		grpOff:     make([]int32, nn+1),
		idOff:      make([]int32, nn+1),
		ids:        make([]int32, 0, len(b.next)),
		nodeOf:     make([]int32, len(b.next)),
		buildEvals: b.evals,
	}
	// order[new] is the builder node placed at new: each node's children
	// form one block, and blocks are placed as their parents are visited
	// depth-first.
	order := make([]int32, 1, nn)
	stack := []int32{0}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		kids := b.kids[v]
		order = append(order, kids...)
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	pos := make([]int32, nn)
	for nv, ov := range order {
		pos[ov] = int32(nv)
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
		// Groups of children by level.
		kids := b.kids[ov]
		t.grpOff[nv+1] = t.grpOff[nv]
		for i, c := range kids {
			if i == 0 || b.level[c] != b.level[kids[i-1]] {
				t.grpLevel = append(t.grpLevel, b.level[c])
				t.grpFirst = append(t.grpFirst, pos[c])
				t.grpEnd = append(t.grpEnd, pos[c])
				t.grpOff[nv+1]++
			}
			t.grpEnd[len(t.grpEnd)-1]++
		}
	}
	t.computeSubtrees()
	return t
}

// computeSubtrees sets the subtree radii and weights. rad[v] is the largest
// distance from v to a descendant and grpRad[g] the largest from v to a node
// in the subtrees of its groups g, g+1, ...: exact values, measured once per
// (ancestor, descendant) pair, O(n * depth) distance evaluations in all.
// Exact radii prune far better than the cover tree's geometric bounds.
func (t *Tree[T]) computeSubtrees() {
	nn := int32(len(t.level))
	ng := len(t.grpLevel)
	t.grpRad = make([]float64, ng)
	t.grpW = make([]int64, ng)
	grpOf := make([]int32, nn) // child -> the group of its parent holding it
	for g := range int32(ng) {
		for c := t.grpFirst[g]; c < t.grpEnd[g]; c++ {
			grpOf[c] = g
		}
	}
	sub := make([]int64, nn) // subtree weights; children follow parents
	for v := nn - 1; v >= 0; v-- {
		sub[v] += int64(t.idOff[v+1] - t.idOff[v])
		if v > 0 {
			sub[t.parent[v]] += sub[v]
			t.grpW[grpOf[v]] += sub[v]
		}
	}
	for x := int32(1); x < nn; x++ {
		px := t.point(x)
		for c, a := x, t.parent[x]; a >= 0; c, a = a, t.parent[a] {
			d := t.pdist[x]
			if c != x {
				d = t.dist(px, t.point(a))
				t.buildEvals++
			}
			t.rad[a] = max(t.rad[a], d)
			t.grpRad[grpOf[c]] = max(t.grpRad[grpOf[c]], d)
		}
	}
	for v := range nn {
		for g := t.grpOff[v+1] - 2; g >= t.grpOff[v]; g-- {
			t.grpRad[g] = max(t.grpRad[g], t.grpRad[g+1])
			t.grpW[g] += t.grpW[g+1]
		}
	}
}
