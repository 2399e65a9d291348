package gpu

import (
	"fmt"
	"math"

	"github.com/pcct-dev/pcct/core"
)

// mode is a distance kernel's quantity, as kernels/pcct.cu numbers them.
type mode int64

const (
	// modeSqEuclid is sum (q_i - x_i)^2, by direct differences.
	modeSqEuclid mode = 0
	// modeManhattan is sum |q_i - x_i|.
	modeManhattan mode = 1
	// modeChebyshev is max |q_i - x_i|.
	modeChebyshev mode = 2
	// modeDot is |q|^2 - 2 q.x + |x|^2, the GEMM expansion of the squared
	// Euclidean distance, on points centred on their mean.
	modeDot mode = 3
)

// dotMinDim is the dimension from which Euclidean searches use the GEMM
// expansion: one multiply-add per coordinate instead of a subtraction and
// a multiply-add. Below it the direct differences cost little more and
// their error is relative, so they need no centring.
const dotMinDim = 32

// ErrUnsupportedMetric reports a metric the GPU kernels do not compute.
var ErrUnsupportedMetric = fmt.Errorf("gpu: metric not supported on the GPU (euclidean, cosine, manhattan and chebyshev are)")

// modeFor returns the kernel mode for the metric m on points of dimension
// dim. Cosine trees search with the Euclidean distance between normalised
// points, so they take the Euclidean modes.
func modeFor(m core.Metric, dim int) (mode, error) {
	switch m.Canonical().Kind {
	case core.Euclidean, core.Cosine:
		if dim >= dotMinDim {
			return modeDot, nil
		}
		return modeSqEuclid, nil
	case core.Manhattan:
		return modeManhattan, nil
	case core.Chebyshev:
		return modeChebyshev, nil
	}
	return 0, fmt.Errorf("%w; got %v", ErrUnsupportedMetric, m)
}

// squared reports whether the mode's quantity is the square of the
// tree's kernel distance (else it is the distance itself).
func (md mode) squared() bool { return md == modeSqEuclid || md == modeDot }

// Unit roundoffs.
const (
	u32 = 0x1p-24
	u64 = 0x1p-53
	// tiny32 is the smallest normal float32: below it a GPU that flushes
	// subnormals to zero loses everything.
	tiny32 = 0x1p-126
	tiny64 = 0x1p-1022
)

// gamma returns Higham's gamma_n = n u / (1 - n u), the relative error
// bound of n rounded operations in sequence.
func gamma(n int, u float64) float64 {
	nu := float64(n) * u
	return nu / (1 - nu)
}

// bound bounds a stored kernel value v (a float32 in the distance matrix)
// against the exact quantity D that core's kernel implies for the same
// pair (the squared distance for the Euclidean modes, the distance
// otherwise):
//
//	|v - D| <= Rel*D + Lin*sqrt(D) + Abs
//
// Lin is non-zero only for the GEMM expansion on centred points, whose
// centring moves every distance by a bounded amount.
type bound struct {
	Rel, Lin, Abs float64
}

// directBound is the bound of the direct kernels (modeSqEuclid,
// modeManhattan, modeChebyshev) on points of dimension dim computed in
// float32 (f32) or float64 arithmetic, and stored as float32.
//
// Derivation (Higham, Accuracy and Stability of Numerical Algorithms,
// ch. 3): each difference q_i - x_i is rounded once (relative u), each
// square or absolute value at most once more, and a sum of dim
// non-negative terms in any order (the kernel sums in chunks) adds at most
// gamma_(dim-1); so the computed value is within gamma_(dim+2) of the
// exact one, relatively. Core's own float64 kernel is within
// gamma_(dim+2) (u64) of exact in the other direction, and its square
// root and the comparison of rounded roots add a few u64 more, which the
// margin's slack covers. Storing a float64 result as float32 adds u32.
// Underflow: each term can lose at most the smallest normal float (a GPU
// may flush subnormals to zero), dim of them in all.
func directBound(md mode, dim int, f32 bool) bound {
	u, tiny := u64, tiny64
	if f32 {
		u, tiny = u32, tiny32
	}
	rel := gamma(dim+2, u) + gamma(dim+4, u64)
	if !f32 {
		rel += u32 // the float32 store
	}
	if md == modeChebyshev {
		rel = u + gamma(2, u64) // one rounded difference; a max is exact
		if !f32 {
			rel += u32
		}
	}
	abs := float64(dim)*tiny + 2*tiny32 // the terms, and the float32 store
	return bound{Rel: rel * 1.01, Abs: abs * 1.01}
}

