package core

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// pair is a (distance, column) answer of the reference selection.
type pair struct {
	d   float64
	col int64
}

// referenceRows returns each row's candidates sorted by (distance,
// column), from a dense matrix with NaN marking a missing entry, leaving
// out column self+i of row i when self >= 0.
func referenceRows(m [][]float64, self int) [][]pair {
	out := make([][]pair, len(m))
	for i, row := range m {
		for j, d := range row {
			if d == d && (self < 0 || j != self+i) {
				out[i] = append(out[i], pair{d, int64(j)})
			}
		}
		slices.SortStableFunc(out[i], func(a, b pair) int {
			switch {
			case a.d < b.d:
				return -1
			case a.d > b.d:
				return 1
			}
			return int(a.col - b.col)
		})
	}
	return out
}

// distanceMatrix returns an n x cols matrix of distances drawn from a few
// values (many ties), with about a share missing (NaN) entries.
func distanceMatrix(rng *rand.Rand, n, cols int, missing float64) [][]float64 {
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, cols)
		for j := range m[i] {
			m[i][j] = float64(rng.IntN(6)) / 2
			if rng.Float64() < missing {
				m[i][j] = nan()
			}
		}
	}
	return m
}

func nan() float64 { z := 0.0; return z / z }

// rowsOf packs a matrix as DistanceRows: dense (NaN not allowed), or CSR
// with the columns of each row shuffled.
func rowsOf[T Float](rng *rand.Rand, m [][]float64, cols int, sparse bool, self int) DistanceRows[T] {
	r := DistanceRows[T]{Cols: cols, Self: self}
	if !sparse {
		r.Dense = []T{}
		for _, row := range m {
			for _, d := range row {
				r.Dense = append(r.Dense, T(d))
			}
		}
		return r
	}
	r.Indptr = []int64{0}
	r.Indices, r.Data = []int64{}, []T{}
	for _, row := range m {
		perm := rng.Perm(len(row))
		for _, j := range perm {
			if row[j] == row[j] {
				r.Indices = append(r.Indices, int64(j))
				r.Data = append(r.Data, T(row[j]))
			}
		}
		r.Indptr = append(r.Indptr, int64(len(r.Indices)))
	}
	return r
}

func TestPrecomputedKNearest(t *testing.T) {
	cases := []struct {
		name            string
		n, cols, k      int
		sparse          bool
		missing         float64
		self, jobs      int
		wantShort, want int // wantShort: expected Fewest, -1 if none
	}{
		{name: "dense", n: 50, cols: 40, k: 7, self: -1, jobs: 1, wantShort: -1},
		{name: "dense all columns", n: 9, cols: 9, k: 9, self: -1, jobs: 2, wantShort: -1},
		{name: "dense self", n: 200, cols: 200, k: 5, self: 0, jobs: 4, wantShort: -1},
		{name: "dense self k=n-1", n: 30, cols: 30, k: 29, self: 0, jobs: 2, wantShort: -1},
		{name: "dense self too many", n: 30, cols: 30, k: 30, self: 0, jobs: 2, wantShort: 29},
		{name: "sparse", n: 300, cols: 120, k: 3, sparse: true, missing: 0.5, self: -1, jobs: 3, wantShort: -1},
		{name: "sparse self", n: 120, cols: 120, k: 4, sparse: true, missing: 0.6, self: 0, jobs: 2, wantShort: -1},
		{name: "sparse short", n: 100, cols: 8, k: 6, sparse: true, missing: 0.5, self: -1, jobs: 2, wantShort: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.n)))
			m := distanceMatrix(rng, tc.n, tc.cols, tc.missing)
			ref := referenceRows(m, tc.self)
			fewest := tc.k
			for _, r := range ref {
				fewest = min(fewest, len(r))
			}
			for _, f32 := range []bool{false, true} {
				var err error
				dist := make([]float64, tc.n*tc.k)
				ind := make([]int64, tc.n*tc.k)
				if f32 {
					d32 := make([]float32, tc.n*tc.k)
					err = PrecomputedKNearest(rowsOf[float32](rng, m, tc.cols, tc.sparse, tc.self), tc.k, tc.jobs, nil, d32, ind)
					for i, d := range d32 {
						dist[i] = float64(d)
					}
				} else {
					err = PrecomputedKNearest(rowsOf[float64](rng, m, tc.cols, tc.sparse, tc.self), tc.k, tc.jobs, nil, dist, ind)
				}
				if tc.wantShort >= 0 || fewest < tc.k {
					var short *ShortRowError
					if !errors.As(err, &short) {
						t.Fatalf("float32=%v: error %v, want a ShortRowError", f32, err)
					}
					if short.Fewest != fewest || short.K != tc.k {
						t.Fatalf("float32=%v: %+v, want fewest %d", f32, short, fewest)
					}
					continue
				}
				if err != nil {
					t.Fatalf("float32=%v: %v", f32, err)
				}
				for i, r := range ref {
					for j := range tc.k {
						got := pair{dist[i*tc.k+j], ind[i*tc.k+j]}
						if got != r[j] {
							t.Fatalf("float32=%v: row %d rank %d: got %v, want %v", f32, i, j, got, r[j])
						}
					}
				}
			}
		})
	}
}

