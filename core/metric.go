package core

import (
	"fmt"
	"math"
	"strings"
)

// Float is the set of coordinate types a Tree stores: points are kept in the
// caller's precision, without upcasting.
type Float interface {
	~float32 | ~float64
}

// MetricKind names a family of distance functions on R^d.
type MetricKind int

// The supported metric families. Every one is a true metric (it satisfies
// the triangle inequality), which the cover tree relies on.
const (
	// Euclidean is the L2 distance sqrt(sum (a_i - b_i)^2).
	Euclidean MetricKind = iota
	// Manhattan is the L1 distance sum |a_i - b_i|.
	Manhattan
	// Chebyshev is the L-infinity distance max |a_i - b_i|.
	Chebyshev
	// Minkowski is the Lp distance (sum |a_i - b_i|^p)^(1/p) for p >= 1.
	Minkowski
	// Cosine is the cosine distance 1 - a.b/(|a||b|). It is not a metric,
	// but on unit vectors it is half the squared Euclidean distance, which
	// is: a tree with this metric stores its points normalised, searches
	// with the Euclidean distance and converts. Zero vectors have no
	// cosine distance and are refused.
	Cosine
	// Haversine is the great-circle distance on the unit sphere between
	// points given as (latitude, longitude) in radians; dimension 2 only.
	Haversine
	// The metrics below are those of extkernels.go: scikit-learn's
	// BallTree metrics that satisfy the triangle inequality, computed as
	// scikit-learn's DistanceMetric computes them.

	// SEuclidean is the standardised Euclidean distance
	// sqrt(sum (a_i - b_i)^2 / V_i), with the variances V (Metric.V).
	SEuclidean
	// Mahalanobis is sqrt((a - b)' VI (a - b)) with VI (Metric.VI) the
	// inverse of a covariance matrix, symmetric positive definite.
	Mahalanobis
	// Canberra is sum |a_i - b_i| / (|a_i| + |b_i|), terms with a zero
	// denominator left out.
	Canberra
	// Hamming is the fraction of coordinates that differ.
	Hamming
	// Jaccard, RogersTanimoto, SokalMichener and SokalSneath are distances
	// between boolean vectors (a coordinate is true when it is not zero):
	// with N the dimension, NEQ the coordinates that differ, NTT those
	// true in both and NNZ those true in either, Jaccard is NEQ/NNZ,
	// RogersTanimoto and SokalMichener 2 NEQ/(N + NEQ), SokalSneath
	// NEQ/(NEQ + NTT/2); 0 between equal vectors. A tree with one of them
	// stores its points as 0 and 1.
	Jaccard
	RogersTanimoto
	SokalMichener
	SokalSneath
	// Custom is a metric of the caller's, a Distancer (custom.go), made
	// by NewCustom.
	Custom
)

// String returns the metric family's name as scikit-learn spells it.
func (k MetricKind) String() string {
	switch k {
	case Euclidean:
		return "euclidean"
	case Manhattan:
		return "manhattan"
	case Chebyshev:
		return "chebyshev"
	case Minkowski:
		return "minkowski"
	case Cosine:
		return "cosine"
	case Haversine:
		return "haversine"
	}
	if name, ok := extNames[k]; ok {
		return name
	}
	if k == Custom {
		return "custom"
	}
	return fmt.Sprintf("MetricKind(%d)", int(k))
}

// Metric is a distance function: a family and, for Minkowski, its power P.
// The zero value is the Euclidean metric. Metrics with a vector of
// parameters (SEuclidean's variances, Mahalanobis's matrix, a weighted
// Minkowski's weights) are made by NewSEuclidean, NewMahalanobis and
// NewWeightedMinkowski; Metrics compare equal when their families and
// parameters are equal.
type Metric struct {
	Kind MetricKind
	// P is the power of a Minkowski metric; it is ignored by the others.
	P float64
	// par holds the parameter vector's float64 bits (see Params), as a
	// string so that Metric stays comparable.
	par string
	// custom is the Distancer of a Custom metric (compared by identity).
	custom *customMetric
}

