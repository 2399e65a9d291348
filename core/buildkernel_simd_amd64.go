//go:build goexperiment.simd

package core

import (
	"simd/archsimd"
	"unsafe"
)

// rowSquares sets sq[k] to sqEuclidean(q, row k of rows) (rows of dim
// coordinates, one after another, at most 64), with sqEuclidean's bits, for
// each row, and returns the rows that far2 does not settle (see
// settledBeyond) as bits, row k as bit k; sq must have room for the rows
// rounded up to a multiple of 4.
// Each run of four coordinates of a row is one vector whose lanes are
// sqEuclidean's four partial sums (multiplies and adds unfused), the last
// dim%4 coordinates go into the first lane one after another, and the
// lanes of four rows are added pairwise as sqEuclidean adds them, all in
// vector registers; the four squares are compared with far2 there too.
// Without AVX2, or under four coordinates, it runs the scalar loop.
//
// The kernels address a group's four rows by byte offsets from the rows'
// start, bounded once on entry (n whole rows, q's dim coordinates, sq's
// room), so that the loop checks no bounds and builds no slices: 16-D
// rows 3.0 -> 2.5-2.6 ns, 10-D 3.2 -> 3.0 (BenchmarkRowSquares, float64,
// alternated three times on the 2-core development machine). Slicing each
// row from one offset and cutting it to the query's length had taken them
// from 3.7 and 3.8 ns. Two rows to a 512-bit vector measured no faster
// (3.0 ns a 16-D row) and is not kept; nor single-precision sums with
// fused multiply-adds, eight lanes (2.2 ns a 16-D row against 2.9 in the
// same run, but without the sums' fixed bits every row found within reach
// would be measured again).
func rowSquares[T Float](rows []T, dim int, q []T, sq []float64, far2 float64) uint64 {
	if !vectorized() || dim < 4 {
		return rowSquaresScalar(rows, dim, q, sq, far2)
	}
	var open uint64
	switch r := any(rows).(type) {
	case []float64:
		open = rowSquares64(r, dim, any(q).([]float64), sq, far2)
	case []float32:
		open = rowSquares32(r, dim, any(q).([]float32), sq, far2)
	}
	// The scalar code that follows would otherwise pay for the vector
	// registers' upper halves left set.
	archsimd.ClearAVXUpperBits()
	return open
}

// openQuad returns, as 4 bits, which of the squares v settledBeyond does
// not settle against far2.
func openQuad(v, far2, lo, hi archsimd.Float64x4) uint64 {
	settled := v.Greater(far2).And(v.GreaterEqual(lo)).And(v.LessEqual(hi))
	return uint64(^settled.ToBits() & 0xf)
}

// rowQuad returns rows j to j+3 of n, the last repeated where fewer than
// four are left.
func rowQuad(n, j int) (a, b, c, d int) {
	return j, min(j+1, n-1), min(j+2, n-1), min(j+3, n-1)
}

// sumLanes returns the four rows' sums ((s0+s1)+(s2+s3)) of their lanes.
func sumLanes(a, b, c, d archsimd.Float64x4) archsimd.Float64x4 {
	h1, h2 := a.AddPairsGrouped(b), c.AddPairsGrouped(d) // [a01 b01 a23 b23], [c01 d01 c23 d23]
	return h1.Select128FromPair(0, 2, h2).Add(h1.Select128FromPair(1, 3, h2))
}