func TestPrecomputedRadius(t *testing.T) {
	cases := []struct {
		name       string
		n, cols    int
		sparse     bool
		missing    float64
		self, jobs int
		perRow     bool
	}{
		{name: "dense", n: 70, cols: 50, self: -1, jobs: 1},
		{name: "dense self per row", n: 150, cols: 150, self: 0, jobs: 3, perRow: true},
		{name: "sparse", n: 200, cols: 90, sparse: true, missing: 0.4, self: -1, jobs: 2},
		{name: "sparse self per row", n: 90, cols: 90, sparse: true, missing: 0.7, self: 0, jobs: 4, perRow: true},
		{name: "empty", n: 0, cols: 10, self: -1, jobs: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, uint64(tc.n)))
			m := distanceMatrix(rng, tc.n, tc.cols, tc.missing)
			radii := []float64{1}
			if tc.perRow {
				radii = make([]float64, tc.n)
				for i := range radii {
					radii[i] = float64(rng.IntN(6)) / 2
				}
			}
			rows := rowsOf[float64](rng, m, tc.cols, tc.sparse, tc.self)
			counts := make([]int64, tc.n)
			if err := PrecomputedRadiusCount(rows, radii, tc.jobs, nil, counts); err != nil {
				t.Fatal(err)
			}
			ref := referenceRows(m, tc.self)
			var want [][]pair
			var total int64
			for i, r := range ref {
				var in []pair
				for _, p := range r {
					if p.d <= radiusOf(radii, i) {
						in = append(in, p)
					}
				}
				if counts[i] != int64(len(in)) {
					t.Fatalf("row %d: count %d, want %d", i, counts[i], len(in))
				}
				want = append(want, in)
				total += int64(len(in))
			}
			for _, sorted := range []bool{false, true} {
				dist := make([]float64, total)
				ind := make([]int64, total)
				if err := PrecomputedRadius(rows, radii, sorted, tc.jobs, nil, counts, dist, ind); err != nil {
					t.Fatal(err)
				}
				at := 0
				for i, w := range want {
					if !sorted {
						w = slices.Clone(w)
						slices.SortFunc(w, func(a, b pair) int { return int(a.col - b.col) })
					}
					for j, p := range w {
						if got := (pair{dist[at+j], ind[at+j]}); got != p {
							t.Fatalf("sorted=%v row %d answer %d: got %v, want %v", sorted, i, j, got, p)
						}
					}
					at += len(w)
				}
			}
		})
	}
}

func TestPrecomputedBadRows(t *testing.T) {
	one := []float64{1}
	cases := []struct {
		name string
		rows DistanceRows[float64]
	}{
		{"negative", DistanceRows[float64]{Cols: 2, Dense: []float64{0, -1, 1, 0}, Self: -1}},
		{"NaN", DistanceRows[float64]{Cols: 2, Dense: []float64{0, nan(), 1, 0}, Self: -1}},
		{"ragged", DistanceRows[float64]{Cols: 3, Dense: []float64{0, 1, 1, 0}, Self: -1}},
		{"column out of range", DistanceRows[float64]{Cols: 2, Indptr: []int64{0, 1}, Indices: []int64{2}, Data: one, Self: -1}},
		{"negative column", DistanceRows[float64]{Cols: 2, Indptr: []int64{0, 1}, Indices: []int64{-1}, Data: one, Self: -1}},
		{"bad pointers", DistanceRows[float64]{Cols: 2, Indptr: []int64{0, 2}, Indices: []int64{0}, Data: one, Self: -1}},
		{"decreasing pointers", DistanceRows[float64]{Cols: 2, Indptr: []int64{0, 1, 0, 1}, Indices: []int64{0}, Data: one, Self: -1}},
		{"no pointers", DistanceRows[float64]{Cols: 2, Indptr: []int64{}, Self: -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := max(tc.rows.Len(), 0)
			if err := PrecomputedKNearest(tc.rows, 1, 2, nil, make([]float64, n), make([]int64, n)); err == nil {
				t.Error("PrecomputedKNearest: no error")
			}
			if err := PrecomputedRadiusCount(tc.rows, one, 2, nil, make([]int64, n)); err == nil {
				t.Error("PrecomputedRadiusCount: no error")
			}
		})
	}
	good := DistanceRows[float64]{Cols: 2, Dense: []float64{0, 1, 1, 0}, Self: -1}
	if err := PrecomputedKNearest(good, 1, 1, nil, make([]float64, 1), make([]int64, 2)); err == nil {
		t.Error("short output: no error")
	}
	if err := PrecomputedRadiusCount(good, []float64{1, 1, 1}, 1, nil, make([]int64, 2)); err == nil {
		t.Error("3 radii for 2 rows: no error")
	}
	if err := PrecomputedRadius(good, one, true, 1, nil, []int64{1, 1}, make([]float64, 2), make([]int64, 2)); err == nil {
		t.Error("wrong counts: no error")
	}
	stop := int64(1)
	if err := PrecomputedKNearest(good, 1, 1, &Monitor{Stop: &stop}, make([]float64, 2), make([]int64, 2)); !errors.Is(err, ErrStopped) {
		t.Errorf("stopped: %v, want ErrStopped", err)
	}
}