// ParseMetric returns the metric called name, with power p for "minkowski".
// It accepts scikit-learn's names and aliases: euclidean (l2), manhattan
// (cityblock, l1), chebyshev (infinity), minkowski, cosine, haversine, and
// the metrics of extkernels.go (seuclidean, mahalanobis, canberra, hamming,
// jaccard, rogerstanimoto, sokalmichener, sokalsneath). SEuclidean and
// Mahalanobis come without their V or VI, which the caller sets (Validate
// then checks them).
func ParseMetric(name string, p float64) (Metric, error) {
	var m Metric
	switch strings.ToLower(name) {
	case "euclidean", "l2":
		m = Metric{Kind: Euclidean}
	case "manhattan", "cityblock", "l1":
		m = Metric{Kind: Manhattan}
	case "chebyshev", "infinity":
		m = Metric{Kind: Chebyshev}
	case "minkowski":
		m = Metric{Kind: Minkowski, P: p}
	case "cosine":
		m = Metric{Kind: Cosine}
	case "haversine":
		m = Metric{Kind: Haversine}
	default:
		k, ok := extKinds[strings.ToLower(name)]
		if !ok {
			return Metric{}, fmt.Errorf("core: unknown metric %q; supported: euclidean, manhattan, chebyshev, minkowski, cosine, haversine, %s", name, extList())
		}
		return Metric{Kind: k}, nil
	}
	if err := m.Validate(); err != nil {
		return Metric{}, err
	}
	return m.Canonical(), nil
}

// Validate reports whether m is a metric the tree supports.
func (m Metric) Validate() error {
	switch m.Kind {
	case Euclidean, Manhattan, Chebyshev, Cosine, Haversine:
		return nil
	case Minkowski:
		if math.IsNaN(m.P) || m.P < 1 {
			return fmt.Errorf("core: minkowski metric needs p >= 1 to be a metric, got p=%v", m.P)
		}
		return m.validateWeights()
	}
	if _, ok := extNames[m.Kind]; ok {
		return m.validateExt()
	}
	if m.Kind == Custom {
		return m.validateCustom()
	}
	return fmt.Errorf("core: unknown metric kind %d", int(m.Kind))
}

// Canonical returns the same distance function in its fastest form:
// Minkowski with p = 1, 2 or +Inf becomes Manhattan, Euclidean or Chebyshev.
func (m Metric) Canonical() Metric {
	if m.Kind != Minkowski {
		return Metric{Kind: m.Kind, par: m.par, custom: m.custom}
	}
	if m.par != "" {
		return m // weighted: its own kernel
	}
	switch {
	case m.P == 1:
		return Metric{Kind: Manhattan}
	case m.P == 2:
		return Metric{Kind: Euclidean}
	case math.IsInf(m.P, 1):
		return Metric{Kind: Chebyshev}
	}
	return m
}

// String returns the metric's name, with p for Minkowski.
func (m Metric) String() string {
	if m.Kind == Minkowski && m.par != "" {
		return fmt.Sprintf("minkowski(p=%g, weighted)", m.P)
	}
	if m.Kind == Minkowski {
		return fmt.Sprintf("minkowski(p=%g)", m.P)
	}
	if m.Kind == Custom && m.custom != nil {
		return m.custom.name
	}
	return m.Kind.String()
}

// Distance returns d(a, b) under m. It is a convenience for callers and
// tests; trees use specialised kernels chosen once at build time.
func Distance[T Float](m Metric, a, b []T) float64 {
	if m.Kind == Cosine {
		return cosineDistance(a, b)
	}
	return kernelFor[T](m)(a, b)
}

// cosineDistance returns 1 - a.b/(|a||b|), clipped to [0, 2] as rounding
// can push it out, or NaN if a or b is zero.
func cosineDistance[T Float](a, b []T) float64 {
	b = b[:len(a)]
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	d := 1 - ab/(math.Sqrt(aa)*math.Sqrt(bb))
	if math.IsNaN(d) {
		return d
	}
	return min(max(d, 0), 2)
}

// distFunc computes a distance between two rows of equal length.
type distFunc[T Float] func(a, b []T) float64

// kernelFor returns the distance kernel a tree with metric m uses on its
// stored points: for Cosine, the Euclidean distance between the normalised
// points. m must be valid.
func kernelFor[T Float](m Metric) distFunc[T] {
	m = m.Canonical()
	if k := extKernel[T](m); k != nil {
		return k
	}
	switch m.Kind {
	case Euclidean, Cosine:
		return euclidean[T]
	case Haversine:
		return haversine[T]
	case Manhattan:
		return manhattan[T]
	case Chebyshev:
		return chebyshev[T]
	}
	p, inv := m.P, 1/m.P
	return func(a, b []T) float64 { return minkowski(a, b, p, inv) }
}

