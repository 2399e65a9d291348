package core

import (
	"errors"
	"fmt"
	"math"
)

// A Distancer is a metric of the caller's on points of type T, for a tree
// built with NewCustom. A cover tree is exact only for a true metric, so
// its Distance must be one: d(a, b) >= 0 and finite, 0 exactly when a and b
// are equal (points at distance 0 share a node, which keeps the first
// one's coordinates), symmetric, and d(a, b) <= d(a, c) + d(c, b). It must
// be safe for concurrent use: builds and query batches call it from many
// goroutines at once. A value that is negative, NaN or infinite fails the
// call that met it with an error.
type Distancer[T Float] interface {
	Distance(a, b []T) float64
}

// DistancerFunc adapts a function to the Distancer interface.
type DistancerFunc[T Float] func(a, b []T) float64

// Distance returns f(a, b).
func (f DistancerFunc[T]) Distance(a, b []T) float64 { return f(a, b) }

// customMetric is what a Custom metric holds: its name and its Distancer
// (a Distancer[float32] or a Distancer[float64]).
type customMetric struct {
	name string
	fn   any
}

// NewCustom returns the metric d, called name (for messages): a tree with
// it stores points of type T. Its trees encode as any other, but decode
// only with DecodeWith, given the metric again. A build measures the
// distance between the corners of the points' bounding box once (no two
// points may be infinitely far apart), so d must accept any point in that
// box.
func NewCustom[T Float](name string, d Distancer[T]) Metric {
	return Metric{Kind: Custom, custom: &customMetric{name: name, fn: d}}
}

// validateCustom checks that a Custom metric has its Distancer.
func (m Metric) validateCustom() error {
	if m.custom == nil || m.custom.fn == nil {
		return errors.New("core: a custom metric needs its Distancer: make it with NewCustom")
	}
	return nil
}

// checkCustom reports whether a Custom metric takes points of type T.
func checkCustom[T Float](m Metric) error {
	if m.Kind != Custom {
		return nil
	}
	if err := m.validateCustom(); err != nil {
		return err
	}
	if _, ok := m.custom.fn.(Distancer[T]); !ok {
		var zero T
		return fmt.Errorf("core: the custom metric %q does not take %T points", m.custom.name, zero)
	}
	return nil
}

// customKernel returns the kernel of a Custom metric, which checks every
// value it returns. Trees only use it on their own type (checkCustom);
// on the other, rows are converted for each call (Distance, and the
// bounding-box check of a build).
func customKernel[T Float](m Metric) distFunc[T] {
	name := m.custom.name
	check := func(v float64) float64 {
		if !(v >= 0) || math.IsInf(v, 1) {
			panic(fmt.Errorf("core: the custom metric %q returned %v, not a finite distance >= 0", name, v))
		}
		return v
	}
	switch d := m.custom.fn.(type) {
	case Distancer[T]:
		return func(a, b []T) float64 { return check(d.Distance(a, b)) }
	case Distancer[float32]:
		return func(a, b []T) float64 { return check(d.Distance(convert[float32](a), convert[float32](b))) }
	case Distancer[float64]:
		return func(a, b []T) float64 { return check(d.Distance(convert[float64](a), convert[float64](b))) }
	}
	return nil
}

func convert[U, T Float](x []T) []U {
	out := make([]U, len(x))
	for i, v := range x {
		out[i] = U(v)
	}
	return out
}
