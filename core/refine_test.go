package core

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// shuffledAll lists every row for each of nq queries, in a random order.
func shuffledAll(n, nq int, rng *rand.Rand) Candidates {
	c := Candidates{Offsets: make([]int64, 1, nq+1)}
	for range nq {
		perm := rng.Perm(n)
		for _, r := range perm {
			c.Rows = append(c.Rows, int32(r))
		}
		c.Offsets = append(c.Offsets, int64(len(c.Rows)))
	}
	return c
}

// answerPlus lists, for each query, the rows of its first want answers
// (a KNearestBatch row of width w, as caller indices) plus extra random
// rows.
func answerPlus(f *Flat[float32], idx []int64, w, want, extra int, rng *rand.Rand) Candidates {
	rowOf := map[int32]int32{}
	for r, id := range f.IDs() {
		rowOf[id] = int32(r)
	}
	nq := len(idx) / w
	c := Candidates{Offsets: make([]int64, 1, nq+1)}
	for i := range nq {
		seen := map[int32]bool{}
		var rows []int32
		for _, id := range idx[i*w : i*w+want] {
			seen[rowOf[int32(id)]] = true
			rows = append(rows, rowOf[int32(id)])
		}
		for range extra {
			r := int32(rng.IntN(f.Len()))
			if !seen[r] {
				seen[r] = true
				rows = append(rows, r)
			}
		}
		rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
		c.Rows = append(c.Rows, rows...)
		c.Offsets = append(c.Offsets, int64(len(c.Rows)))
	}
	return c
}

func TestFlatKNearestAmong(t *testing.T) {
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
			// Before any update, the tree's Flat and a Flat of the data agree.
			direct, err := NewFlat(data, dim, m, nil)
			if err != nil {
				t.Fatal(err)
			}
			flat := tr.Flat()
			// (Not under Cosine: Build normalises the points twice, once
			// in Build and once in insert, which can move the last bit.)
			if m.Kind != Cosine && (!slices.Equal(flat.Points(), direct.Points()) || !slices.Equal(flat.IDs(), direct.IDs())) {
				t.Fatalf("%v: the tree's Flat differs from NewFlat of its data", m)
			}
			nq := 37
			qs := make([]float32, nq*dim)
			for i := range qs {
				qs[i] = float32(rng.IntN(5)) + 0.5*float32(rng.IntN(2)) + 0.25
			}
			for _, b := range []Batch[float32]{{Points: qs, Jobs: 2}, {First: 3, Count: nq, Jobs: 2}} {
				q, err := tr.Queries(b)
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range []int{1, 7, n - 1} {
					want, wantIdx := make([]float32, nq*k), make([]int64, nq*k)
					if err := tr.KNearestBatch(b, k, want, wantIdx); err != nil {
						t.Fatal(err)
					}
					for _, c := range []Candidates{
						flat.AllRows(nq),
						shuffledAll(n, nq, rng),
						answerPlus(flat, wantIdx, k, k, 20, rng),
					} {
						got, gotIdx := make([]float32, nq*k), make([]int64, nq*k)
						if err := flat.KNearestAmong(q, k, c, got, gotIdx); err != nil {
							t.Fatalf("%v dim=%d k=%d: %v", m, dim, k, err)
						}
						if !slices.Equal(got, want) || !slices.Equal(gotIdx, wantIdx) {
							t.Fatalf("%v dim=%d k=%d fitted=%v: KNearestAmong differs from KNearestBatch", m, dim, k, b.Points == nil)
						}
					}
					// Too few candidates is an error, not a short answer.
					if k > 1 {
						c := answerPlus(flat, wantIdx, k, k-1, 0, rng)
						if err := flat.KNearestAmong(q, k, c, make([]float32, nq*k), make([]int64, nq*k)); err == nil {
							t.Fatalf("%v k=%d: %d candidates accepted", m, k, k-1)
						}
					}
				}
			}
		}
	}
}

