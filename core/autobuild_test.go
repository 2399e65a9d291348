package core

import (
	"math"
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

// TestVerifyTree checks Auto's decision from a tree of the whole data (an
// unclear first estimate): a tree whose queries measure a few percent of
// its points is kept, with its own figures and a query counter at zero; one
// whose queries measure nearly every point (uniform 48-D) gives way to a
// BruteForce.
func TestVerifyTree(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	curve := make([]float64, 0, 6000*3)
	for range 6000 {
		u := rng.Float64() * 40
		curve = append(curve, math.Cos(u), math.Sin(u), u/10)
	}
	const n, dim = 2500, 48
	cube := make([]float64, n*dim)
	for i := range cube {
		cube[i] = rng.Float64()
	}
	for _, tc := range []struct {
		name string
		data []float64
		dim  int
		want Algorithm
	}{
		{"curve", curve, 3, CoverTree},
		{"uniform 48-D", cube, dim, Brute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := len(tc.data) / tc.dim
			tr, err := Build(tc.data, tc.dim, Options{Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			kept, bf, c, err := verifyTree(tr, tc.data, tc.dim, Choice{}, Options{Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			if c.Algorithm != tc.want || c.Sample != m || !(c.Evals > 0) || !(c.BuildEvals > 0) {
				t.Fatalf("choice %+v, want %v from the whole %d points", c, tc.want, m)
			}
			if frac := c.Evals / float64(m); (tc.want == Brute) != (frac > 0.5) {
				t.Fatalf("queries measured %.0f of %d points, yet the choice is %v", c.Evals, m, c.Algorithm)
			}
			switch tc.want {
			case CoverTree:
				if kept != tr || bf != nil {
					t.Fatal("the tree was not kept")
				}
				if _, q := kept.DistanceEvals(); q != 0 {
					t.Fatalf("the kept tree counts %d query evaluations, want 0", q)
				}
			case Brute:
				if kept != nil || bf == nil || bf.Len() != m {
					t.Fatalf("tree %v, brute force %v; want a BruteForce of all %d points", kept != nil, bf != nil, m)
				}
			}
		})
	}
}
