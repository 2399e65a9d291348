package core

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
)

// l1 is the Manhattan distance written as a caller would, counting its
// calls (concurrently).
type l1 struct{ calls atomic.Int64 }

func (d *l1) Distance(a, b []float64) float64 {
	d.calls.Add(1)
	var s float64
	for i := range a {
		s += math.Abs(a[i] - b[i])
	}
	return s
}

// TestCustomMetric checks a tree of a caller's metric against the same
// distance built in (Manhattan), bit for bit, on grid data full of ties
// and duplicates: k-NN, radius and joins; and its encoding's round trip
// through DecodeWith.
func TestCustomMetric(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	c := countCase{dim: 3, grid: true}
	data, queries := countData(c, 500, rng), countData(c, 40, rng)
	d := &l1{}
	m := NewCustom[float64]("my l1", d)
	tr, err := Build(data, 3, Options{Metric: m, Jobs: 2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Check(); err != nil {
		t.Fatal(err)
	}
	if d.calls.Load() == 0 || tr.Metric().String() != "my l1" {
		t.Fatalf("the custom metric was not used (%d calls, %v)", d.calls.Load(), tr.Metric())
	}
	ref, err := Build(data, 3, Options{Metric: Metric{Kind: Manhattan}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := DecodeWith[float64](tr.Encode(), m)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []*Tree[float64]{tr, dec} {
		const k = 6
		got, want := make([]float64, 40*k), make([]float64, 40*k)
		gi, wi := make([]int64, 40*k), make([]int64, 40*k)
		if err := x.KNearestBatch(Batch[float64]{Points: queries, Jobs: 2}, k, got, gi); err != nil {
			t.Fatal(err)
		}
		if err := ref.KNearestBatch(Batch[float64]{Points: queries}, k, want, wi); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != want[i] || gi[i] != wi[i] {
				t.Fatalf("k-NN slot %d: (%v, %d), manhattan (%v, %d)", i, got[i], gi[i], want[i], wi[i])
			}
		}
		a, _ := x.CountPairs(x, []float64{0, 1, 2, 3}, JoinOptions{Jobs: 2})
		b, _ := ref.CountPairs(ref, []float64{0, 1, 2, 3}, JoinOptions{})
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("CountPairs: %v, manhattan %v", a, b)
			}
		}
	}
	if _, err := Decode[float64](tr.Encode()); err == nil || !strings.Contains(err.Error(), "DecodeWith") {
		t.Fatalf("Decode of a custom tree: %v", err)
	}
	if _, err := DecodeWith[float64](ref.Encode(), m); err == nil {
		t.Fatal("DecodeWith of a manhattan tree succeeded")
	}
}

// TestCustomMetricErrors checks the refusals: a metric of the other dtype,
// none at all, and values that are not distances.
func TestCustomMetricErrors(t *testing.T) {
	data := []float64{0, 1, 2, 3, 4, 5}
	if _, err := Build(toF32(data), 1, Options{Metric: NewCustom[float64]("f64", &l1{})}); err == nil || !strings.Contains(err.Error(), "does not take float32") {
		t.Errorf("float32 points, float64 metric: %v", err)
	}
	if _, err := Build(data, 1, Options{Metric: Metric{Kind: Custom}}); err == nil || !strings.Contains(err.Error(), "NewCustom") {
		t.Errorf("no Distancer: %v", err)
	}
	for _, v := range []float64{math.NaN(), -1, math.Inf(1)} {
		bad := NewCustom[float64]("bad", DistancerFunc[float64](func(a, b []float64) float64 {
			if a[0] == 3 || b[0] == 3 {
				return v
			}
			return math.Abs(a[0] - b[0])
		}))
		_, err := Build(data, 1, Options{Metric: bad, Jobs: 2})
		if err == nil || !strings.Contains(err.Error(), "not a finite distance") {
			t.Errorf("a metric returning %v: %v", v, err)
		}
		ok, err := Build(data[:3], 1, Options{Metric: bad})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ok.KNearest([]float64{3}, 1)
		if err == nil || errors.Is(err, ErrStopped) || !strings.Contains(err.Error(), "not a finite distance") {
			t.Errorf("a query meeting %v: %v", v, err)
		}
	}
}
