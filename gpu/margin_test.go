package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// stored computes what the distance kernel stores for one pair, in T's
// arithmetic, as the simulated device does (sim_test.go): the kernel's
// quantity for mode md, with the squared norms qn and xn for modeDot.
func stored[T core.Float](md mode, q, x []T, qn, xn T) float64 {
	var acc T
	for k := range q {
		t := q[k] - x[k]
		switch md {
		case modeSqEuclid:
			acc += t * t
		case modeManhattan:
			acc += T(math.Abs(float64(t)))
		case modeChebyshev:
			acc = max(acc, T(math.Abs(float64(t))))
		case modeDot:
			acc += q[k] * x[k]
		}
	}
	if md == modeDot {
		acc = qn - 2*acc + xn
	}
	return float64(clean32(float32(acc)))
}

func sqnorm[T core.Float](x []T) T {
	var s T
	for _, v := range x {
		s += v * v
	}
	return s
}

// TestBoundsHold checks the margin's bounds against the arithmetic they
// bound, on data built to break them: large offsets (the GEMM expansion
// cancels), near-ties, duplicates, tiny and huge scales. For every pair,
// the stored value v and core's distance d (its quantity D: d^2 for the
// Euclidean modes) satisfy |v - D| <= Rel D + Lin sqrt(D) + Abs, and the
// thresholds built on them keep every pair they must.
func TestBoundsHold(t *testing.T) {
	for _, f32 := range []bool{true, false} {
		for _, md := range []mode{modeSqEuclid, modeManhattan, modeChebyshev, modeDot} {
			for _, dim := range []int{1, 3, 16, 128, 784} {
				for _, kind := range []string{"random", "offset", "near", "ties", "tiny", "huge"} {
					if f32 {
						checkBounds[float32](t, md, dim, kind)
					} else {
						checkBounds[float64](t, md, dim, kind)
					}
				}
			}
		}
	}
}

func checkBounds[T core.Float](t *testing.T, md mode, dim int, kind string) {
	rng := rand.New(rand.NewPCG(uint64(md), uint64(dim)))
	n := 40
	pts := make([]T, n*dim)
	for i := range pts {
		v := rng.NormFloat64()
		switch kind {
		case "offset":
			v += 1e4
		case "ties":
			v = float64(rng.IntN(3))
		case "tiny":
			v *= 1e-20
		case "huge":
			v *= 1e15
		}
		pts[i] = T(v)
		if kind == "near" && i >= dim && (i/dim)%2 == 1 {
			pts[i] = T(float64(pts[i-dim]) * (1 + 1e-7*rng.NormFloat64()))
		}
	}
	kern := core.Metric{Kind: core.Euclidean}
	switch md {
	case modeManhattan:
		kern.Kind = core.Manhattan
	case modeChebyshev:
		kern.Kind = core.Chebyshev
	}
	orig := append([]T(nil), pts...)
	var xmax float64
	if md == modeDot {
		_, xmax = centre(pts, dim)
	}
	label := fmt.Sprintf("%T %v dim=%d %s", pts[0], md, dim, kind)
	for i := range n {
		for j := range n {
			q, x := pts[i*dim:(i+1)*dim], pts[j*dim:(j+1)*dim]
			d := core.Distance(kern, orig[i*dim:(i+1)*dim], orig[j*dim:(j+1)*dim])
			D := d
			if md.squared() {
				D = d * d
			}
			var b bound
			var qn, xn T
			if md == modeDot {
				qn, xn = sqnorm(q), sqnorm(x)
				var s float64
				for _, v := range q {
					s += float64(v) * float64(v)
				}
				b = dotBound(dim, isF32[T](), math.Sqrt(s)*(1+4*u64*float64(dim+2)), xmax)
			} else {
				b = directBound(md, dim, isF32[T]())
			}
			v := stored(md, q, x, qn, xn)
			if math.IsInf(v, 1) {
				// Overflowed in T: the thresholds gather +Inf only above
				// 2^126, so D must be beyond any finite threshold.
				if D < 0x1p126*(1-b.Rel) {
					t.Fatalf("%s: pair (%d, %d) overflowed at D=%g", label, i, j, D)
				}
				continue
			}
			if err := math.Abs(v - D); err > b.Rel*D+b.Lin*math.Sqrt(D)+b.Abs {
				t.Fatalf("%s: pair (%d, %d): stored %v, exact %v: error %g beyond the bound %+v", label, i, j, v, D, err, b)
			}
			if D > b.upper(v) {
				t.Fatalf("%s: pair (%d, %d): upper(%v) = %v < D = %v", label, i, j, v, b.upper(v), D)
			}
			if float64(radiusThreshold(D, b)) < v {
				t.Fatalf("%s: pair (%d, %d): a radius of exactly D=%v would drop it (stored %v)", label, i, j, D, v)
			}
		}
	}
}

// TestThresholds checks the threshold algebra on made-up stored values:
// whatever the stored values within a bound, the k-NN threshold keeps
// every pair whose exact value is at most the true k-th.
func TestThresholds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 2000 {
		b := bound{Rel: math.Exp(-rng.Float64() * 40), Abs: math.Exp(-rng.Float64()*80) * float64(rng.IntN(2))}
		if rng.IntN(3) == 0 {
			b.Lin = math.Exp(-rng.Float64() * 30)
		}
		n := 50
		exact := make([]float64, n)
		vals := make([]float64, n)
		for i := range exact {
			exact[i] = math.Exp(rng.Float64()*4 - 2)
			if rng.IntN(5) == 0 && i > 0 {
				exact[i] = exact[i-1] // ties
			}
			w := b.Rel*exact[i] + b.Lin*math.Sqrt(exact[i]) + b.Abs
			vals[i] = max(exact[i]+(2*rng.Float64()-1)*w, 0)
		}
		k := 1 + rng.IntN(n)
		sortedV := append([]float64(nil), vals...)
		sortFloats(sortedV)
		sortedE := append([]float64(nil), exact...)
		sortFloats(sortedE)
		thr := float64(knnThreshold(sortedV[k-1], b))
		for i := range n {
			if exact[i] <= sortedE[k-1] && vals[i] > thr {
				t.Fatalf("bound %+v k=%d: a true neighbour (exact %v, stored %v) lies beyond the threshold %v", b, k, exact[i], vals[i], thr)
			}
		}
	}
	if !math.IsInf(float64(roundUp32(0x1p127)), 1) || !math.IsInf(float64(roundUp32(math.NaN())), 1) {
		t.Fatal("roundUp32 must give +Inf where float32 values may have overflowed")
	}
	if x := 1 + 1e-12; float64(roundUp32(x)) < x {
		t.Fatal("roundUp32 rounds down")
	}
}

func sortFloats(s []float64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
