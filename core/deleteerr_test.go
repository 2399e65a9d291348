package core

import (
	"strings"
	"testing"
)

// TestDeleteRejects checks that Delete names the first caller index, in
// the order given, that the tree does not hold or that is given twice,
// and returns no new version.
func TestDeleteRejects(t *testing.T) {
	rows := []float64{0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 2, 2}
	tr, err := Build(rows, 2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := tr.Delete([]int64{2}, UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		tree *Tree[float64]
		ids  []int64
		want string
	}{
		{tr, []int64{1, -1, 9}, "caller index -1 is not in the tree"},
		{tr, []int64{1, 6, 1}, "caller index 6 is not in the tree"},
		{tr, []int64{3, 1, 0, 1, 3}, "caller index 1 is given twice"},
		{tr, []int64{4, 3, 4, 7}, "caller index 4 is given twice"},
		{gone, []int64{0, 2, 2}, "caller index 2 is not in the tree"},
	}
	for _, c := range cases {
		nt, err := c.tree.Delete(c.ids, UpdateOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) || nt != nil {
			t.Errorf("Delete(%v) = %v, %v; want no tree and an error naming %q", c.ids, nt, err, c.want)
		}
	}
	// Duplicate points: each index goes alone.
	nt, err := tr.Delete([]int64{4, 3}, UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if nt.Len() != 4 || nt.Nodes() != 4 || !nt.Has(5) || nt.Has(4) || nt.Has(3) {
		t.Fatalf("after deleting 3 and 4 of two duplicates: %d points, %d nodes", nt.Len(), nt.Nodes())
	}
	if err := nt.Check(); err != nil {
		t.Fatal(err)
	}
}
