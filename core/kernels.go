package core

import "math"

// Kernels as plain (non-generic) function values: a generic function taken
// as a value inside generic code is called through a wrapper that passes
// its type dictionary, which costs as much as a low-dimensional distance
// itself. Trees keep one of these, chosen by metric and dimension; two and
// three dimensions get unrolled Euclidean kernels.

// fastKernel returns the kernel for metric m on rows of dimension dim.
func fastKernel[T Float](m Metric, dim int) distFunc[T] {
	if k := extKernel[T](m.Canonical()); k != nil {
		return k
	}
	var zero T
	switch any(zero).(type) {
	case float64:
		return any(kernel64(m, dim)).(distFunc[T])
	case float32:
		return any(kernel32(m, dim)).(distFunc[T])
	}
	return kernelFor[T](m)
}

func kernel64(m Metric, dim int) distFunc[float64] {
	m = m.Canonical()
	switch m.Kind {
	case Euclidean, Cosine:
		switch dim {
		case 2:
			return func(a, b []float64) float64 {
				a, b = a[:2], b[:2]
				d0, d1 := a[0]-b[0], a[1]-b[1]
				if s := d0*d0 + d1*d1; exactSquare(s) {
					return math.Sqrt(s)
				}
				return scaledNorm(a, b, 2)
			}
		case 3:
			return func(a, b []float64) float64 {
				a, b = a[:3], b[:3]
				d0, d1, d2 := a[0]-b[0], a[1]-b[1], a[2]-b[2]
				if s := d0*d0 + d1*d1 + d2*d2; exactSquare(s) {
					return math.Sqrt(s)
				}
				return scaledNorm(a, b, 2)
			}
		}
		return func(a, b []float64) float64 {
			if s := sqEuclidean(a, b); exactSquare(s) {
				return math.Sqrt(s)
			}
			return scaledNorm(a, b, 2)
		}
	case Manhattan:
		return func(a, b []float64) float64 { return manhattan(a, b) }
	case Chebyshev:
		return func(a, b []float64) float64 { return chebyshev(a, b) }
	case Haversine:
		return func(a, b []float64) float64 { return haversine(a, b) }
	}
	p, inv := m.P, 1/m.P
	return func(a, b []float64) float64 { return minkowski(a, b, p, inv) }
}

func kernel32(m Metric, dim int) distFunc[float32] {
	m = m.Canonical()
	switch m.Kind {
	case Euclidean, Cosine:
		switch dim {
		case 2:
			return func(a, b []float32) float64 {
				a, b = a[:2], b[:2]
				d0, d1 := float64(a[0])-float64(b[0]), float64(a[1])-float64(b[1])
				if s := d0*d0 + d1*d1; exactSquare(s) {
					return math.Sqrt(s)
				}
				return scaledNorm(a, b, 2)
			}
		case 3:
			return func(a, b []float32) float64 {
				a, b = a[:3], b[:3]
				d0, d1, d2 := float64(a[0])-float64(b[0]), float64(a[1])-float64(b[1]), float64(a[2])-float64(b[2])
				if s := d0*d0 + d1*d1 + d2*d2; exactSquare(s) {
					return math.Sqrt(s)
				}
				return scaledNorm(a, b, 2)
			}
		}
		return func(a, b []float32) float64 {
			if s := sqEuclidean(a, b); exactSquare(s) {
				return math.Sqrt(s)
			}
			return scaledNorm(a, b, 2)
		}
	case Manhattan:
		return func(a, b []float32) float64 { return manhattan(a, b) }
	case Chebyshev:
		return func(a, b []float32) float64 { return chebyshev(a, b) }
	case Haversine:
		return func(a, b []float32) float64 { return haversine(a, b) }
	}
	p, inv := m.P, 1/m.P
	return func(a, b []float32) float64 { return minkowski(a, b, p, inv) }
}

// sqrtChecked returns sqrt(s) for the squared Euclidean distance s between
// a and b, recomputing it with rescaling when s may have underflowed or
// overflowed.
func sqrtChecked[T Float](s float64, a, b []T) float64 {
	if s < 0x1p-900 || s > 0x1p900 {
		return scaledNorm(a, b, 2)
	}
	return math.Sqrt(s)
}