func rowSquares64(rows []float64, dim int, q []float64, sq []float64, far2 float64) uint64 {
	n := len(rows) / dim
	if n == 0 {
		return 0
	}
	q, sq = q[:dim:dim], sq[:(n+3)&^3]
	lane0 := archsimd.LoadInt64x4(&[4]int64{-1, 0, 0, 0}).ToMask() // the first lane
	f2 := archsimd.BroadcastFloat64x4(far2)
	lo, hi := archsimd.BroadcastFloat64x4(exactLo), archsimd.BroadcastFloat64x4(exactHi)
	// Rows n*dim and q's dim coordinates lie within their slices, so every
	// offset below does: a row starts at a multiple of rb under n*rb and
	// reads fewer than rb bytes.
	base, qp := unsafe.Pointer(unsafe.SliceData(rows)), unsafe.Pointer(unsafe.SliceData(q))
	rb, c4 := uintptr(dim)*8, uintptr(dim&^3)*8
	var open uint64
	for j := 0; j < n; j += 4 {
		pa, pb, pc, pd := quadRows(base, n, j, rb)
		var sa, sb, sc, sd archsimd.Float64x4
		for o := uintptr(0); o < c4; o += 32 {
			y := load64(qp, o)
			da := load64(pa, o).Sub(y)
			db := load64(pb, o).Sub(y)
			dc := load64(pc, o).Sub(y)
			dd := load64(pd, o).Sub(y)
			sa = sa.Add(da.Mul(da))
			sb = sb.Add(db.Mul(db))
			sc = sc.Add(dc.Mul(dc))
			sd = sd.Add(dd.Mul(dd))
		}
		for o := c4; o < rb; o += 8 {
			y := archsimd.BroadcastFloat64x4(*(*float64)(unsafe.Add(qp, o)))
			da := archsimd.BroadcastFloat64x4(*(*float64)(unsafe.Add(pa, o))).Sub(y)
			db := archsimd.BroadcastFloat64x4(*(*float64)(unsafe.Add(pb, o))).Sub(y)
			dc := archsimd.BroadcastFloat64x4(*(*float64)(unsafe.Add(pc, o))).Sub(y)
			dd := archsimd.BroadcastFloat64x4(*(*float64)(unsafe.Add(pd, o))).Sub(y)
			sa = sa.Add(da.Mul(da).Masked(lane0))
			sb = sb.Add(db.Mul(db).Masked(lane0))
			sc = sc.Add(dc.Mul(dc).Masked(lane0))
			sd = sd.Add(dd.Mul(dd).Masked(lane0))
		}
		v := sumLanes(sa, sb, sc, sd)
		v.Store((*[4]float64)(sq[j : j+4]))
		open |= openQuad(v, f2, lo, hi) << j
	}
	return open & (1<<n - 1)
}

func rowSquares32(rows []float32, dim int, q []float32, sq []float64, far2 float64) uint64 {
	n := len(rows) / dim
	if n == 0 {
		return 0
	}
	q, sq = q[:dim:dim], sq[:(n+3)&^3]
	lane0 := archsimd.LoadInt64x4(&[4]int64{-1, 0, 0, 0}).ToMask() // the first lane
	f2 := archsimd.BroadcastFloat64x4(far2)
	lo, hi := archsimd.BroadcastFloat64x4(exactLo), archsimd.BroadcastFloat64x4(exactHi)
	// The offsets stay within the slices as in rowSquares64.
	base, qp := unsafe.Pointer(unsafe.SliceData(rows)), unsafe.Pointer(unsafe.SliceData(q))
	rb, c4 := uintptr(dim)*4, uintptr(dim&^3)*4
	var open uint64
	for j := 0; j < n; j += 4 {
		pa, pb, pc, pd := quadRows(base, n, j, rb)
		var sa, sb, sc, sd archsimd.Float64x4
		for o := uintptr(0); o < c4; o += 16 {
			y := load32(qp, o)
			da := load32(pa, o).Sub(y)
			db := load32(pb, o).Sub(y)
			dc := load32(pc, o).Sub(y)
			dd := load32(pd, o).Sub(y)
			sa = sa.Add(da.Mul(da))
			sb = sb.Add(db.Mul(db))
			sc = sc.Add(dc.Mul(dc))
			sd = sd.Add(dd.Mul(dd))
		}
		for o := c4; o < rb; o += 4 {
			y := archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(qp, o))).ConvertToFloat64()
			da := archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(pa, o))).ConvertToFloat64().Sub(y)
			db := archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(pb, o))).ConvertToFloat64().Sub(y)
			dc := archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(pc, o))).ConvertToFloat64().Sub(y)
			dd := archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(pd, o))).ConvertToFloat64().Sub(y)
			sa = sa.Add(da.Mul(da).Masked(lane0))
			sb = sb.Add(db.Mul(db).Masked(lane0))
			sc = sc.Add(dc.Mul(dc).Masked(lane0))
			sd = sd.Add(dd.Mul(dd).Masked(lane0))
		}
		v := sumLanes(sa, sb, sc, sd)
		v.Store((*[4]float64)(sq[j : j+4]))
		open |= openQuad(v, f2, lo, hi) << j
	}
	return open & (1<<n - 1)
}

// quadRows returns the addresses of rows j to j+3 of n rows of rb bytes
// from base, the last repeated where fewer than four are left.
func quadRows(base unsafe.Pointer, n, j int, rb uintptr) (a, b, c, d unsafe.Pointer) {
	if j+4 <= n {
		a = unsafe.Add(base, uintptr(j)*rb)
		return a, unsafe.Add(a, rb), unsafe.Add(a, 2*rb), unsafe.Add(a, 3*rb)
	}
	ia, ib, ic, id := rowQuad(n, j)
	return unsafe.Add(base, uintptr(ia)*rb), unsafe.Add(base, uintptr(ib)*rb), unsafe.Add(base, uintptr(ic)*rb), unsafe.Add(base, uintptr(id)*rb)
}

