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

// TestExtrapolate checks the extrapolation of the samples' counts: in
// proportion to the points from one sample; from two, the power law of
// their growth with decay 1 and an exponent that halves with each
// quadrupling with decay 0.5 (fractions of a quadrupling pro rata); and the
// decay of each count measured from three samples, capped at 1.
func TestExtrapolate(t *testing.T) {
	var s samples
	s.add(256, 100, 10)
	if got := s.extrapolate(s.query, 2048, 1); got != 800 {
		t.Errorf("one sample: %v, want 800", got)
	}
	s.add(1024, 200, 40) // query exponent 0.5, build exponent 1
	for _, tc := range []struct {
		n     int
		decay float64
		want  float64
	}{
		{1024, 1, 200},
		{4096, 1, 400},
		{16384, 1, 800},
		{4096, 0.5, 200 * math.Pow(4, 0.25)},
		{16384, 0.5, 200 * math.Pow(4, 0.25+0.125)},
		{8192, 0.5, 200 * math.Pow(4, 0.25+0.125*0.5)},
	} {
		if got := s.extrapolate(s.query, tc.n, tc.decay); math.Abs(got-tc.want) > 1e-9*tc.want {
			t.Errorf("n=%d, decay %v: %v, want %v", tc.n, tc.decay, got, tc.want)
		}
	}
	if got := s.extrapolate(s.build, 4096, 1); math.Abs(got-160) > 1e-9 {
		t.Errorf("build counts: %v, want 160", got)
	}
	if d := s.decay(s.query); d != 1 {
		t.Errorf("two samples: decay %v, want 1", d)
	}
	s.add(4096, 300, 160) // query exponent log4(1.5) after 0.5
	want := math.Log(1.5) / math.Log(4) / 0.5
	if d := s.decay(s.query); math.Abs(d-want) > 1e-12 {
		t.Errorf("three samples: decay %v, want %v", d, want)
	}
	if d := s.decay(s.build); d != 1 {
		t.Errorf("build counts growing as the points: decay %v, want 1", d)
	}
	s.add(16384, 1200, 640) // exponent 1 after log4(1.5): capped
	if d := s.decay(s.query); d != 1 {
		t.Errorf("a growth that quickened: decay %v, want 1", d)
	}
}
