package core

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestBruteForceMetrics checks that a BruteForce answers as a Tree does,
// bit for bit, under the metrics of extkernels.go, a custom metric and the
// screened Euclidean and cosine metrics: k nearest, radius queries with
// per-query radii (sorted and by ascending index), their counts; and that
// its encoding keeps a metric's parameters, and one of a custom metric
// decodes with DecodeBruteForceWith and that metric only.
func TestBruteForceMetrics(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	cases := extCases(rng)
	cases = append(cases,
		extCase{"euclidean-grid", Metric{}, 5, true}, // screened, ties
		extCase{"cosine-random", Metric{Kind: Cosine}, 5, false},
		extCase{"custom-l1-grid", NewCustom[float64]("l1", &l1{}), 3, true})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := extData(c, 400, rng)
			queries := extData(c, 30, rng)
			opts := Options{Metric: c.metric, Jobs: 2}
			tr, err := Build(data, c.dim, opts)
			if err != nil {
				t.Fatal(err)
			}
			bf, err := BuildBruteForce(data, c.dim, opts)
			if err != nil {
				t.Fatal(err)
			}
			del := []int64{3, 50, 51, 399}
			if tr, err = tr.Delete(del, UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if bf, err = bf.Delete(del, UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			sameAnswers(t, tr, bf, queries, rng)
			enc := bf.Encode()
			decode := DecodeBruteForce[float64]
			if c.metric.Kind == Custom {
				if _, err := DecodeBruteForce[float64](enc); err == nil || !strings.Contains(err.Error(), "DecodeBruteForceWith") {
					t.Fatalf("a custom metric's index decoded without its metric: err %v", err)
				}
				if _, err := DecodeBruteForceWith[float64](enc, NewCustom[float32]("l1", DistancerFunc[float32](func(a, b []float32) float64 { return 0 }))); err == nil || !strings.Contains(err.Error(), "float64") {
					t.Fatalf("an index decoded with a metric of the other dtype: err %v", err)
				}
				decode = func(b []byte) (*BruteForce[float64], error) { return DecodeBruteForceWith[float64](b, c.metric) }
			} else if _, err := DecodeBruteForceWith[float64](enc, NewCustom[float64]("l1", &l1{})); err == nil || !strings.Contains(err.Error(), "not a custom one") {
				t.Fatalf("an index of metric %v decoded with a custom one: err %v", c.metric, err)
			}
			back, err := decode(enc)
			if err != nil {
				t.Fatal(err)
			}
			if back.Metric() != bf.Metric() {
				t.Fatalf("decoded metric %v, want %v", back.Metric(), bf.Metric())
			}
			sameAnswers(t, tr, back, queries, rng)
		})
	}
}

// sameAnswers compares a tree's answers with a brute-force index's on the
// same points.
func sameAnswers(t *testing.T, tr *Tree[float64], bf *BruteForce[float64], queries []float64, rng *rand.Rand) {
	t.Helper()
	live := tr.LiveIDs(nil)
	for _, b := range []Batch[float64]{{Points: queries, Jobs: 2}, {IDs: live[:40], Jobs: 2}} {
		nq, _ := b.count(tr)
		const k = 6
		d1, i1 := make([]float64, nq*k), make([]int64, nq*k)
		d2, i2 := make([]float64, nq*k), make([]int64, nq*k)
		if err := tr.KNearestBatch(b, k, d1, i1); err != nil {
			t.Fatal(err)
		}
		if err := bf.KNearestBatch(b, k, d2, i2); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d1, d2) || !slices.Equal(i1, i2) {
			t.Fatalf("k=%d: the brute-force index answers differently from the tree", k)
		}
		// Per-query radii around the distances found: ties at the radius.
		rb := b
		rb.Radii = make([]float64, nq)
		for i := range rb.Radii {
			rb.Radii[i] = d1[i*k+rng.IntN(k)]
		}
		for _, sorted := range []bool{true, false} {
			r1, err := tr.WithinBatch(rb, 0, sorted)
			if err != nil {
				t.Fatal(err)
			}
			r2, err := bf.WithinBatch(rb, 0, sorted)
			if err != nil {
				t.Fatal(err)
			}
			a1, b1 := fillAll(r1)
			a2, b2 := fillAll(r2)
			if !slices.Equal(r1.Counts(), r2.Counts()) || !slices.Equal(a1, a2) || !slices.Equal(b1, b2) {
				t.Fatalf("sorted=%v: radius answers differ", sorted)
			}
			if r1.Total() == 0 {
				t.Fatal("no radius answers: the test checks nothing")
			}
		}
		c2 := make([]int64, nq)
		if err := bf.CountWithinBatch(rb, 0, c2); err != nil {
			t.Fatal(err)
		}
		r1, _ := tr.WithinBatch(rb, 0, false)
		if !slices.Equal(c2, r1.Counts()) {
			t.Fatal("brute-force counts differ from the tree's answers")
		}
	}
}
