package core

import (
	"math/rand/v2"
	"testing"
)

// TestBuildIndexGivesUp checks that a tree chosen by Auto whose build
// exceeds its budget is replaced by a BruteForce with the same answers.
func TestBuildIndexGivesUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	const n, dim = 3000, 24
	data := make([]float64, n*dim)
	for i := range data {
		data[i] = rng.Float64()
	}
	// A choice that misjudged the data: a tree, with a small budget.
	c := Choice{Algorithm: CoverTree, BuildBudget: 1000, BuildEvals: 1}
	tr, bf, got, err := buildChosen(data, dim, true, c, Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if tr != nil || bf == nil || !got.GaveUp || got.Algorithm != Brute {
		t.Fatalf("buildChosen returned tree %v, brute force %v, choice %+v; want a BruteForce, GaveUp", tr != nil, bf != nil, got)
	}
	// Asked for explicitly, the tree is built whatever it costs.
	tr, bf, got, err = buildChosen(data, dim, false, c, Options{Jobs: 2})
	if err != nil || tr == nil || bf != nil || got.GaveUp {
		t.Fatalf("an explicit tree: tree %v, brute force %v, choice %+v, error %v", tr != nil, bf != nil, got, err)
	}
	q := data[:10*dim]
	d1, i1 := make([]float64, 30), make([]int64, 30)
	d2, i2 := make([]float64, 30), make([]int64, 30)
	if err := tr.KNearestBatch(Batch[float64]{Points: q}, 3, d1, i1); err != nil {
		t.Fatal(err)
	}
	_, bf, _, _ = buildChosen(data, dim, true, c, Options{Jobs: 2})
	if err := bf.KNearestBatch(Batch[float64]{Points: q}, 3, d2, i2); err != nil {
		t.Fatal(err)
	}
	for i := range d1 {
		if d1[i] != d2[i] || i1[i] != i2[i] {
			t.Fatalf("rank %d: the tree gives (%v, %d), the fallback (%v, %d)", i, d1[i], i1[i], d2[i], i2[i])
		}
	}
}
