//go:build goexperiment.simd

package core

import (
	"simd/archsimd"
	"unsafe"
)

// panelDots sets out[i*w+j], w = np*panelWidth, to the dot product of query
// i (row i of q: nq rows of dim float32, nq a multiple of quad) with point j
// of the np panels. With AVX2 and FMA it runs a vector kernel written with
// Go's experimental SIMD package: four queries times sixteen points in
// eight 8-lane accumulators, fused multiply-adds, coordinates in blocks of
// kBlock so that a panel's block stays in the first-level cache while every
// query reads it. (Measured on 60,000 x 784 float32 points, 64 queries, one
// core of the 2-core development machine: 34 to 40 GFLOP/s, against 26
// with separate multiplies and adds, 28 to 41 for the 2x32, 3x16 and 3x24
// shapes, 27 for 5x16, which spills registers, and 5 to 6 for gonum's
// Dgemm.) With AVX-512 it runs panelDots512, twice as fast.
func panelDots(q []float32, nq, dim int, panels []float32, np int, out []float32) {
	switch {
	case !vectorized():
		panelDotsScalar(q, nq, dim, panels, np, out)
	case wide():
		panelDots512(q, nq, dim, panels, np, out)
	default:
		panelDots256(q, nq, dim, panels, np, out)
	}
}

// panelDots256 is panelDots for CPUs with AVX2 and FMA (see panelDots).
func panelDots256(q []float32, nq, dim int, panels []float32, np int, out []float32) {
	w := np * panelWidth
	for k0 := 0; k0 < dim; k0 += kBlock {
		k1 := min(k0+kBlock, dim)
		first := k0 == 0
		for p := range np {
			pan := panels[(p*dim+k0)*panelWidth : (p*dim+k1)*panelWidth]
			for i := 0; i < nq; i += quad {
				q0 := q[i*dim+k0 : i*dim+k1]
				q1 := q[(i+1)*dim+k0 : (i+1)*dim+k1]
				q2 := q[(i+2)*dim+k0 : (i+2)*dim+k1]
				q3 := q[(i+3)*dim+k0 : (i+3)*dim+k1]
				var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
				for k := range q0 {
					col := pan[k*panelWidth : (k+1)*panelWidth : (k+1)*panelWidth]
					b0 := archsimd.LoadFloat32x8((*[8]float32)(col[:8]))
					b1 := archsimd.LoadFloat32x8((*[8]float32)(col[8:16]))
					c00 = archsimd.BroadcastFloat32x8(q0[k]).MulAdd(b0, c00)
					c01 = archsimd.BroadcastFloat32x8(q0[k]).MulAdd(b1, c01)
					c10 = archsimd.BroadcastFloat32x8(q1[k]).MulAdd(b0, c10)
					c11 = archsimd.BroadcastFloat32x8(q1[k]).MulAdd(b1, c11)
					c20 = archsimd.BroadcastFloat32x8(q2[k]).MulAdd(b0, c20)
					c21 = archsimd.BroadcastFloat32x8(q2[k]).MulAdd(b1, c21)
					c30 = archsimd.BroadcastFloat32x8(q3[k]).MulAdd(b0, c30)
					c31 = archsimd.BroadcastFloat32x8(q3[k]).MulAdd(b1, c31)
				}
				o := p*panelWidth + i*w
				put8(out[o:o+8], c00, first)
				put8(out[o+8:o+16], c01, first)
				o += w
				put8(out[o:o+8], c10, first)
				put8(out[o+8:o+16], c11, first)
				o += w
				put8(out[o:o+8], c20, first)
				put8(out[o+8:o+16], c21, first)
				o += w
				put8(out[o:o+8], c30, first)
				put8(out[o+8:o+16], c31, first)
			}
		}
	}
}

// panelDots512 is panelDots for CPUs with AVX-512: four queries times two
// panels (32 points) in eight 16-lane accumulators (dots4x32), a lone last
// panel in four (dots4x16). A 512-bit fused multiply-add does twice the
// work of a 256-bit one for the same instructions around it (the loads of
// the panels, the broadcasts of the queries' coordinates, the moves the
// compiler adds after each multiply-add, the loop), which bound the AVX2
// kernel. On 60,000 x 784 float32 points, k = 10, one thread of the
// 2-core development machine (an AMD EPYC with AVX-512, load average 3),
// a query took 1.2 to 1.3 ms instead of 2.8 to 3.2 with the AVX2 kernel
// (BenchmarkBruteKNearest784, runs interleaved; the AVX2 build also
// screened with the earlier, looser bound, whose extra exact distances,
// about 110 a query, cost a few per cent): about 75 GFLOP/s.
func panelDots512(q []float32, nq, dim int, panels []float32, np int, out []float32) {
	w := np * panelWidth
	stride := dim * panelWidth
	for k0 := 0; k0 < dim; k0 += kBlock {
		k1 := min(k0+kBlock, dim)
		first := k0 == 0
		for p := 0; p < np; p += 2 {
			pan0 := panels[p*stride+k0*panelWidth : p*stride+k1*panelWidth]
			pair := p+1 < np
			for i := 0; i < nq; i += quad {
				q0 := q[i*dim+k0 : i*dim+k1]
				q1 := q[(i+1)*dim+k0 : (i+1)*dim+k1]
				q2 := q[(i+2)*dim+k0 : (i+2)*dim+k1]
				q3 := q[(i+3)*dim+k0 : (i+3)*dim+k1]
				o := p*panelWidth + i*w
				if !pair {
					c0, c1, c2, c3 := dots4x16(q0, q1, q2, q3, pan0)
					put16(out[o:], c0, first)
					put16(out[o+w:], c1, first)
					put16(out[o+2*w:], c2, first)
					put16(out[o+3*w:], c3, first)
					continue
				}
				c00, c01, c10, c11, c20, c21, c30, c31 := dots4x32(q[i*dim+k0:], dim, panels[p*stride+k0*panelWidth:], stride, k1-k0)
				put16(out[o:], c00, first)
				put16(out[o+panelWidth:], c01, first)
				o += w
				put16(out[o:], c10, first)
				put16(out[o+panelWidth:], c11, first)
				o += w
				put16(out[o:], c20, first)
				put16(out[o+panelWidth:], c21, first)
				o += w
				put16(out[o:], c30, first)
				put16(out[o+panelWidth:], c31, first)
			}
		}
	}
}

