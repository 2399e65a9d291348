package core

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestErrorBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	bounds := []ErrorBound{{}, {Rel: 1e-7}, {Rel: 3e-5, Abs: 1e-19}, {Rel: 0.1, Abs: 2}, {Abs: 1e-3}}
	for _, b := range bounds {
		if !b.Valid() {
			t.Fatalf("%+v: not valid", b)
		}
		for range 2000 {
			// d: a core distance; e: any engine distance within the bound.
			d := math.Exp(rng.Float64()*80 - 40)
			if rng.IntN(10) == 0 {
				d = 0
			}
			w := b.Rel*d + b.Abs
			e := max(d+(2*rng.Float64()-1)*w, 0)
			if rng.IntN(4) == 0 {
				e = max(d+w*float64(1-2*rng.IntN(2)), 0) // at the edge
			}
			if lo, hi := b.Lower(e), b.Upper(e); !(lo <= d && d <= hi) {
				t.Fatalf("%+v: d=%v e=%v: [Lower, Upper] = [%v, %v] misses d", b, d, e, lo, hi)
			}
			if wr := b.Widen(d); e > wr {
				t.Fatalf("%+v: d=%v e=%v: Widen(d) = %v < e", b, d, e, wr)
			}
			// Beyond(e, r) must never drop a point within r.
			for _, r := range []float64{d, d * (1 + 1e-12), math.Nextafter(d, math.Inf(1))} {
				if b.Beyond(e, r) {
					t.Fatalf("%+v: d=%v e=%v: Beyond(e, %v) drops a point within the radius", b, d, e, r)
				}
			}
		}
	}
	// Exact bounds are as tight as they look.
	var z ErrorBound
	if !z.Beyond(2, 1.5) || z.Beyond(1.5, 1.5) {
		t.Fatal("zero bound: Beyond is not the plain comparison")
	}
	if !math.IsInf(z.Upper(math.Inf(1)), 1) || !math.IsInf(z.Upper(math.NaN()), 1) {
		t.Fatal("Upper of an overflowed engine distance must be +Inf")
	}
	if (ErrorBound{Rel: 0.5}).Valid() || (ErrorBound{Abs: math.Inf(1)}).Valid() || (ErrorBound{Rel: -1}).Valid() {
		t.Fatal("invalid bounds reported valid")
	}
}

func engineData[T Float](rng *rand.Rand, n, dim int) []T {
	pts := make([]T, n*dim)
	for i := range pts {
		pts[i] = T(rng.NormFloat64() * 10)
		if i >= dim && rng.IntN(5) == 0 {
			pts[i] = pts[i-dim] // duplicated coordinates
		}
	}
	return pts
}

func testEngineSet[T Float](t *testing.T, e Engine, m Metric, checkBound bool) {
	rng := rand.New(rand.NewPCG(7, uint64(m.Kind)))
	for _, dim := range []int{1, 2, 3, 16} {
		n := 300
		pts := engineData[T](rng, n, dim)
		pts, err := prepare(m, pts, dim)
		if err != nil {
			t.Fatal(err)
		}
		set, err := LoadEngine(e, pts, dim, m)
		if err != nil {
			t.Fatal(err)
		}
		if set.Len() != n || set.Dim() != dim {
			t.Fatalf("set of %d x %d reports %d x %d", n, dim, set.Len(), set.Dim())
		}
		b := set.Bound()
		if !b.Valid() {
			t.Fatalf("%s: invalid bound %+v", e.Name(), b)
		}
		kern := kernelFor[T](m)
		rows := []int32{5, 0, 299, 5, 17}
		centres := append(append([]T(nil), pts[3*dim:4*dim]...), pts[40*dim:41*dim]...)
		for _, rs := range [][]int32{rows, nil} {
			nr := len(rs)
			if rs == nil {
				nr = n
			}
			out := make([]float64, nr*2)
			if err := set.Distances(rs, centres, out); err != nil {
				t.Fatal(err)
			}
			for j := range 2 {
				for i := range nr {
					r := i
					if rs != nil {
						r = int(rs[i])
					}
					d := kern(pts[r*dim:(r+1)*dim], centres[j*dim:(j+1)*dim])
					got := out[j*nr+i]
					if checkBound {
						if math.Abs(got-d) > b.Rel*d+b.Abs {
							t.Fatalf("%s dim=%d: distance %v, core's %v: outside %+v", e.Name(), dim, got, d, b)
						}
					} else if got != d {
						t.Fatalf("%s dim=%d: distance %v, core's %v", e.Name(), dim, got, d)
					}
				}
			}
		}
		if err := set.Distances([]int32{int32(n)}, centres, make([]float64, 2)); err == nil {
			t.Fatal("a row out of range was accepted")
		}
		if err := set.Distances(rows, centres[:dim+1], make([]float64, 10)); err == nil && dim > 1 {
			t.Fatal("centres that are not whole rows were accepted")
		}
		if err := set.Distances(rows, centres, make([]float64, 3)); err == nil {
			t.Fatal("a short output was accepted")
		}
		if err := set.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReferenceEngine(t *testing.T) {
	for _, m := range []Metric{{Kind: Euclidean}, {Kind: Manhattan}, {Kind: Chebyshev}, {Kind: Minkowski, P: 3}, {Kind: Cosine}} {
		testEngineSet[float32](t, ReferenceEngine{}, m, false)
		testEngineSet[float64](t, ReferenceEngine{}, m, false)
	}
}

func TestPerturbedEngine(t *testing.T) {
	inner := &PerturbedEngine{Bound: ErrorBound{Rel: 1e-3, Abs: 1e-6}, Seed: 1}
	for _, e := range []Engine{
		&PerturbedEngine{Bound: ErrorBound{Rel: 1e-6}, Seed: 2},
		&PerturbedEngine{Bound: ErrorBound{Rel: 0.05, Abs: 0.5}, Seed: 3},
		&PerturbedEngine{Inner: inner, Bound: ErrorBound{Rel: 1e-2, Abs: 1e-2}, Seed: 4},
	} {
		for _, m := range []Metric{{Kind: Euclidean}, {Kind: Manhattan}, {Kind: Cosine}} {
			testEngineSet[float32](t, e, m, true)
			testEngineSet[float64](t, e, m, true)
		}
	}
	// It does perturb: some distance moves.
	pts := []float64{0, 1, 2, 3, 4, 5, 6, 7}
	set, err := LoadEngine[float64](&PerturbedEngine{Bound: ErrorBound{Rel: 0.1}, Seed: 9}, pts, 1, Metric{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, 8)
	if err := set.Distances(nil, []float64{0}, out); err != nil {
		t.Fatal(err)
	}
	moved := 0
	for i, d := range out {
		if d != float64(i) {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("the perturbed engine returned core's distances unchanged")
	}
}

func TestLoadEngineErrors(t *testing.T) {
	if _, err := LoadEngine[float64](nil, []float64{1}, 1, Metric{}); err == nil {
		t.Fatal("nil engine accepted")
	}
	if _, err := LoadEngine(ReferenceEngine{}, []float64{1, 2, 3}, 2, Metric{}); err == nil {
		t.Fatal("ragged points accepted")
	}
	if _, err := LoadEngine(ReferenceEngine{}, []float64{1, 2}, 1, Metric{Kind: Minkowski, P: 0.5}); err == nil {
		t.Fatal("invalid metric accepted")
	}
}
