//go:build !goexperiment.simd || !amd64

package core

// rowSquares sets sq[k] to sqEuclidean(q, row k of rows) (rows of dim
// coordinates, one after another) for each row. This build has no vector
// kernel.
func rowSquares[T Float](rows []T, dim int, q []T, sq []float64) {
	rowSquaresScalar(rows, dim, q, sq)
}
