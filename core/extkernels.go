package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// The metrics of scikit-learn's BallTree that satisfy the triangle
// inequality, beyond the Lp family, cosine and haversine: the standardised
// Euclidean and Mahalanobis distances, weighted Minkowski, Canberra,
// Hamming, and the boolean Jaccard, Rogers-Tanimoto, Sokal-Michener and
// Sokal-Sneath distances. Each kernel computes its distance term by term in
// the order scikit-learn's DistanceMetric does, in float64, so that the
// distances (and so the ties) are scikit-learn's own. (Bray-Curtis, Dice
// and Russell-Rao are not metrics: the first two break the triangle
// inequality, the last puts a vector at a distance from itself.)

// extKinds maps scikit-learn's names of these metrics to their kinds.
var extKinds = map[string]MetricKind{
	"seuclidean":     SEuclidean,
	"mahalanobis":    Mahalanobis,
	"canberra":       Canberra,
	"hamming":        Hamming,
	"jaccard":        Jaccard,
	"rogerstanimoto": RogersTanimoto,
	"sokalmichener":  SokalMichener,
	"sokalsneath":    SokalSneath,
}

// extNames is extKinds reversed.
var extNames = func() map[MetricKind]string {
	m := make(map[MetricKind]string, len(extKinds))
	for name, k := range extKinds {
		m[k] = name
	}
	return m
}()

