package core

// Screening kernels of the brute-force index. For the Euclidean metric a
// BruteForce keeps, besides its rows, a float32 copy of them centred on a fixed
// point and packed in panels of panelWidth points: panel p holds, for each
// coordinate k, that coordinate of points p*panelWidth .. p*panelWidth+15,
// consecutively. A kernel multiplies a few queries by a panel at a time,
// broadcasting one query coordinate against panelWidth point coordinates,
// which is how vector units like it; the screen (see flatscreen.go) turns
// the dot products into approximate distances with a proven error bound,
// and only the candidates that bound cannot rule out are measured exactly.

// panelWidth is the number of points in a panel.
const panelWidth = 16

// quad is the number of queries a kernel call takes at once.
const quad = 4

// kBlock is the most coordinates a kernel sums in one pass over a panel,
// so that the panel's slice (kBlock * panelWidth float32) stays in the
// first-level cache while several queries read it.
const kBlock = 256

// panelDotsScalar is panelDots in plain Go.
func panelDotsScalar(q []float32, nq, dim int, panels []float32, np int, out []float32) {
	w := np * panelWidth
	for i := range nq {
		qi := q[i*dim : (i+1)*dim]
		o := out[i*w : (i+1)*w]
		for p := range np {
			panel := panels[p*dim*panelWidth : (p+1)*dim*panelWidth]
			var acc [panelWidth]float32
			for k, a := range qi {
				col := panel[k*panelWidth : (k+1)*panelWidth : (k+1)*panelWidth]
				for j := range acc {
					acc[j] += a * col[j]
				}
			}
			copy(o[p*panelWidth:], acc[:])
		}
	}
}
