//go:build !goexperiment.simd || !amd64

package core

// lanesPay reports whether Euclidean layouts keep four-lane coordinates:
// not in a build without Go's SIMD package, where their scalar loop would
// be no faster than the rows'.
func lanesPay() bool { return false }

// quadSquares sets out[4(g-g0)+l] to the squared Euclidean distance from q
// to lane l of quad g of lanes, for g in [g0, g1), with sqEuclidean's bits.
// This build has no vector kernel.
func quadSquares[T Float](lanes []T, dim int, q []T, g0, g1 int, out []float64) {
	quadSquaresScalar(lanes, dim, q, g0, g1, out)
}
