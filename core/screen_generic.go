//go:build !goexperiment.simd || !amd64

package core

// panelDots sets out[i*w+j], w = np*panelWidth, to the dot product of query
// i (row i of q: nq rows of dim float32, nq a multiple of quad) with point j
// of the np panels. This build has no vector kernel: Go's SIMD package is
// used when the library is built with GOEXPERIMENT=simd on amd64.
func panelDots(q []float32, nq, dim int, panels []float32, np int, out []float32) {
	panelDotsScalar(q, nq, dim, panels, np, out)
}

// vectorized reports whether this CPU runs the vector kernel: never in
// this build.
func vectorized() bool { return false }

// wide reports whether this CPU runs the AVX-512 kernel: never in this
// build.
func wide() bool { return false }

// ScreenKernel names the kernel that screens Euclidean distances in a BruteForce
// on this CPU.
func ScreenKernel() string { return "scalar Go (built without GOEXPERIMENT=simd)" }
