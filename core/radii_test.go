package core

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestWithinBatchRadii checks per-query radii against one batch per
// radius, for listing and counting, on query points and the fitted points
// after deletions, and that unsorted answers come by ascending caller
// index with the sorted answers' pairs.
func TestWithinBatchRadii(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, c := range countCases() {
		data := countData(c, 500, rng)
		queries := countData(c, 60, rng)
		tr, err := Build(data, c.dim, Options{Metric: c.metric, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		if tr, err = tr.Delete([]int64{7, 8, 9, 250}, UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		choices := []float64{0, 0.5, 1, 2, 3}
		if c.metric.Kind == Cosine {
			choices = []float64{0, 0.01, 0.1, 0.5, 2}
		}
		live := tr.LiveIDs(nil)
		for _, b := range []Batch[float64]{{Points: queries, Jobs: 2}, {IDs: live[:80], Jobs: 2}} {
			nq, _ := b.count(tr)
			radii := make([]float64, nq)
			for i := range radii {
				radii[i] = choices[rng.IntN(len(choices))]
			}
			rb := b
			rb.Radii = radii
			unsorted, err := tr.WithinBatch(rb, 0, false)
			if err != nil {
				t.Fatal(err)
			}
			sorted, err := tr.WithinBatch(rb, 0, true)
			if err != nil {
				t.Fatal(err)
			}
			counts := make([]int64, nq)
			if err := tr.CountWithinBatch(rb, 0, counts); err != nil {
				t.Fatal(err)
			}
			ud, ui := fillAll(unsorted)
			sd, si := fillAll(sorted)
			o := 0
			for i := range nq {
				one := b
				if b.Points != nil {
					one.Points = b.Points[i*c.dim : (i+1)*c.dim]
				} else {
					one.IDs = b.IDs[i : i+1]
				}
				want, err := tr.WithinBatch(one, radii[i], true)
				if err != nil {
					t.Fatal(err)
				}
				wd, wi := fillAll(want)
				m := len(wi)
				if unsorted.Counts()[i] != int64(m) || sorted.Counts()[i] != int64(m) || counts[i] != int64(m) {
					t.Fatalf("%s query %d r=%v: %d, %d and %d answers, one query alone %d", c.name, i, radii[i], unsorted.Counts()[i], sorted.Counts()[i], counts[i], m)
				}
				if !slices.Equal(sd[o:o+m], wd) || !slices.Equal(si[o:o+m], wi) {
					t.Fatalf("%s query %d: sorted answers differ from the query alone", c.name, i)
				}
				if !slices.IsSorted(ui[o : o+m]) {
					t.Fatalf("%s query %d: unsorted answers not by ascending index: %v", c.name, i, ui[o:o+m])
				}
				for j := o; j < o+m; j++ {
					k := slices.Index(wi, ui[j])
					if k < 0 || wd[k] != ud[j] {
						t.Fatalf("%s query %d: unsorted answer (%d, %v) not among the sorted ones", c.name, i, ui[j], ud[j])
					}
				}
				o += m
			}
		}
	}
}

func fillAll[T Float](r *RadiusResult[T]) ([]T, []int64) {
	d := make([]T, r.Total())
	i := make([]int64, r.Total())
	if err := r.Fill(d, i); err != nil {
		panic(err)
	}
	return d, i
}

// TestWithinBatchRadiiErrors checks the refusals of bad per-query radii.
func TestWithinBatchRadiiErrors(t *testing.T) {
	tr, err := Build([]float64{0, 1, 2, 3}, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := []float64{0.5, 1.5}
	for _, radii := range [][]float64{{1}, {1, 2, 3}, {1, -1}, {math.NaN(), 1}} {
		if _, err := tr.WithinBatch(Batch[float64]{Points: q, Radii: radii}, 0, false); err == nil {
			t.Errorf("radii %v: no error", radii)
		}
		if err := tr.CountWithinBatch(Batch[float64]{Points: q, Radii: radii}, 0, make([]int64, 2)); err == nil {
			t.Errorf("radii %v: counted", radii)
		}
	}
}
