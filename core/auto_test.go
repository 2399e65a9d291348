package core_test

import (
	"bytes"
	"math"
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
		// early: the smaller sample measured nearly all its points, so
		// it alone decided (a quarter of 1,024).
		early bool
	}{
		{"curve/d=2", curve, 2, core.CoverTree, false},
		{"uniform/d=64", cube, 64, core.Brute, true},
		{"uniform/d=64/small", cube[:700*64], 64, core.Brute, true},
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
			if early := c.Sample == 256 || c.Sample == 700/4; early != tc.early {
				t.Fatalf("sample of %d points decided, early exit %v, want %v (%+v)", c.Sample, early, tc.early, c)
			}
			if c.Sample < 175 || c.SampleEvals <= 0 || c.Evals < c.SampleEvals/2 || c.TreeCost <= 0 || c.BruteCost <= 0 {
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

// TestAutoKeepsWholeSample checks that where Choose's sample was the whole
// data and it chose a tree, BuildIndex returns that tree: the same tree
// Build makes, byte for byte, with no query evaluations counted.
func TestAutoKeepsWholeSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{700, 3000} { // within the first sample; within the refinement's
		data := make([]float64, n*2)
		for i := 0; i < len(data); i += 2 {
			a := rng.Float64() * 20
			data[i], data[i+1] = a, math.Sin(a)
		}
		opts := core.Options{Seed: 9, Jobs: 2}
		tr, _, c, err := core.BuildIndex(data, 2, core.Auto, opts)
		if err != nil {
			t.Fatal(err)
		}
		if c.Algorithm != core.CoverTree || tr == nil {
			t.Fatalf("n=%d: chose %+v", n, c)
		}
		want, err := core.Build(data, 2, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tr.Encode(), want.Encode()) {
			t.Errorf("n=%d: auto's tree differs from Build's", n)
		}
		if _, q := tr.DistanceEvals(); q != 0 {
			t.Errorf("n=%d: %d query evaluations counted on a new tree", n, q)
		}
		if err := tr.Check(); err != nil {
			t.Fatal(err)
		}
	}
}
