//go:build !goexperiment.simd || !amd64

package core

// rowSquares sets sq[k] to sqEuclidean(q, row k of rows) (rows of dim
// coordinates, one after another, at most 64) for each row, and returns
// the rows that far2 does not settle (see settledBeyond) as bits, row k as
// bit k. This build has no vector kernel.
func rowSquares[T Float](rows []T, dim int, q []T, sq []float64, far2 float64) uint64 {
	return rowSquaresScalar(rows, dim, q, sq, far2)
}

// vecSquare returns sqEuclidean(q, row).
func vecSquare[T Float](row []T, q []T) float64 { return sqEuclidean(q, row) }

// quantSquares4 sets out[t] to the sum of the squares of
// fl(scale[t]*u[t][j]) - q_j in single precision for four rows (see
// buildProj.quantSettles). This build has no vector kernel.
func quantSquares4(u [4][]int8, scale [4]float32, q []float32, out *[4]float64) {
	for t := range 4 {
		out[t] = quantSquareScalar(u[t], scale[t], q)
	}
}

// vecSquares4 sets out[t] to vecSquare(rows[t], q) for four rows. This
// build has no vector kernel.
func vecSquares4[T Float](rows [4][]T, q []T, out *[4]float64) {
	for t := range 4 {
		out[t] = sqEuclidean(q, rows[t])
	}
}
