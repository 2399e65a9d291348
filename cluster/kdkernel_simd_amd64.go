//go:build goexperiment.simd

package cluster

import "simd/archsimd"

// kdVector reports whether the CPU runs the vector kernels.
func kdVector() bool { return archsimd.X86.AVX2() }

// kdSquares sets out[j], for j < w (a multiple of 4), to the sum over a
// of (q[a] - block[a*w+j])^2 in order of a, as kdSquaresScalar does: one
// lane a point, sixteen points at a time (four independent sums hide the
// adds' latency).
func kdSquares(block []float64, w int, q []float64, out []float64) {
	if !kdVector() {
		kdSquaresScalar(block, w, q, out)
		return
	}
	dim := len(q)
	block = block[:dim*w]
	out = out[:w]
	j := 0
	for ; j+16 <= w; j += 16 {
		var s0, s1, s2, s3 archsimd.Float64x4
		for a, x := range q {
			r := (*[16]float64)(block[a*w+j : a*w+j+16])
			b := archsimd.BroadcastFloat64x4(x)
			d0 := b.Sub(archsimd.LoadFloat64x4((*[4]float64)(r[0:4])))
			d1 := b.Sub(archsimd.LoadFloat64x4((*[4]float64)(r[4:8])))
			d2 := b.Sub(archsimd.LoadFloat64x4((*[4]float64)(r[8:12])))
			d3 := b.Sub(archsimd.LoadFloat64x4((*[4]float64)(r[12:16])))
			s0 = s0.Add(d0.Mul(d0))
			s1 = s1.Add(d1.Mul(d1))
			s2 = s2.Add(d2.Mul(d2))
			s3 = s3.Add(d3.Mul(d3))
		}
		o := (*[16]float64)(out[j : j+16])
		s0.Store((*[4]float64)(o[0:4]))
		s1.Store((*[4]float64)(o[4:8]))
		s2.Store((*[4]float64)(o[8:12]))
		s3.Store((*[4]float64)(o[12:16]))
	}
	for ; j+8 <= w; j += 8 {
		var s0, s1 archsimd.Float64x4
		for a, x := range q {
			r := (*[8]float64)(block[a*w+j : a*w+j+8])
			b := archsimd.BroadcastFloat64x4(x)
			d0 := b.Sub(archsimd.LoadFloat64x4((*[4]float64)(r[0:4])))
			d1 := b.Sub(archsimd.LoadFloat64x4((*[4]float64)(r[4:8])))
			s0 = s0.Add(d0.Mul(d0))
			s1 = s1.Add(d1.Mul(d1))
		}
		o := (*[8]float64)(out[j : j+8])
		s0.Store((*[4]float64)(o[0:4]))
		s1.Store((*[4]float64)(o[4:8]))
	}
	for ; j+4 <= w; j += 4 {
		var s0 archsimd.Float64x4
		for a, x := range q {
			d0 := archsimd.BroadcastFloat64x4(x).Sub(archsimd.LoadFloat64x4((*[4]float64)(block[a*w+j : a*w+j+4])))
			s0 = s0.Add(d0.Mul(d0))
		}
		s0.Store((*[4]float64)(out[j : j+4]))
	}
	// The scalar code that follows would otherwise pay for the vector
	// registers' upper halves left set.
	archsimd.ClearAVXUpperBits()
}

// kdBoxSums returns kdBoxSumsScalar's sums, added in another order (four
// partial sums), so that they may differ from those by kdBoxMargin.
func kdBoxSums(lo, hi, q []float64, wantFar bool) (near, far float64) {
	dim := len(q)
	if !kdVector() || dim < 8 {
		return kdBoxSumsScalar(lo, hi, q, wantFar)
	}
	lo, hi = lo[:dim], hi[:dim]
	var sn, sf archsimd.Float64x4
	var zero archsimd.Float64x4
	a := 0
	for ; a+4 <= dim; a += 4 {
		x := archsimd.LoadFloat64x4((*[4]float64)(q[a : a+4]))
		l := archsimd.LoadFloat64x4((*[4]float64)(lo[a : a+4]))
		h := archsimd.LoadFloat64x4((*[4]float64)(hi[a : a+4]))
		below, above := l.Sub(x), x.Sub(h)
		g := below.Max(above).Max(zero)
		sn = sn.Add(g.Mul(g))
		if wantFar {
			f := x.Sub(l).Max(h.Sub(x))
			sf = sf.Add(f.Mul(f))
		}
	}
	var vn, vf [4]float64
	sn.Store(&vn)
	sf.Store(&vf)
	archsimd.ClearAVXUpperBits()
	near = (vn[0] + vn[1]) + (vn[2] + vn[3])
	far = (vf[0] + vf[1]) + (vf[2] + vf[3])
	if a < dim {
		tn, tf := kdBoxSumsScalar(lo[a:], hi[a:], q[a:], wantFar)
		near += tn
		far += tf
	}
	return near, far
}