// extList returns the names of extKinds, sorted and comma-separated.
func extList() string {
	names := make([]string, 0, len(extKinds))
	for name := range extKinds {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// NewSEuclidean returns the standardised Euclidean metric with the
// variances v, one per coordinate (copied).
func NewSEuclidean(v []float64) Metric {
	return Metric{Kind: SEuclidean, par: packFloats(v)}
}

// NewMahalanobis returns the Mahalanobis metric with vi, the d x d inverse
// of a covariance matrix, row-major (copied).
func NewMahalanobis(vi []float64) Metric {
	return Metric{Kind: Mahalanobis, par: packFloats(vi)}
}

// NewWeightedMinkowski returns the Minkowski metric of power p with the
// coordinates weighed by w (copied): (sum w_i |a_i - b_i|^p)^(1/p).
func NewWeightedMinkowski(p float64, w []float64) Metric {
	return Metric{Kind: Minkowski, P: p, par: packFloats(w)}
}

// Params returns a copy of the metric's parameter vector: SEuclidean's
// variances, Mahalanobis's matrix (row-major), a weighted Minkowski's
// weights; nil for the others.
func (m Metric) Params() []float64 { return m.params() }

// params decodes the parameter vector.
func (m Metric) params() []float64 {
	if m.par == "" {
		return nil
	}
	b := []byte(m.par)
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

// withParams returns m with the parameter vector p.
func (m Metric) withParams(p []float64) Metric {
	m.par = packFloats(p)
	return m
}

func packFloats(x []float64) string {
	b := make([]byte, 0, 8*len(x))
	for _, v := range x {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return string(b)
}

// boolean reports whether the metric reads its coordinates as booleans.
func (k MetricKind) boolean() bool {
	return k == Jaccard || k == RogersTanimoto || k == SokalMichener || k == SokalSneath
}

// validateExt checks the parameters of a metric of extKinds.
func (m Metric) validateExt() error {
	switch m.Kind {
	case SEuclidean:
		vs := m.params()
		if len(vs) == 0 {
			return errors.New("core: seuclidean needs the variances V, one per coordinate")
		}
		for i, v := range vs {
			if !(v > 0) || math.IsInf(v, 1) {
				return fmt.Errorf("core: seuclidean needs finite variances V > 0, got V[%d] = %v", i, v)
			}
		}
	case Mahalanobis:
		return checkMahalanobis(m.params())
	default:
		if m.par != "" {
			return fmt.Errorf("core: the %v metric takes no parameters", m.Kind)
		}
	}
	return nil
}

// validateWeights checks a Minkowski metric's weights W, if any.
func (m Metric) validateWeights() error {
	ws := m.params()
	if len(ws) == 0 {
		return nil
	}
	if math.IsInf(m.P, 1) {
		return errors.New("core: a weighted minkowski metric needs a finite p")
	}
	for i, w := range ws {
		if !(w > 0) || math.IsInf(w, 1) {
			return fmt.Errorf("core: minkowski weights must be finite and > 0, got w[%d] = %v (a weight of 0 makes distinct points 0 apart: drop the coordinate instead)", i, w)
		}
	}
	return nil
}

// checkMahalanobis reports whether VI is a square matrix, symmetric and
// positive definite (its Cholesky factorisation succeeds): otherwise
// distinct points could be 0 apart, or the distance undefined.
func checkMahalanobis(vi []float64) error {
	d := int(math.Round(math.Sqrt(float64(len(vi)))))
	if d == 0 || d*d != len(vi) {
		return fmt.Errorf("core: mahalanobis needs a square matrix VI, got %d values", len(vi))
	}
	for i, x := range vi {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("core: mahalanobis VI[%d, %d] is %v", i/d, i%d, x)
		}
	}
	for i := range d {
		for j := range i {
			a, b := vi[i*d+j], vi[j*d+i]
			if math.Abs(a-b) > 1e-12*max(math.Abs(a), math.Abs(b)) {
				return fmt.Errorf("core: mahalanobis needs a symmetric VI, but VI[%d, %d] = %v and VI[%d, %d] = %v", i, j, a, j, i, b)
			}
		}
	}
	// Cholesky: L L' = VI, with every pivot > 0.
	l := make([]float64, d*d)
	for j := range d {
		s := vi[j*d+j]
		for k := range j {
			s -= l[j*d+k] * l[j*d+k]
		}
		if !(s > 0) {
			return errors.New("core: mahalanobis needs a positive definite VI (the inverse of a covariance matrix of full rank); with a singular one, distinct points can be 0 apart")
		}
		l[j*d+j] = math.Sqrt(s)
		for i := j + 1; i < d; i++ {
			t := vi[i*d+j]
			for k := range j {
				t -= l[i*d+k] * l[j*d+k]
			}
			l[i*d+j] = t / l[j*d+j]
		}
	}
	return nil
}

// checkParams reports whether the metric's parameters fit points of
// dimension dim.
func (m Metric) checkParams(dim int) error {
	n := len(m.par) / 8
	switch {
	case m.Kind == SEuclidean && n != dim:
		return fmt.Errorf("core: seuclidean has %d variances V for points of dimension %d", n, dim)
	case m.Kind == Mahalanobis && n != dim*dim:
		return fmt.Errorf("core: mahalanobis has a VI of %d values for points of dimension %d (needs %d x %d)", n, dim, dim, dim)
	case m.Kind == Minkowski && n > 0 && n != dim:
		return fmt.Errorf("core: minkowski has %d weights w for points of dimension %d", n, dim)
	}
	return nil
}

// sameMetric reports whether two metrics are the same distance function:
// equal, or custom ones with equal Distancers.
func sameMetric(a, b Metric) bool {
	a, b = a.Canonical(), b.Canonical()
	if a.Kind == Custom && b.Kind == Custom && a.custom != nil && b.custom != nil {
		return sameDistancer(a.custom.fn, b.custom.fn)
	}
	return a == b
}

// sameDistancer reports whether two Distancers are equal values (false
// for values of a type that cannot be compared).
func sameDistancer(x, y any) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return x == y
}

// booleans returns the points of a boolean metric as the tree stores them:
// 1 where a coordinate is not zero, else 0 (in a new slice).
func booleans[T Float](points []T) []T {
	out := make([]T, len(points))
	for i, v := range points {
		if v != 0 {
			out[i] = 1
		}
	}
	return out
}

// extKernel returns the kernel of a metric of extKinds, of a weighted
// Minkowski metric or of a Custom one; nil for the others. m must be valid
// and canonical.
func extKernel[T Float](m Metric) distFunc[T] {
	switch m.Kind {
	case SEuclidean:
		v := m.params()
		return func(a, b []T) float64 {
			b = b[:len(a)]
			var s float64
			for j := range a {
				d := float64(a[j]) - float64(b[j])
				s += d * d / v[j]
			}
			return math.Sqrt(s)
		}
	case Mahalanobis:
		return mahalanobis[T](m.params())
	case Minkowski:
		if m.par == "" {
			return nil
		}
		return weightedMinkowski[T](m.params(), m.P)
	case Canberra:
		return func(a, b []T) float64 {
			b = b[:len(a)]
			var s float64
			for j := range a {
				x, y := float64(a[j]), float64(b[j])
				if den := math.Abs(x) + math.Abs(y); den > 0 {
					s += math.Abs(x-y) / den
				}
			}
			return s
		}
	case Hamming:
		return func(a, b []T) float64 {
			b = b[:len(a)]
			n := 0
			for j := range a {
				if a[j] != b[j] {
					n++
				}
			}
			return float64(n) / float64(len(a))
		}
	case Jaccard, RogersTanimoto, SokalMichener, SokalSneath:
		return booleanKernel[T](m.Kind)
	case Custom:
		if m.custom == nil {
			return nil
		}
		return customKernel[T](m)
	}
	return nil
}

func mahalanobis[T Float](vi []float64) distFunc[T] {
	return func(a, b []T) float64 {
		d := len(a)
		b = b[:d]
		var s float64
		for i := range d {
			row := vi[i*d : (i+1)*d]
			var t float64
			for j := range d {
				t += row[j] * (float64(a[j]) - float64(b[j]))
			}
			s += t * (float64(a[i]) - float64(b[i]))
		}
		// Rounding can leave a tiny negative sum for nearly equal points.
		return math.Sqrt(max(s, 0))
	}
}

func weightedMinkowski[T Float](w []float64, p float64) distFunc[T] {
	switch p {
	case 1:
		return func(a, b []T) float64 {
			b = b[:len(a)]
			var s float64
			for j := range a {
				s += w[j] * math.Abs(float64(a[j])-float64(b[j]))
			}
			return s
		}
	case 2:
		return func(a, b []T) float64 {
			b = b[:len(a)]
			var s float64
			for j := range a {
				d := float64(a[j]) - float64(b[j])
				s += w[j] * (d * d)
			}
			return math.Sqrt(s)
		}
	}
	inv := 1 / p
	return func(a, b []T) float64 {
		b = b[:len(a)]
		var s float64
		for j := range a {
			s += w[j] * math.Pow(math.Abs(float64(a[j])-float64(b[j])), p)
		}
		return math.Pow(s, inv)
	}
}

func booleanKernel[T Float](k MetricKind) distFunc[T] {
	return func(a, b []T) float64 {
		b = b[:len(a)]
		var neq, ntt, nnz int
		for j := range a {
			x, y := a[j] != 0, b[j] != 0
			if x != y {
				neq++
			}
			if x && y {
				ntt++
			}
			if x || y {
				nnz++
			}
		}
		if neq == 0 {
			return 0
		}
		switch k {
		case Jaccard:
			return float64(nnz-ntt) / float64(nnz)
		case SokalSneath:
			return float64(neq) / (0.5*float64(ntt) + float64(neq))
		}
		return 2 * float64(neq) / float64(len(a)+neq) // Rogers-Tanimoto, Sokal-Michener
	}
}
