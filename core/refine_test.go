package core

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// allCandidates lists every live id for each of nq queries, shuffled (for
// fitted queries, the query itself included).
func allCandidates(ids []int32, nq int, rng *rand.Rand) Candidates {
	c := Candidates{Offsets: make([]int64, 1, nq+1)}
	for range nq {
		perm := slices.Clone(ids)
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		c.IDs = append(c.IDs, perm...)
		c.Offsets = append(c.Offsets, int64(len(c.IDs)))
	}
	return c
}

// nearestCandidates lists, for each query, its true answer (the first
// want[i] ids of a KNearestBatch row of width w) plus extra random ids.
func nearestCandidates(idx []int64, w int, want int, all []int32, extra int, rng *rand.Rand) Candidates {
	nq := len(idx) / w
	c := Candidates{Offsets: make([]int64, 1, nq+1)}
	for i := range nq {
		seen := map[int32]bool{}
		var row []int32
		for _, id := range idx[i*w : i*w+want] {
			seen[int32(id)] = true
			row = append(row, int32(id))
		}
		for range extra {
			id := all[rng.IntN(len(all))]
			if !seen[id] {
				seen[id] = true
				row = append(row, id)
			}
		}
		rng.Shuffle(len(row), func(a, b int) { row[a], row[b] = row[b], row[a] })
		c.IDs = append(c.IDs, row...)
		c.Offsets = append(c.Offsets, int64(len(c.IDs)))
	}
	return c
}

func TestKNearestAmong(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, m := range []Metric{{Kind: Euclidean}, {Kind: Manhattan}, {Kind: Cosine}, {Kind: Chebyshev}} {
		for _, dim := range []int{2, 5} {
			n := 400
			data := make([]float32, n*dim)
			for i := range data {
				data[i] = float32(rng.IntN(4) + 1) // a grid: duplicates and ties
			}
			tr, err := Build(data, dim, Options{Metric: m, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			ids, _ := tr.Rows()
			nq := 37
			q := make([]float32, nq*dim)
			for i := range q {
				q[i] = float32(rng.IntN(5)) + 0.5*float32(rng.IntN(2)) + 0.25
			}
			for _, b := range []Batch[float32]{{Points: q, Jobs: 2}, {First: 3, Count: nq, Jobs: 2}} {
				for _, k := range []int{1, 7, n - 1} {
					want := make([]float32, nq*k)
					wantIdx := make([]int64, nq*k)
					if err := tr.KNearestBatch(b, k, want, wantIdx); err != nil {
						t.Fatal(err)
					}
					for _, c := range []Candidates{
						allCandidates(ids, nq, rng),
						nearestCandidates(wantIdx, k, k, ids, 20, rng),
					} {
						got := make([]float32, nq*k)
						gotIdx := make([]int64, nq*k)
						if err := tr.KNearestAmong(b, k, c, got, gotIdx); err != nil {
							t.Fatalf("%v dim=%d k=%d: %v", m, dim, k, err)
						}
						if !slices.Equal(got, want) || !slices.Equal(gotIdx, wantIdx) {
							t.Fatalf("%v dim=%d k=%d fitted=%v: KNearestAmong differs from KNearestBatch", m, dim, k, b.Points == nil)
						}
					}
					// Too few candidates is an error, not a short answer.
					if k > 1 {
						c := nearestCandidates(wantIdx, k, k-1, ids, 0, rng)
						if err := tr.KNearestAmong(b, k, c, make([]float32, nq*k), make([]int64, nq*k)); err == nil {
							t.Fatalf("%v k=%d: %d candidates accepted", m, k, k-1)
						}
					}
				}
			}
		}
	}
}

func TestWithinAmong(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, m := range []Metric{{Kind: Euclidean}, {Kind: Manhattan}, {Kind: Cosine}} {
		dim := 3
		n := 500
		data := make([]float64, n*dim)
		for i := range data {
			data[i] = float64(rng.IntN(5) + 1)
		}
		tr, err := Build(data, dim, Options{Metric: m, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		ids, _ := tr.Rows()
		nq := 20
		q := make([]float64, nq*dim)
		for i := range q {
			q[i] = rng.Float64() * 6
		}
		r := 1.5
		if m.Kind == Cosine {
			r = 0.05
		}
		for _, b := range []Batch[float64]{{Points: q}, {IDs: []int64{4, 9, 0, 400, 3}}} {
			nb := nq
			if b.Points == nil {
				nb = len(b.IDs)
			}
			want, err := tr.WithinBatch(b, r, true)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tr.WithinAmong(b, r, true, allCandidates(ids, nb, rng))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Counts(), want.Counts()) {
				t.Fatalf("%v: counts differ: %v, want %v", m, got.Counts(), want.Counts())
			}
			gd, gi := make([]float64, got.Total()), make([]int64, got.Total())
			wd, wi := make([]float64, want.Total()), make([]int64, want.Total())
			got.Fill(gd, gi)
			want.Fill(wd, wi)
			if !slices.Equal(gd, wd) || !slices.Equal(gi, wi) {
				t.Fatalf("%v: WithinAmong differs from WithinBatch", m)
			}
		}
	}
}

func TestCandidatesChecked(t *testing.T) {
	data := []float64{0, 1, 2, 3}
	tr, err := Build(data, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := Batch[float64]{Points: []float64{0.5, 1.5}}
	out, idx := make([]float64, 2), make([]int64, 2)
	for name, c := range map[string]Candidates{
		"short offsets":   {Offsets: []int64{0, 1}, IDs: []int32{0}},
		"bad end":         {Offsets: []int64{0, 1, 3}, IDs: []int32{0, 1}},
		"decreasing":      {Offsets: []int64{0, 2, 1, 2}, IDs: []int32{0, 1}},
		"unknown id":      {Offsets: []int64{0, 1, 2}, IDs: []int32{0, 9}},
		"negative offset": {Offsets: []int64{-1, 1, 2}, IDs: []int32{0, 1}},
	} {
		if err := tr.KNearestAmong(b, 1, c, out, idx); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := tr.WithinAmong(b, 1, true, c); err == nil {
			t.Errorf("%s: accepted by WithinAmong", name)
		}
	}
}

func TestPreparedQueries(t *testing.T) {
	data := []float64{3, 4, 0, 2, 1, 0}
	tr, err := Build(data, 2, Options{Metric: Metric{Kind: Cosine}})
	if err != nil {
		t.Fatal(err)
	}
	pts, ex, err := tr.PreparedQueries(Batch[float64]{Points: []float64{0, 5}})
	if err != nil || ex != nil || pts[0] != 0 || pts[1] != 1 {
		t.Fatalf("cosine query not normalised: %v %v %v", pts, ex, err)
	}
	pts, ex, err = tr.PreparedQueries(Batch[float64]{First: 0, Count: 3})
	if err != nil || !slices.Equal(ex, []int32{0, 1, 2}) || pts[0] != 0.6 || pts[1] != 0.8 {
		t.Fatalf("fitted queries: %v %v %v", pts, ex, err)
	}
	if _, _, err := tr.PreparedQueries(Batch[float64]{Points: []float64{0, 0}}); err == nil {
		t.Fatal("zero cosine query accepted")
	}
	if r := tr.SearchRadius(0.5); r != 1 {
		t.Fatalf("SearchRadius(0.5) = %v under cosine, want 1", r)
	}
}