// The kernels below subtract in float64, so float32 rows give the same
// distances as their float64 upcast without storing one, and sums run in
// four independent accumulators to keep the floating-point units busy.

func euclidean[T Float](a, b []T) float64 {
	s := sqEuclidean(a, b)
	if s < 0x1p-900 || s > 0x1p900 {
		// Squares of tiny or huge differences underflow or overflow:
		// rescale by the largest difference, so that distinct points never
		// get distance zero and finite ones never get +Inf.
		return scaledNorm(a, b, 2)
	}
	return math.Sqrt(s)
}

// scaledNorm returns the Lp distance computed as m * (sum (|a_i-b_i|/m)^p)^(1/p)
// with m the largest difference, which neither overflows nor underflows.
func scaledNorm[T Float](a, b []T, p float64) float64 {
	m := chebyshev(a, b)
	if m == 0 || math.IsInf(m, 0) || math.IsNaN(m) {
		return m
	}
	b = b[:len(a)]
	var s float64
	for i := range a {
		r := math.Abs(float64(a[i])-float64(b[i])) / m
		if p == 2 {
			s += r * r
		} else {
			s += math.Pow(r, p)
		}
	}
	if p == 2 {
		return m * math.Sqrt(s)
	}
	return m * math.Pow(s, 1/p)
}

// exactSquare reports whether a sum of squares s lies where its square
// root is as exact as the squares: neither overflowed nor below the
// range where they keep their precision. Outside it the distances are
// measured by a scaled norm.
func exactSquare(s float64) bool { return s >= exactLo && s <= exactHi }

// exactLo and exactHi bound the sums of squares exactSquare accepts.
const (
	exactLo = 0x1p-900
	exactHi = 0x1p900
)

func sqEuclidean[T Float](a, b []T) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		x := a[i : i+4 : i+4]
		y := b[i : i+4 : i+4]
		d0 := float64(x[0]) - float64(y[0])
		d1 := float64(x[1]) - float64(y[1])
		d2 := float64(x[2]) - float64(y[2])
		d3 := float64(x[3]) - float64(y[3])
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d := float64(a[i]) - float64(b[i])
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

func manhattan[T Float](a, b []T) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		x := a[i : i+4 : i+4]
		y := b[i : i+4 : i+4]
		s0 += math.Abs(float64(x[0]) - float64(y[0]))
		s1 += math.Abs(float64(x[1]) - float64(y[1]))
		s2 += math.Abs(float64(x[2]) - float64(y[2]))
		s3 += math.Abs(float64(x[3]) - float64(y[3]))
	}
	for ; i < len(a); i++ {
		s0 += math.Abs(float64(a[i]) - float64(b[i]))
	}
	return (s0 + s1) + (s2 + s3)
}

// haversine returns the great-circle distance between (latitude,
// longitude) pairs in radians, on the unit sphere.
func haversine[T Float](a, b []T) float64 {
	lat1, lon1 := float64(a[0]), float64(a[1])
	lat2, lon2 := float64(b[0]), float64(b[1])
	s1 := math.Sin((lat2 - lat1) / 2)
	s2 := math.Sin((lon2 - lon1) / 2)
	// A latitude rounded just past a pole (prepare allows 1e-6) has a
	// cosine just below zero; it counts as the pole.
	h := s1*s1 + max(math.Cos(lat1), 0)*max(math.Cos(lat2), 0)*s2*s2
	return 2 * math.Asin(math.Sqrt(min(max(h, 0), 1)))
}

func chebyshev[T Float](a, b []T) float64 {
	b = b[:len(a)]
	var m float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if d > m {
			m = d
		}
	}
	return m
}

func minkowski[T Float](a, b []T, p, invP float64) float64 {
	b = b[:len(a)]
	var s float64
	for i := range a {
		s += math.Pow(math.Abs(float64(a[i])-float64(b[i])), p)
	}
	if s < 0x1p-900 || s > 0x1p900 {
		return scaledNorm(a, b, p)
	}
	return math.Pow(s, invP)
}

// distances writes to out[i] the distance from q to node nodes[i].
func (t *Tree[T]) distances(q []T, nodes []int32, out []float64) {
	out = out[:len(nodes)]
	dist := t.dist
	for i, u := range nodes {
		out[i] = dist(q, t.point(u))
	}
}
