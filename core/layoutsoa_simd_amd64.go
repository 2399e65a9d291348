//go:build goexperiment.simd

package core

import "simd/archsimd"

// lanesPay reports whether Euclidean layouts keep four-lane coordinates:
// where the CPU runs the vector kernel.
func lanesPay() bool { return vectorized() }

// quadSquares sets out[4(g-g0)+l] to the squared Euclidean distance from q
// to lane l of quad g of lanes, for g in [g0, g1), with sqEuclidean's bits:
// one lane a position, four partial sums a lane as sqEuclidean keeps them,
// multiplies and adds unfused (a float32 coordinate widened exactly, by a
// vector conversion: a scalar one between vector instructions cost 15 times
// the whole search on the development machine). Without AVX2 it runs the
// scalar loop.
func quadSquares[T Float](lanes []T, dim int, q []T, g0, g1 int, out []float64) {
	if !vectorized() {
		quadSquaresScalar(lanes, dim, q, g0, g1, out)
		return
	}
	switch l := any(lanes).(type) {
	case []float64:
		quadSquares64(l, dim, any(q).([]float64), g0, g1, out)
	case []float32:
		quadSquares32(l, dim, any(q).([]float32), g0, g1, out)
	}
	// The scalar code that follows would otherwise pay for the vector
	// registers' upper halves left set.
	archsimd.ClearAVXUpperBits()
}

func quadSquares64(lanes []float64, dim int, q []float64, g0, g1 int, out []float64) {
	q = q[:dim]
	out = out[:(g1-g0)*quadSize]
	for g := g0; g < g1; g++ {
		quad := lanes[g*quadSize*dim : (g+1)*quadSize*dim]
		qs := q
		var s0, s1, s2, s3 archsimd.Float64x4
		for len(qs) >= 4 && len(quad) >= 16 {
			x, y := (*[16]float64)(quad[:16]), (*[4]float64)(qs[:4])
			d0 := archsimd.LoadFloat64x4((*[4]float64)(x[0:4])).Sub(archsimd.BroadcastFloat64x4(y[0]))
			d1 := archsimd.LoadFloat64x4((*[4]float64)(x[4:8])).Sub(archsimd.BroadcastFloat64x4(y[1]))
			d2 := archsimd.LoadFloat64x4((*[4]float64)(x[8:12])).Sub(archsimd.BroadcastFloat64x4(y[2]))
			d3 := archsimd.LoadFloat64x4((*[4]float64)(x[12:16])).Sub(archsimd.BroadcastFloat64x4(y[3]))
			s0 = s0.Add(d0.Mul(d0))
			s1 = s1.Add(d1.Mul(d1))
			s2 = s2.Add(d2.Mul(d2))
			s3 = s3.Add(d3.Mul(d3))
			quad, qs = quad[16:], qs[4:]
		}
		for len(qs) > 0 && len(quad) >= 4 {
			d := archsimd.LoadFloat64x4((*[4]float64)(quad[:4])).Sub(archsimd.BroadcastFloat64x4(qs[0]))
			s0 = s0.Add(d.Mul(d))
			quad, qs = quad[4:], qs[1:]
		}
		o := (g - g0) * quadSize
		s0.Add(s1).Add(s2.Add(s3)).Store((*[4]float64)(out[o : o+4]))
	}
}

func quadSquares32(lanes []float32, dim int, q []float32, g0, g1 int, out []float64) {
	q = q[:dim]
	out = out[:(g1-g0)*quadSize]
	for g := g0; g < g1; g++ {
		quad := lanes[g*quadSize*dim : (g+1)*quadSize*dim]
		qs := q
		var s0, s1, s2, s3 archsimd.Float64x4
		for len(qs) >= 4 && len(quad) >= 16 {
			x, y := (*[16]float32)(quad[:16]), (*[4]float32)(qs[:4])
			d0 := archsimd.LoadFloat32x4((*[4]float32)(x[0:4])).ConvertToFloat64().Sub(archsimd.BroadcastFloat32x4(y[0]).ConvertToFloat64())
			d1 := archsimd.LoadFloat32x4((*[4]float32)(x[4:8])).ConvertToFloat64().Sub(archsimd.BroadcastFloat32x4(y[1]).ConvertToFloat64())
			d2 := archsimd.LoadFloat32x4((*[4]float32)(x[8:12])).ConvertToFloat64().Sub(archsimd.BroadcastFloat32x4(y[2]).ConvertToFloat64())
			d3 := archsimd.LoadFloat32x4((*[4]float32)(x[12:16])).ConvertToFloat64().Sub(archsimd.BroadcastFloat32x4(y[3]).ConvertToFloat64())
			s0 = s0.Add(d0.Mul(d0))
			s1 = s1.Add(d1.Mul(d1))
			s2 = s2.Add(d2.Mul(d2))
			s3 = s3.Add(d3.Mul(d3))
			quad, qs = quad[16:], qs[4:]
		}
		for len(qs) > 0 && len(quad) >= 4 {
			d := archsimd.LoadFloat32x4((*[4]float32)(quad[:4])).ConvertToFloat64().Sub(archsimd.BroadcastFloat32x4(qs[0]).ConvertToFloat64())
			s0 = s0.Add(d.Mul(d))
			quad, qs = quad[4:], qs[1:]
		}
		o := (g - g0) * quadSize
		s0.Add(s1).Add(s2.Add(s3)).Store((*[4]float64)(out[o : o+4]))
	}
}