func TestFlatWithinAmong(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, m := range []Metric{{Kind: Euclidean}, {Kind: Manhattan}, {Kind: Cosine}} {
		dim, n, nq := 3, 500, 20
		data := make([]float64, n*dim)
		for i := range data {
			data[i] = float64(rng.IntN(5) + 1)
		}
		tr, err := Build(data, dim, Options{Metric: m, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		// Delete some points: the Flat follows the live ids.
		tr, err = tr.Delete([]int64{1, 2, 250}, UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		flat := tr.Flat()
		qs := make([]float64, nq*dim)
		for i := range qs {
			qs[i] = rng.Float64() * 6
		}
		r := 1.5
		if m.Kind == Cosine {
			r = 0.05
		}
		for _, b := range []Batch[float64]{{Points: qs}, {IDs: []int64{4, 9, 0, 400, 3}}} {
			q, err := tr.Queries(b)
			if err != nil {
				t.Fatal(err)
			}
			nb := len(q.Points) / dim
			want, err := tr.WithinBatch(b, r, true)
			if err != nil {
				t.Fatal(err)
			}
			got, err := flat.WithinAmong(q, r, true, shuffledAll(flat.Len(), nb, rng))
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
	flat, err := NewFlat([]float64{0, 1, 2, 3}, 1, Metric{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := Query[float64]{Points: []float64{0.5, 1.5}}
	out, idx := make([]float64, 2), make([]int64, 2)
	for name, c := range map[string]Candidates{
		"short offsets":   {Offsets: []int64{0, 1}, Rows: []int32{0}},
		"bad end":         {Offsets: []int64{0, 1, 3}, Rows: []int32{0, 1}},
		"decreasing":      {Offsets: []int64{0, 2, 1, 2}, Rows: []int32{0, 1}},
		"row beyond":      {Offsets: []int64{0, 1, 2}, Rows: []int32{0, 9}},
		"negative offset": {Offsets: []int64{-1, 1, 2}, Rows: []int32{0, 1}},
	} {
		if err := flat.KNearestAmong(q, 1, c, out, idx); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := flat.WithinAmong(q, 1, true, c); err == nil {
			t.Errorf("%s: accepted by WithinAmong", name)
		}
	}
	if err := flat.KNearestAmong(q, 5, flat.AllRows(2), make([]float64, 10), make([]int64, 10)); err == nil {
		t.Error("k beyond the points accepted")
	}
	if _, err := NewFlat([]float64{0, 1}, 1, Metric{}, []int32{0}); err == nil {
		t.Error("a short id list accepted")
	}
	if _, err := NewFlat([]float64{0, 1, 2}, 2, Metric{}, nil); err == nil {
		t.Error("ragged points accepted")
	}
}

func TestFlatPrepare(t *testing.T) {
	data := []float64{3, 4, 0, 2, 1, 0}
	tr, err := Build(data, 2, Options{Metric: Metric{Kind: Cosine}})
	if err != nil {
		t.Fatal(err)
	}
	flat := tr.Flat()
	pts, err := flat.Prepare([]float64{0, 5})
	if err != nil || pts[0] != 0 || pts[1] != 1 {
		t.Fatalf("cosine query not normalised: %v %v", pts, err)
	}
	q, err := tr.Queries(Batch[float64]{First: 0, Count: 3})
	if err != nil || !slices.Equal(q.Exclude, []int32{0, 1, 2}) || q.Points[0] != 0.6 || q.Points[1] != 0.8 {
		t.Fatalf("fitted queries: %+v %v", q, err)
	}
	if _, err := flat.Prepare([]float64{0, 0}); err == nil {
		t.Fatal("zero cosine query accepted")
	}
	if _, err := flat.Prepare([]float64{1, 2, 3}); err == nil {
		t.Fatal("ragged query accepted")
	}
	if r := flat.KernelRadius(0.5); r != 1 {
		t.Fatalf("KernelRadius(0.5) = %v under cosine, want 1", r)
	}
	// NewFlat copies its input: changing it later changes nothing.
	raw := []float64{1, 2, 3}
	f, err := NewFlat(raw, 1, Metric{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw[0] = 100
	if f.Points()[0] != 1 {
		t.Fatal("NewFlat kept the caller's slice")
	}
}
