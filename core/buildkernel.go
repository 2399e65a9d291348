package core

// rowSquaresScalar is rowSquares without vectors.
func rowSquaresScalar[T Float](rows []T, dim int, q []T, sq []float64) {
	for k := range len(rows) / dim {
		o := k * dim
		sq[k] = sqEuclidean(q, rows[o:o+dim:o+dim])
	}
}
