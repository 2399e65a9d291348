package gpu

import (
	"fmt"

	"github.com/pcct-dev/pcct/core"
)

// Engine returns the device as a core.Engine: builds and updates hand it
// their large distance batches. Its distances come from the direct
// kernels, in the points' precision, within the core.ErrorBound each set
// reports.
func (d *Device) Engine() core.Engine { return engine{d} }

type engine struct{ dev *Device }

func (e engine) Name() string { return "cuda: " + e.dev.Info().String() }

func (e engine) Load32(points []float32, dim int, m core.Metric) (core.EngineSet[float32], error) {
	return loadSet(e.dev, points, dim, m)
}

func (e engine) Load64(points []float64, dim int, m core.Metric) (core.EngineSet[float64], error) {
	return loadSet(e.dev, points, dim, m)
}

// engineSet is a point set on the device for the engine.
type engineSet[T core.Float] struct {
	dev   *Device
	md    mode
	n     int
	dim   int
	pts   buffer
	bound core.ErrorBound
}

func loadSet[T core.Float](dev *Device, points []T, dim int, m core.Metric) (*engineSet[T], error) {
	if dim < 1 || len(points)%dim != 0 || len(points) == 0 {
		return nil, fmt.Errorf("gpu: %d values do not make rows of dimension %d", len(points), dim)
	}
	md, err := modeFor(m, dim)
	if err != nil {
		return nil, err
	}
	if md == modeDot {
		md = modeSqEuclid // the engine measures few centres: direct differences
	}
	s := &engineSet[T]{dev: dev, md: md, n: len(points) / dim, dim: dim, bound: engineBound(md, dim, isF32[T]())}
	dev.mu.Lock()
	defer dev.mu.Unlock()
	a := allocs{be: dev.be}
	s.pts = a.get(bytesOf[T](len(points)))
	if a.err == nil {
		a.err = uploadSlice(dev.be, s.pts, points)
	}
	if a.err != nil {
		a.release()
		return nil, a.err
	}
	return s, nil
}

func (s *engineSet[T]) Len() int               { return s.n }
func (s *engineSet[T]) Dim() int               { return s.dim }
func (s *engineSet[T]) Bound() core.ErrorBound { return s.bound }
func (s *engineSet[T]) kernel(base string) string {
	return base + map[bool]string{true: "_f32", false: "_f64"}[isF32[T]()]
}

func (s *engineSet[T]) Close() error {
	s.dev.mu.Lock()
	defer s.dev.mu.Unlock()
	return s.dev.be.free(s.pts)
}

// Distances measures the rows against the centres on the device, in
// launches of at most 65,535 centres.
func (s *engineSet[T]) Distances(rows []int32, centres []T, out []float64) error {
	nr, nc, err := core.CheckEngineCall(s.n, s.dim, rows, len(centres), len(out))
	if err != nil {
		return err
	}
	if nr == 0 || nc == 0 {
		return nil
	}
	s.dev.mu.Lock()
	defer s.dev.mu.Unlock()
	be := s.dev.be
	a := allocs{be: be}
	defer a.release()
	var drows buffer
	if rows != nil {
		drows = a.get(int64(nr) * 4)
	}
	step := min(nc, maxGridY)
	dc := a.get(bytesOf[T](step * s.dim))
	dout := a.get(int64(step) * int64(nr) * 8)
	if a.err != nil {
		return a.err
	}
	if rows != nil {
		if err := uploadSlice(be, drows, rows); err != nil {
			return err
		}
	}
	for c0 := 0; c0 < nc; c0 += step {
		c := min(step, nc-c0)
		if err := uploadSlice(be, dc, centres[c0*s.dim:(c0+c)*s.dim]); err != nil {
			return err
		}
		if err := be.launch(s.kernel("pcct_rows_dist"), [3]int{ceilDiv(nr, rowThreads), c, 1}, [3]int{rowThreads, 1, 1},
			s.pts.ptr, drows.ptr, i64(nr), dc.ptr, i64(s.dim), uint64(s.md), dout.ptr); err != nil {
			return err
		}
		if err := downloadSlice(be, out[c0*nr:(c0+c)*nr], dout); err != nil {
			return err
		}
	}
	return nil
}
