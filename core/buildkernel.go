package core

// rowSquaresScalar is rowSquares without vectors.
func rowSquaresScalar[T Float](rows []T, dim int, q []T, sq []float64, far2 float64) uint64 {
	var open uint64
	for k := range len(rows) / dim {
		o := k * dim
		s := sqEuclidean(q, rows[o:o+dim:o+dim])
		sq[k] = s
		if !settledBeyond(s, far2) {
			open |= 1 << k
		}
	}
	return open
}

// settledBeyond reports whether a sum of squares s settles its point as
// farther than sqrt(far2) without its square root: s is exact (see
// exactSquare) and above far2.
func settledBeyond(s, far2 float64) bool { return exactSquare(s) && s > far2 }

// quantSquareScalar is one row of quantSquares4 without a vector kernel:
// the single-precision differences and squares, summed in one lane.
func quantSquareScalar(u []int8, scale float32, q []float32) float64 {
	u = u[:len(q)]
	var s float32
	for j, v := range q {
		d := float32(quantStep(scale, u[j]) - v)
		s += float32(d * d)
	}
	return float64(s)
}
