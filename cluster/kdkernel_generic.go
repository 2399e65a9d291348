//go:build !goexperiment.simd || !amd64

package cluster

// kdVector reports whether the CPU runs the vector kernels: not in this
// build (Go's SIMD experiment off, or not amd64).
func kdVector() bool { return false }

// kdSquares is kdSquaresScalar in this build.
func kdSquares(block []float64, w int, q []float64, out []float64) {
	kdSquaresScalar(block, w, q, out)
}

// kdBoxSums is kdBoxSumsScalar in this build.
func kdBoxSums(lo, hi, q []float64, wantFar bool) (near, far float64) {
	return kdBoxSumsScalar(lo, hi, q, wantFar)
}