// dots4x32 returns the dot products of four queries with two panels' 32
// points over n coordinates: query j's coordinates are q[j*qs : j*qs+n],
// the panels' are pan[:n*panelWidth] and pan[ps : ps+n*panelWidth]. It
// walks the rows by pointer: the compiler's bounds checks and index
// arithmetic cost as much as the multiply-adds in this loop. The slice's
// lengths are checked once.
//
// It is not inlined: inside panelDots512 the compiler ran short of
// registers and kept one accumulator on the stack, reloaded every
// coordinate, and that load's cost depended on where the goroutine's stack
// lay (a query took 2.5 times as long in one of two workers, from the
// float64 caller's frame sizes).
//
//go:noinline
func dots4x32(q []float32, qs int, pan []float32, ps, n int) (c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x16) {
	if n <= 0 {
		return
	}
	if qs < 0 || ps < 0 || len(q) < 3*qs+n || len(pan) < ps+n*panelWidth {
		panic("core: dots4x32: rows out of range")
	}
	// Offsets in bytes from the rows' starts, so that no pointer is
	// formed past the end of a slice.
	p, a := unsafe.Pointer(&pan[0]), unsafe.Pointer(&q[0])
	pb, qb := uintptr(ps)*4, uintptr(qs)*4
	for j := range uintptr(n) {
		po, qo := j*4*panelWidth, j*4
		b0 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, po)))
		b1 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, po+pb)))
		x := archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(a, qo)))
		c00 = x.MulAdd(b0, c00)
		c01 = x.MulAdd(b1, c01)
		x = archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(a, qo+qb)))
		c10 = x.MulAdd(b0, c10)
		c11 = x.MulAdd(b1, c11)
		x = archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(a, qo+2*qb)))
		c20 = x.MulAdd(b0, c20)
		c21 = x.MulAdd(b1, c21)
		x = archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(a, qo+3*qb)))
		c30 = x.MulAdd(b0, c30)
		c31 = x.MulAdd(b1, c31)
	}
	return
}

// dots4x16 returns the dot products of four queries' coordinates with a
// panel's 16 points over the same coordinates. Like dots4x32, it is not
// inlined.
//
//go:noinline
func dots4x16(q0, q1, q2, q3, pan []float32) (c0, c1, c2, c3 archsimd.Float32x16) {
	q1, q2, q3 = q1[:len(q0)], q2[:len(q0)], q3[:len(q0)]
	pan = pan[:len(q0)*panelWidth]
	for k := range q0 {
		b := archsimd.LoadFloat32x16((*[16]float32)(pan[k*panelWidth:]))
		c0 = archsimd.BroadcastFloat32x16(q0[k]).MulAdd(b, c0)
		c1 = archsimd.BroadcastFloat32x16(q1[k]).MulAdd(b, c1)
		c2 = archsimd.BroadcastFloat32x16(q2[k]).MulAdd(b, c2)
		c3 = archsimd.BroadcastFloat32x16(q3[k]).MulAdd(b, c3)
	}
	return c0, c1, c2, c3
}

// put16 stores v into o[:16], or adds it to what o holds unless first.
func put16(o []float32, v archsimd.Float32x16, first bool) {
	p := (*[16]float32)(o[:16])
	if !first {
		v = v.Add(archsimd.LoadFloat32x16(p))
	}
	v.Store(p)
}

// put8 stores v into o, or adds it to what o holds unless first.
func put8(o []float32, v archsimd.Float32x8, first bool) {
	p := (*[8]float32)(o[:8])
	if !first {
		v = v.Add(archsimd.LoadFloat32x8(p))
	}
	v.Store(p)
}

// vectorized reports whether this CPU runs the vector kernel.
func vectorized() bool { return archsimd.X86.AVX2() && archsimd.X86.FMA() }

// wide reports whether this CPU runs the AVX-512 kernel.
func wide() bool { return archsimd.X86.AVX512() }

// ScreenKernel names the kernel that screens Euclidean distances in a BruteForce
// on this CPU.
func ScreenKernel() string {
	if vectorized() && wide() {
		return "AVX-512 (Go SIMD package)"
	}
	if vectorized() {
		return "AVX2+FMA (Go SIMD package)"
	}
	return "scalar Go (this CPU lacks AVX2 or FMA)"
}
