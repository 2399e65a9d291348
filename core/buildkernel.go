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
