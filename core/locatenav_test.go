package core

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestNavTableSameTrees runs the same insertions and deletions with every
// batch located through a navTable and with none, on each update set in
// float64 and float32, and requires the same tree after every step (level,
// parent, distance to it, radius and reach of every point) and the
// invariants on the trees made through the table. A table entry read
// wrong, or made from a node whose fields it does not copy, changes what a
// traversal measures and keeps, and with it the trees.
func TestNavTableSameTrees(t *testing.T) {
	n := 1200
	if raceEnabled || testing.Short() {
		n = 400
	}
	for _, set := range updateSets() {
		t.Run(set.name, func(t *testing.T) {
			rows, err := set.rows(rand.New(rand.NewPCG(11, uint64(set.dim))), n)
			if err != nil {
				t.Skipf("data set not available: %v", err)
			}
			t.Run("float64", func(t *testing.T) { checkNavTrees(t, rows, set.dim, set.metric) })
			t.Run("float32", func(t *testing.T) { checkNavTrees(t, toFloat32(rows), set.dim, set.metric) })
		})
	}
}

func checkNavTrees[T Float](t *testing.T, rows []T, dim int, metric Metric) {
	run := func(nav navMode) []*Tree[T] {
		n := len(rows) / dim
		cut := n / 4
		tr, err := Build(rows[:cut*dim], dim, Options{Seed: 4, Jobs: 2, Metric: metric})
		if err != nil {
			t.Fatal(err)
		}
		trees := []*Tree[T]{tr}
		rng := rand.New(rand.NewPCG(6, 1))
		next := cut
		for _, step := range []float64{0.1, -0.2, 0.3, -0.4, 1} {
			if step > 0 {
				m := min(int(step*float64(n)), n-next)
				tr, _, err = tr.Insert(rows[next*dim:(next+m)*dim], UpdateOptions{Jobs: 2, nav: nav})
				next += m
			} else {
				ids := tr.LiveIDs(nil)
				rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
				tr, err = tr.Delete(ids[:int(-step*float64(len(ids)))], UpdateOptions{Jobs: 2, nav: nav})
			}
			if err != nil {
				t.Fatal(err)
			}
			trees = append(trees, tr)
		}
		return trees
	}
	with, without := run(navAlways), run(navNever)
	for i := range with {
		if err := with[i].Check(); err != nil {
			t.Fatalf("step %d through the table: %v", i, err)
		}
		if a, b := treeShape(with[i]), treeShape(without[i]); !slices.Equal(a, b) {
			t.Fatalf("step %d: the tree made through the table differs from the one made without", i)
		}
	}
}
