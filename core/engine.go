package core

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
)

// An Engine computes large batches of distances away from core's CPU
// kernels, on a GPU for instance. Builds and batch updates hand it their
// large batches: whole blocks of points against one new centre, or against
// a short list of centres.
//
// An engine's distances are not bit-identical to core's kernels, so every
// distance it returns comes with an ErrorBound. Core uses engine distances
// only to discard with that margin (a point whose engine distance is
// surely beyond a radius is dropped) and recomputes every kept distance
// with its own kernel, so that trees and answers do not depend on the
// engine.
//
// An Engine must be safe for concurrent use.
type Engine interface {
	// Name describes the engine, e.g. "cuda: NVIDIA H200 (device 0)".
	Name() string
	// Load32 makes the n = len(points)/dim float32 points resident on the
	// engine, for the distance m. The points are given as the tree stores
	// them: normalised for Cosine, whose engine distance is the Euclidean
	// distance between the stored points (the tree's kernel). The engine
	// keeps its own copy; points may be reused once Load32 returns.
	Load32(points []float32, dim int, m Metric) (EngineSet[float32], error)
	// Load64 is Load32 for float64 points.
	Load64(points []float64, dim int, m Metric) (EngineSet[float64], error)
}

// An EngineSet is a point set resident on an Engine.
type EngineSet[T Float] interface {
	// Len returns the number of points in the set.
	Len() int
	// Dim returns the dimension of the points.
	Dim() int
	// Distances writes to out[j*len(rows)+i] the engine's distance between
	// point rows[i] of the set and centre j, row j of the row-major
	// centres (of the set's dimension). A nil rows means every point of
	// the set, in order. out must hold len(rows) * (number of centres)
	// values. Every value is within Bound of core's kernel distance for
	// the same pair.
	Distances(rows []int32, centres []T, out []float64) error
	// Bound returns the error bound of every distance the set returns.
	Bound() ErrorBound
	// Close releases the engine's copy of the points. The set must not be
	// used afterwards.
	Close() error
}

// LoadEngine makes points resident on e, calling Load32 or Load64 as T
// requires.
func LoadEngine[T Float](e Engine, points []T, dim int, m Metric) (EngineSet[T], error) {
	if e == nil {
		return nil, errors.New("core: no engine")
	}
	var set any
	var err error
	switch p := any(points).(type) {
	case []float32:
		set, err = e.Load32(p, dim, m)
	case []float64:
		set, err = e.Load64(p, dim, m)
	default:
		return nil, fmt.Errorf("core: engines take float32 or float64 points, not %T", points)
	}
	if err != nil {
		return nil, fmt.Errorf("core: engine %s: %w", e.Name(), err)
	}
	return set.(EngineSet[T]), nil
}

// ErrorBound bounds the difference between an engine's distance e and
// core's kernel distance d for the same pair of points:
//
//	|e - d| <= Rel*d + Abs
//
// The zero value promises exact distances.
type ErrorBound struct {
	// Rel is the relative part of the bound.
	Rel float64
	// Abs is the absolute part, which covers underflow near zero.
	Abs float64
}

// boundSlack widens a bound computed in float64 by a few ulps, so that the
// rounding of the bound's own arithmetic cannot make it too tight.
const boundSlack = 8 * 0x1p-53

// Valid reports whether b is a usable bound: finite, non-negative, and
// with Rel < 1/2 (beyond that an engine distance says nothing).
func (b ErrorBound) Valid() bool {
	return b.Rel >= 0 && b.Rel < 0.5 && b.Abs >= 0 && !math.IsInf(b.Abs, 0)
}

// Lower returns the smallest core distance consistent with engine distance
// e: (e - Abs) / (1 + Rel), rounded down, and never below 0.
func (b ErrorBound) Lower(e float64) float64 {
	// e - Abs may cancel: widen by an ulp of e as well.
	l := (e - b.Abs - math.Abs(e)*boundSlack) / (1 + b.Rel) * (1 - boundSlack)
	if !(l > 0) { // also catches NaN
		return 0
	}
	return l
}

// Upper returns the largest core distance consistent with engine distance
// e: (e + Abs) / (1 - Rel), rounded up. It is +Inf for an infinite or NaN
// e (an engine may overflow where core does not).
func (b ErrorBound) Upper(e float64) float64 {
	if math.IsNaN(e) || math.IsInf(e, 1) {
		return math.Inf(1)
	}
	return (max(e, 0) + b.Abs) / (1 - b.Rel) * (1 + boundSlack)
}

// Beyond reports whether core's distance is surely greater than r, given
// the engine distance e: a point for which Beyond is true can be dropped
// from a search of radius r without measuring it again.
func (b ErrorBound) Beyond(e, r float64) bool {
	return !math.IsNaN(e) && b.Lower(e) > r
}

// Widen returns the largest engine distance that a pair at core distance
// at most r can have: r*(1+Rel) + Abs, rounded up. Every pair within r
// has an engine distance <= Widen(r).
func (b ErrorBound) Widen(r float64) float64 {
	return (r*(1+b.Rel) + b.Abs) * (1 + boundSlack)
}

// ReferenceEngine is the engine of core's own kernels, on the CPU: its
// distances are core's, bit for bit, and its bound is zero. Tests use it
// as the model of an Engine; it is no faster than core itself.
type ReferenceEngine struct{}

// Name returns "reference".
func (ReferenceEngine) Name() string { return "reference" }

// Load32 keeps a copy of the points.
func (ReferenceEngine) Load32(points []float32, dim int, m Metric) (EngineSet[float32], error) {
	return newRefSet(points, dim, m)
}

// Load64 keeps a copy of the points.
func (ReferenceEngine) Load64(points []float64, dim int, m Metric) (EngineSet[float64], error) {
	return newRefSet(points, dim, m)
}

