package core_test

import (
	"math/rand/v2"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// TestChoose checks Choose on data whose answer is clear: points on a
// curve in the plane (a tree prunes almost everything) and uniform points
// in 64 dimensions (it prunes nothing); that BuildIndex builds what was
// chosen or asked for, and that the same data and seed choose the same.
func TestChoose(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	curve := make([]float64, 6000*2)
	for i := 0; i < len(curve); i += 2 {
		a := rng.Float64() * 20
		curve[i], curve[i+1] = a, a*a/20
	}
	cube := make([]float64, 1500*64)
	for i := range cube {
		cube[i] = rng.Float64()
	}
	for _, tc := range []struct {
		name string
		data []float64
		dim  int
		want core.Algorithm
	}{
		{"curve/d=2", curve, 2, core.CoverTree},
		{"uniform/d=64", cube, 64, core.Brute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := core.Options{Seed: 4, Jobs: 2}
			c, err := core.Choose(tc.data, tc.dim, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", c)
			if c.Algorithm != tc.want {
				t.Fatalf("chose %v, want %v (%+v)", c.Algorithm, tc.want, c)
			}
			if c.Sample < 256 || c.SampleEvals <= 0 || c.Evals < c.SampleEvals/2 || c.TreeCost <= 0 || c.BruteCost <= 0 {
				t.Fatalf("implausible evidence %+v", c)
			}
			if again, _ := core.Choose(tc.data, tc.dim, opts); again != c {
				t.Fatalf("the same data and seed chose differently: %+v, then %+v", c, again)
			}
			for _, algo := range []core.Algorithm{core.Auto, tc.want} {
				tr, fl, got, err := core.BuildIndex(tc.data, tc.dim, algo, opts)
				if err != nil {
					t.Fatal(err)
				}
				want := algo
				if algo == core.Auto {
					want = tc.want
				}
				if got.Algorithm != want || (tr != nil) != (want == core.CoverTree) || (fl != nil) != (want == core.Brute) {
					t.Fatalf("BuildIndex(%v) chose %v, tree %v, flat %v", algo, got.Algorithm, tr != nil, fl != nil)
				}
			}
		})
	}
	if _, _, _, err := core.BuildIndex([]float64{1, 2}, 1, core.Algorithm(9), core.Options{}); err == nil {
		t.Error("an unknown algorithm was accepted")
	}
	if _, err := core.Choose([]float64{1, 2, 3}, 2, core.Options{}); err == nil {
		t.Error("3 values accepted as rows of 2")
	}
}
