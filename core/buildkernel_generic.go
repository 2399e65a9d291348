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
