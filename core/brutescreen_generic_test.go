//go:build !goexperiment.simd || !amd64

package core

// bruteScreenKernels returns the screen kernels this build can run: the
// plain Go one only.
func bruteScreenKernels() map[string]func(q []float32, nq, dim int, panels []float32, np int, out []float32) {
	return map[string]func(q []float32, nq, dim int, panels []float32, np int, out []float32){"scalar": panelDotsScalar}
}
