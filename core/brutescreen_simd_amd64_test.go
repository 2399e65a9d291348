//go:build goexperiment.simd

package core

// bruteScreenKernels returns the screen kernels this build can run on this
// CPU, by name: the vector ones as well as the plain Go one, whichever
// panelDots picks.
func bruteScreenKernels() map[string]func(q []float32, nq, dim int, panels []float32, np int, out []float32) {
	m := map[string]func(q []float32, nq, dim int, panels []float32, np int, out []float32){"scalar": panelDotsScalar}
	if vectorized() {
		m["avx2"] = panelDots256
	}
	if vectorized() && wide() {
		m["avx512"] = panelDots512
	}
	return m
}
