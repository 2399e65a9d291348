package core

import (
	"math"
	"testing"
)

// TestCosineTinyAndHugeVectors checks that cosine normalises vectors whose
// squared norm underflows to 0 or overflows, instead of calling them zero
// vectors: [1e-170, 0] is a direction like any other.
func TestCosineTinyAndHugeVectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []float64
	}{
		{"tiny", []float64{1e-170, 0, 0, 1e-170, 1e-170, 1e-170}},
		{"subnormal", []float64{5e-324, 0, 0, 1, 1, 1}},
		{"huge", []float64{1e200, 0, 0, 1e200, 1e200, 1e200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Build(tc.data, 2, Options{Metric: Metric{Kind: Cosine}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := tr.KNearest([]float64{1e-170, 0}, 3)
			if err != nil {
				t.Fatal(err)
			}
			// From direction (1, 0): itself at 0, (1, 1) at 1 - 1/sqrt2,
			// (0, 1) at 1.
			want := []Neighbor{{0, 0}, {2, 1 - 1/math.Sqrt2}, {1, 1}}
			for i, w := range want {
				if got[i].Index != w.Index || math.Abs(got[i].Dist-w.Dist) > 1e-12 {
					t.Fatalf("neighbour %d: got %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
	if _, err := Build([]float64{0, 0, 1, 1}, 2, Options{Metric: Metric{Kind: Cosine}}); err == nil {
		t.Fatal("a true zero vector was accepted")
	}
}
