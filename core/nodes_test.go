package core

import (
	"math/rand/v2"
	"testing"
)

// TestNodeView walks every node through the read-only view and checks it
// against Structure, the caller indices and the radius bounds, on a built
// tree, after updates and on the version before them.
func TestNodeView(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const dim = 3
	tr, err := Build(coverData(r, 400, dim), dim, Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	ins, _, err := tr.Insert(coverData(r, 150, dim), UpdateOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	del, err := ins.Delete([]int64{1, 2, 3, 410, 500}, UpdateOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []*Tree[float64]{tr, ins, del} {
		checkNodeView(t, v)
	}
	empty, err := Build([]float64{1, 2, 3}, dim, Options{})
	if err != nil {
		t.Fatal(err)
	}
	empty, err = empty.Delete([]int64{0}, UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := empty.Root(); ok {
		t.Fatal("an empty tree has a root")
	}
	if _, ok := empty.NodeOf(0); ok {
		t.Fatal("a deleted id has a node")
	}
}

func checkNodeView[T Float](t *testing.T, tr *Tree[T]) {
	t.Helper()
	want := map[int]NodeInfo{}
	for _, nd := range tr.Structure() {
		want[nd.ID] = nd
	}
	root, ok := tr.Root()
	if !ok {
		t.Fatal("no root")
	}
	if _, ok := root.Parent(); ok || root.ParentDistance() != 0 || root.Reach() != 0 {
		t.Fatal("the root has a parent")
	}
	seen := map[int]bool{}
	points := 0
	var walk func(n Node[T], ancestors []Node[T])
	walk = func(n Node[T], ancestors []Node[T]) {
		ids := n.IDs()
		info, ok := want[int(ids[0])]
		if !ok {
			t.Fatalf("node %d is not in Structure", ids[0])
		}
		if n.Level() != info.Level || n.Count() != info.Count || len(ids) != n.Count() {
			t.Fatalf("node %d: level %d count %d, Structure says %d and %d", ids[0], n.Level(), n.Count(), info.Level, info.Count)
		}
		if i := n.Index(); i < 0 || i >= tr.Slots() || seen[i] {
			t.Fatalf("node %d has index %d (slots %d, seen %v)", ids[0], i, tr.Slots(), seen[i])
		}
		seen[n.Index()] = true
		points += len(ids)
		for _, id := range ids {
			m, ok := tr.NodeOf(int(id))
			if !ok || m.Index() != n.Index() {
				t.Fatalf("NodeOf(%d) is not the node holding it", id)
			}
		}
		weight := n.Count()
		for i := range n.NumChildren() {
			c := n.Child(i)
			if p, ok := c.Parent(); !ok || p.Index() != n.Index() {
				t.Fatal("a child's parent is not the node")
			}
			if d := tr.Dist(c.Point(), n.Point()); d != c.ParentDistance() {
				t.Fatalf("child %d is %v from its parent, ParentDistance %v", c.IDs()[0], d, c.ParentDistance())
			}
			if i > 0 && c.Level() > n.Child(i-1).Level() {
				t.Fatal("children are not ordered by level, descending")
			}
			weight += c.Weight()
		}
		if weight != n.Weight() {
			t.Fatalf("node %d has weight %d, its points and subtrees %d", ids[0], n.Weight(), weight)
		}
		for j, a := range ancestors {
			d := tr.Dist(n.Point(), a.Point())
			if !within(d, a.Radius()) {
				t.Fatalf("node %d is %v from ancestor %d, beyond its radius %v", ids[0], d, a.IDs()[0], a.Radius())
			}
			if j+1 < len(ancestors) && !within(d, ancestors[j+1].Reach()) {
				t.Fatalf("node %d is %v from ancestor %d, beyond the reach %v of its child", ids[0], d, a.IDs()[0], ancestors[j+1].Reach())
			}
		}
		if len(ancestors) > 0 && !within(tr.Dist(n.Point(), ancestors[len(ancestors)-1].Point()), n.Reach()) {
			t.Fatalf("node %d lies beyond its own reach from its parent", ids[0])
		}
		for i := range n.NumChildren() {
			walk(n.Child(i), append(ancestors, n))
		}
	}
	walk(root, nil)
	if points != tr.Len() || len(seen) != tr.Nodes() {
		t.Fatalf("the view reaches %d points in %d nodes, the tree holds %d in %d", points, len(seen), tr.Len(), tr.Nodes())
	}
}