// dotBound is the bound of modeDot for one query: the query and the
// points are centred on the points' mean (in float64, stored in the data's
// precision), qnorm is the query's centred norm and xmax the largest
// centred norm of a point, both measured exactly enough in float64.
//
// Derivation: with N = qnorm + xmax, the computed |q|^2, |x|^2 and q.x
// each carry at most gamma_dim of their size (|q|^2, |x|^2, |q||x|) and
// the combination |q|^2 - 2 q.x + |x|^2 two more roundings, so the value
// is within gamma_(dim+2) N^2 of the exact squared distance s' between
// the stored centred points. Centring rounds each coordinate once: the
// stored points are within eta = u (|q'| + |x'|) <= u N (1 + u) of exactly
// centred ones, so their distance d' is within eta of the true d, and
// |s' - s| = |d' - d| (d' + d) <= eta (2 d + eta). Core's float64 kernel
// adds gamma_(dim+4) (u64) of s, and the float32 store u32 of the value.
func dotBound(dim int, f32 bool, qnorm, xmax float64) bound {
	u := u64
	if f32 {
		u = u32
	}
	n := qnorm + xmax
	eta := u * n * (1 + 2*u)
	abs := gamma(dim+2, u)*n*n + eta*eta + 2*tiny32
	rel := gamma(dim+4, u64) + u32
	return bound{Rel: rel * 1.01, Lin: 2 * eta * 1.01, Abs: abs * 1.01}
}

// upper returns the largest exact D consistent with a stored value v:
// the root of D (1 - Rel) - Lin sqrt(D) - (v + Abs) = 0.
func (b bound) upper(v float64) float64 {
	if math.IsInf(v, 1) || math.IsNaN(v) {
		return math.Inf(1)
	}
	c := (max(v, 0) + b.Abs) * (1 + marginSlack)
	a := 1 - b.Rel
	r := (b.Lin + math.Sqrt(b.Lin*b.Lin+4*a*c)) / (2 * a)
	return r * r * (1 + marginSlack)
}

// widen returns the largest stored value a pair at exact D can have.
func (b bound) widen(d float64) float64 {
	return (d*(1+b.Rel) + b.Lin*math.Sqrt(d) + b.Abs) * (1 + marginSlack)
}

// marginSlack covers the rounding of the margin's own float64 arithmetic
// and of core's square roots (two distances whose rounded roots compare
// one way may have squares that compare the other way by a few ulps).
const marginSlack = 0x1p-40

// knnThreshold returns the gather threshold of a k-NN query whose k-th
// smallest stored value is kth: every point whose core distance is at most
// the query's true k-th distance has a stored value <= the threshold.
//
// The k points with stored values <= kth have exact D <= upper(kth), so
// the true k-th D is at most that; a point at exact D <= upper(kth) has a
// stored value <= widen(upper(kth)).
func knnThreshold(kth float64, b bound) float32 {
	return roundUp32(b.widen(b.upper(kth)))
}

// radiusThreshold returns the gather threshold of a radius query: every
// point with exact D <= dmax has a stored value <= the threshold.
func radiusThreshold(dmax float64, b bound) float32 {
	return roundUp32(b.widen(dmax))
}

// roundUp32 returns the smallest float32 >= x, or +Inf when x is so large
// that stored values near it may have overflowed (a kernel's float32
// arithmetic overflows where core's float64 does not: any stored +Inf
// must then be gathered).
func roundUp32(x float64) float32 {
	if math.IsNaN(x) || x >= 0x1p126 {
		return float32(math.Inf(1))
	}
	f := float32(x)
	if float64(f) < x {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}

// kernelRadius converts a search radius (the tree's kernel distance) into
// the mode's quantity, rounded up.
func kernelRadius(md mode, r float64) float64 {
	if md.squared() {
		return r * r * (1 + 4*u64)
	}
	return r
}

// engineBound is the core.ErrorBound of the engine's distances (not
// squared), computed by the direct kernels in float32 or float64 and
// returned as float64. For the Euclidean distance, |v - s| <= R s + A in
// squares gives |sqrt(v) - d| <= R d + sqrt(A); the kernel's square root
// adds u of the distance.
func engineBound(md mode, dim int, f32 bool) core.ErrorBound {
	b := directBound(md, dim, f32)
	u := u64
	if f32 {
		u = u32
	}
	if md.squared() {
		return core.ErrorBound{Rel: (b.Rel + 2*u) * 1.01, Abs: math.Sqrt(b.Abs) * 1.01}
	}
	return core.ErrorBound{Rel: b.Rel * 1.01, Abs: b.Abs * 1.01}
}
