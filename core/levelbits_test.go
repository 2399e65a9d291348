package core

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestScaleBase2Bits checks base 2's pow and ceilLog, which read and build
// the exponent bits, against math.Ldexp and math.Frexp: every level of
// the float64 range and beyond it, and distances that are powers of two,
// their neighbours, subnormals, the largest and smallest, and random ones.
func TestScaleBase2Bits(t *testing.T) {
	sc := newScale(2)
	for i := int32(-1200); i <= 1200; i++ {
		if got, want := sc.pow(i), math.Ldexp(1, int(i)); got != want {
			t.Fatalf("pow(%d) = %v, want %v", i, got, want)
		}
	}
	ceilLog := func(d float64) int32 { // the definition, by Frexp
		frac, exp := math.Frexp(d)
		if frac == 0.5 {
			return int32(exp - 1)
		}
		return int32(exp)
	}
	ds := []float64{math.SmallestNonzeroFloat64, 0x1p-1022, math.Nextafter(0x1p-1022, 0), math.MaxFloat64, 1, 1.5, 0.75, 3}
	for e := -1074; e <= 1023; e++ {
		p := math.Ldexp(1, e)
		ds = append(ds, p, math.Nextafter(p, 0), math.Nextafter(p, math.Inf(1)), 1.5*p)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		ds = append(ds, math.Float64frombits(rng.Uint64()>>1)) // positive
	}
	for _, d := range ds {
		if math.IsNaN(d) || math.IsInf(d, 0) || d <= 0 {
			continue
		}
		if got, want := sc.ceilLog(d), ceilLog(d); got != want {
			t.Fatalf("ceilLog(%v) = %d, want %d", d, got, want)
		}
		// And it is the smallest j with d <= 2^j.
		j := sc.ceilLog(d)
		if d > math.Ldexp(1, int(j)) || d <= math.Ldexp(1, int(j-1)) {
			t.Fatalf("ceilLog(%v) = %d is not the smallest j with d <= 2^j", d, j)
		}
	}
	if got := sc.ceilLog(math.Inf(1)); got != levelInf-1 {
		t.Fatalf("ceilLog(+Inf) = %d, want %d", got, levelInf-1)
	}
}