type refSet[T Float] struct {
	pts  []T
	dim  int
	dist distFunc[T]
}

func newRefSet[T Float](points []T, dim int, m Metric) (*refSet[T], error) {
	if dim < 1 || len(points)%dim != 0 {
		return nil, fmt.Errorf("%d values do not make rows of dimension %d", len(points), dim)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &refSet[T]{pts: append([]T(nil), points...), dim: dim, dist: fastKernel[T](m, dim)}, nil
}

func (s *refSet[T]) Len() int { return len(s.pts) / s.dim }

func (s *refSet[T]) Dim() int { return s.dim }

func (s *refSet[T]) Bound() ErrorBound { return ErrorBound{} }

func (s *refSet[T]) Close() error { return nil }

func (s *refSet[T]) Distances(rows []int32, centres []T, out []float64) error {
	nr, nc, err := checkEngineCall(s.Len(), s.dim, rows, len(centres), len(out))
	if err != nil {
		return err
	}
	for j := range nc {
		c := centres[j*s.dim : (j+1)*s.dim]
		for i := range nr {
			r := i
			if rows != nil {
				r = int(rows[i])
			}
			out[j*nr+i] = s.dist(s.pts[r*s.dim:(r+1)*s.dim], c)
		}
	}
	return nil
}

// checkEngineCall validates the arguments of EngineSet.Distances for a set
// of n points of dimension dim and returns the number of rows and centres.
// Engines outside core use it through CheckEngineCall.
func checkEngineCall(n, dim int, rows []int32, centreValues, outLen int) (nr, nc int, err error) {
	if centreValues%dim != 0 {
		return 0, 0, fmt.Errorf("core: %d centre values do not make rows of dimension %d", centreValues, dim)
	}
	nc = centreValues / dim
	nr = n
	if rows != nil {
		nr = len(rows)
		for _, r := range rows {
			if r < 0 || int(r) >= n {
				return 0, 0, fmt.Errorf("core: row %d is out of range [0, %d)", r, n)
			}
		}
	}
	if outLen < nr*nc {
		return 0, 0, fmt.Errorf("core: output of %d values is too small for %d rows x %d centres", outLen, nr, nc)
	}
	return nr, nc, nil
}

// CheckEngineCall validates the arguments of EngineSet.Distances for a set
// of n points of dimension dim: rows in range, centres whole rows, out
// large enough. It returns the number of rows and of centres.
func CheckEngineCall(n, dim int, rows []int32, centreValues, outLen int) (nr, nc int, err error) {
	return checkEngineCall(n, dim, rows, centreValues, outLen)
}

// PerturbedEngine wraps an engine and moves each distance it returns by a
// pseudo-random amount within Bound (added to the inner engine's own
// bound), a quarter of them to the edge of the bound (within a relative
// 1e-6 of it). Tests use it to
// check that code using an engine stays exact whatever the engine's
// rounding, as long as it keeps its promise.
type PerturbedEngine struct {
	// Inner computes the distances; nil means ReferenceEngine.
	Inner Engine
	// Bound is the perturbation's size.
	Bound ErrorBound
	// Seed fixes the perturbations' sequence.
	Seed uint64

	calls atomic.Uint64
}

// Name returns "perturbed(<inner name>)".
func (e *PerturbedEngine) Name() string { return "perturbed(" + e.inner().Name() + ")" }

func (e *PerturbedEngine) inner() Engine {
	if e.Inner == nil {
		return ReferenceEngine{}
	}
	return e.Inner
}

// Load32 loads the points on the inner engine.
func (e *PerturbedEngine) Load32(points []float32, dim int, m Metric) (EngineSet[float32], error) {
	s, err := e.inner().Load32(points, dim, m)
	if err != nil {
		return nil, err
	}
	return &perturbedSet[float32]{EngineSet: s, e: e}, nil
}

// Load64 loads the points on the inner engine.
func (e *PerturbedEngine) Load64(points []float64, dim int, m Metric) (EngineSet[float64], error) {
	s, err := e.inner().Load64(points, dim, m)
	if err != nil {
		return nil, err
	}
	return &perturbedSet[float64]{EngineSet: s, e: e}, nil
}

type perturbedSet[T Float] struct {
	EngineSet[T]
	e *PerturbedEngine
}

func (s *perturbedSet[T]) Bound() ErrorBound {
	in := s.EngineSet.Bound()
	// The inner error and the perturbation add up; the perturbation is
	// relative to the inner distance, which is itself within in of core's.
	rel := in.Rel + s.e.Bound.Rel*(1+in.Rel)
	abs := in.Abs + s.e.Bound.Abs + s.e.Bound.Rel*in.Abs
	return ErrorBound{Rel: rel * (1 + boundSlack), Abs: abs * (1 + boundSlack)}
}

func (s *perturbedSet[T]) Distances(rows []int32, centres []T, out []float64) error {
	if err := s.EngineSet.Distances(rows, centres, out); err != nil {
		return err
	}
	nr := len(rows)
	if rows == nil {
		nr = s.Len()
	}
	n := min(nr*(len(centres)/s.Dim()), len(out))
	rng := rand.New(rand.NewPCG(s.e.Seed, s.e.calls.Add(1)))
	b := s.e.Bound
	for i := range out[:n] {
		d := out[i]
		if math.IsInf(d, 0) || math.IsNaN(d) {
			continue
		}
		width := b.Rel*d + b.Abs
		var f float64
		switch rng.IntN(8) {
		case 0:
			f = 1
		case 1:
			f = -1
		default:
			f = 2*rng.Float64() - 1
		}
		out[i] = max(d+f*width*(1-1e-6), 0)
	}
	return nil
}