// load64 loads the four float64 at byte offset o from p.
func load64(p unsafe.Pointer, o uintptr) archsimd.Float64x4 {
	return archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(p, o)))
}

// load32 loads the four float32 at byte offset o from p, widened.
func load32(p unsafe.Pointer, o uintptr) archsimd.Float64x4 {
	return archsimd.LoadFloat32x4((*[4]float32)(unsafe.Add(p, o))).ConvertToFloat64()
}

// vecSquare returns sqEuclidean(q, row) with its bits, by the vector
// kernel: the same four partial sums, added as sqEuclidean adds them.
func vecSquare[T Float](row []T, q []T) float64 {
	dim := len(q)
	if !vectorized() || dim < 4 {
		return sqEuclidean(q, row)
	}
	var s float64
	switch r := any(row).(type) {
	case []float64:
		s = vecSquare64(r, any(q).([]float64))
	case []float32:
		s = vecSquare32(r, any(q).([]float32))
	}
	archsimd.ClearAVXUpperBits()
	return s
}

// quantSquares4 sets out[t] to the sum of the squares of
// fl(scale[t]*u[t][j]) - q_j in single precision for four rows at once
// (see buildProj.quantSettles): with AVX-512, sixteen lanes a row, each
// summed in order and the lanes added in double precision, the rows'
// loads in flight together; otherwise the scalar loop, one lane a row.
func quantSquares4(u [4][]int8, scale [4]float32, q []float32, out *[4]float64) {
	if !vectorized() || !wide() || len(q) < 16 {
		for t := range 4 {
			out[t] = quantSquareScalar(u[t], scale[t], q)
		}
		return
	}
	quantSquares4x512(u, scale, q, out)
	archsimd.ClearAVXUpperBits()
}

func quantSquares4x512(u [4][]int8, scale [4]float32, q []float32, out *[4]float64) {
	n := len(q)
	u0, u1, u2, u3 := u[0][:n], u[1][:n], u[2][:n], u[3][:n]
	s0, s1 := archsimd.BroadcastFloat32x16(scale[0]), archsimd.BroadcastFloat32x16(scale[1])
	s2, s3 := archsimd.BroadcastFloat32x16(scale[2]), archsimd.BroadcastFloat32x16(scale[3])
	var a0, a1, a2, a3 archsimd.Float32x16
	k := 0
	for ; k+16 <= n; k += 16 {
		y := archsimd.LoadFloat32x16((*[16]float32)(q[k : k+16]))
		d0 := archsimd.LoadInt8x16((*[16]int8)(u0[k : k+16])).ExtendToInt32().ConvertToFloat32().Mul(s0).Sub(y)
		d1 := archsimd.LoadInt8x16((*[16]int8)(u1[k : k+16])).ExtendToInt32().ConvertToFloat32().Mul(s1).Sub(y)
		d2 := archsimd.LoadInt8x16((*[16]int8)(u2[k : k+16])).ExtendToInt32().ConvertToFloat32().Mul(s2).Sub(y)
		d3 := archsimd.LoadInt8x16((*[16]int8)(u3[k : k+16])).ExtendToInt32().ConvertToFloat32().Mul(s3).Sub(y)
		a0 = a0.Add(d0.Mul(d0))
		a1 = a1.Add(d1.Mul(d1))
		a2 = a2.Add(d2.Mul(d2))
		a3 = a3.Add(d3.Mul(d3))
	}
	var lanes [4][16]float32
	a0.Store(&lanes[0])
	a1.Store(&lanes[1])
	a2.Store(&lanes[2])
	a3.Store(&lanes[3])
	for t := range 4 {
		var tail float32
		for j := k; j < n; j++ {
			d := float32(quantStep(scale[t], u[t][j]) - q[j])
			tail += float32(d * d)
		}
		s := float64(tail)
		for _, v := range lanes[t] {
			s += float64(v)
		}
		out[t] = s
	}
}

// vecSquares4 sets out[t] to vecSquare(rows[t], q) for four rows at once
// (their loads in flight together), with vecSquare's bits.
func vecSquares4[T Float](rows [4][]T, q []T, out *[4]float64) {
	if !vectorized() || len(q) < 4 {
		for t := range 4 {
			out[t] = sqEuclidean(q, rows[t])
		}
		return
	}
	switch r := any(rows).(type) {
	case [4][]float64:
		vecSquares4x64(r, any(q).([]float64), out)
	case [4][]float32:
		vecSquares4x32(r, any(q).([]float32), out)
	}
	archsimd.ClearAVXUpperBits()
}

func vecSquares4x64(rows [4][]float64, q []float64, out *[4]float64) {
	dim := len(q)
	r0, r1, r2, r3 := rows[0][:dim], rows[1][:dim], rows[2][:dim], rows[3][:dim]
	c4 := dim &^ 3
	var a0, a1, a2, a3 archsimd.Float64x4
	for k := 0; k+4 <= c4; k += 4 {
		y := archsimd.LoadFloat64x4((*[4]float64)(q[k : k+4]))
		d0 := archsimd.LoadFloat64x4((*[4]float64)(r0[k : k+4])).Sub(y)
		d1 := archsimd.LoadFloat64x4((*[4]float64)(r1[k : k+4])).Sub(y)
		d2 := archsimd.LoadFloat64x4((*[4]float64)(r2[k : k+4])).Sub(y)
		d3 := archsimd.LoadFloat64x4((*[4]float64)(r3[k : k+4])).Sub(y)
		a0 = a0.Add(d0.Mul(d0))
		a1 = a1.Add(d1.Mul(d1))
		a2 = a2.Add(d2.Mul(d2))
		a3 = a3.Add(d3.Mul(d3))
	}
	var s [4][4]float64
	a0.Store(&s[0])
	a1.Store(&s[1])
	a2.Store(&s[2])
	a3.Store(&s[3])
	for t := range 4 {
		for k := c4; k < dim; k++ {
			d := rows[t][k] - q[k]
			s[t][0] += d * d
		}
		out[t] = (s[t][0] + s[t][1]) + (s[t][2] + s[t][3])
	}
}

func vecSquares4x32(rows [4][]float32, q []float32, out *[4]float64) {
	dim := len(q)
	r0, r1, r2, r3 := rows[0][:dim], rows[1][:dim], rows[2][:dim], rows[3][:dim]
	c4 := dim &^ 3
	var a0, a1, a2, a3 archsimd.Float64x4
	for k := 0; k+4 <= c4; k += 4 {
		y := archsimd.LoadFloat32x4((*[4]float32)(q[k : k+4])).ConvertToFloat64()
		d0 := archsimd.LoadFloat32x4((*[4]float32)(r0[k : k+4])).ConvertToFloat64().Sub(y)
		d1 := archsimd.LoadFloat32x4((*[4]float32)(r1[k : k+4])).ConvertToFloat64().Sub(y)
		d2 := archsimd.LoadFloat32x4((*[4]float32)(r2[k : k+4])).ConvertToFloat64().Sub(y)
		d3 := archsimd.LoadFloat32x4((*[4]float32)(r3[k : k+4])).ConvertToFloat64().Sub(y)
		a0 = a0.Add(d0.Mul(d0))
		a1 = a1.Add(d1.Mul(d1))
		a2 = a2.Add(d2.Mul(d2))
		a3 = a3.Add(d3.Mul(d3))
	}
	var s [4][4]float64
	a0.Store(&s[0])
	a1.Store(&s[1])
	a2.Store(&s[2])
	a3.Store(&s[3])
	for t := range 4 {
		for k := c4; k < dim; k++ {
			d := float64(rows[t][k]) - float64(q[k])
			s[t][0] += d * d
		}
		out[t] = (s[t][0] + s[t][1]) + (s[t][2] + s[t][3])
	}
}

func vecSquare64(row, q []float64) float64 {
	dim := len(q)
	row = row[:dim]
	c4 := dim &^ 3
	var acc archsimd.Float64x4
	for k := 0; k < c4; k += 4 {
		d := archsimd.LoadFloat64x4((*[4]float64)(row[k : k+4])).Sub(archsimd.LoadFloat64x4((*[4]float64)(q[k : k+4])))
		acc = acc.Add(d.Mul(d))
	}
	var s [4]float64
	acc.Store(&s)
	for k := c4; k < dim; k++ {
		d := row[k] - q[k]
		s[0] += d * d
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

func vecSquare32(row, q []float32) float64 {
	dim := len(q)
	row = row[:dim]
	c4 := dim &^ 3
	var acc archsimd.Float64x4
	for k := 0; k < c4; k += 4 {
		d := archsimd.LoadFloat32x4((*[4]float32)(row[k : k+4])).ConvertToFloat64().Sub(archsimd.LoadFloat32x4((*[4]float32)(q[k : k+4])).ConvertToFloat64())
		acc = acc.Add(d.Mul(d))
	}
	var s [4]float64
	acc.Store(&s)
	for k := c4; k < dim; k++ {
		d := float64(row[k]) - float64(q[k])
		s[0] += d * d
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}
