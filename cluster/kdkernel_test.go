package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// kdKernelRows returns n rows of dim values: continuous, small integers
// (whose sums tie exactly), or spread over many binades.
func kdKernelRows(r *rand.Rand, kind string, n, dim int) []float64 {
	x := make([]float64, n*dim)
	for i := range x {
		switch kind {
		case "continuous":
			x[i] = r.NormFloat64()
		case "integers":
			x[i] = float64(r.IntN(16))
		case "spread":
			x[i] = math.Ldexp(r.Float64()-0.5, r.IntN(60)-30)
		}
	}
	return x
}

// TestKDSquares checks the leaf kernel (the vector one where the build and
// the CPU run it) against sqDist bit for bit, for every width of a leaf
// and dimensions on both sides of the kernel's blocks.
func TestKDSquares(t *testing.T) {
	for _, kind := range []string{"continuous", "integers", "spread"} {
		for _, dim := range []int{1, 3, 4, 7, 16, 17, 64} {
			r := rand.New(rand.NewPCG(61, uint64(dim)))
			for m := 1; m <= kdLeaf; m++ {
				x := kdKernelRows(r, kind, m+1, dim)
				q, rows := x[:dim], x[dim:]
				w := kdLaneWidth(m)
				block := make([]float64, dim*w)
				for j := range m {
					for a := range dim {
						block[a*w+j] = rows[j*dim+a]
					}
				}
				for _, kernel := range []struct {
					name string
					fn   func(block []float64, w int, q []float64, out []float64)
				}{{"kdSquares", kdSquares}, {"kdSquaresScalar", kdSquaresScalar}} {
					out := make([]float64, w)
					for j := range out {
						out[j] = math.NaN() // the kernel must set every lane
					}
					kernel.fn(block, w, q, out)
					for j := range m {
						if want := sqDist(q, rows[j*dim:(j+1)*dim]); math.Float64bits(out[j]) != math.Float64bits(want) {
							t.Fatalf("%s/%dd/%d points: %s lane %d = %v, sqDist %v", kind, dim, m, kernel.name, j, out[j], want)
						}
					}
					for j := m; j < w; j++ {
						if math.IsNaN(out[j]) {
							t.Fatalf("%s/%dd/%d points: %s left padding lane %d unset", kind, dim, m, kernel.name, j)
						}
					}
				}
			}
		}
	}
}

// kdNearScalar is dbscanKD.near without the vector sums: the column-order
// decision the vector path must reproduce.
func kdNearScalar(t *dbscanKD, q []float64, k int32, e2 float64, tryIn bool) (out, in bool) {
	d := t.dim
	o := int(k) * 2 * d
	sn, sf := kdBoxSumsScalar(t.box[o:o+d], t.box[o+d:o+2*d], q, true)
	if sn > e2 {
		return true, false
	}
	return false, tryIn && sf <= e2
}

// TestKDNear checks the test of a point against a box (vector sums with a
// margin, the column-order sums near the threshold) against the
// column-order decision, at thresholds chosen to tie the column-order
// sums exactly and one unit of rounding to either side.
func TestKDNear(t *testing.T) {
	for _, kind := range []string{"continuous", "integers", "spread"} {
		for _, dim := range []int{4, 8, 11, 16, 33} {
			t.Run(fmt.Sprintf("%s/%dd", kind, dim), func(t *testing.T) {
				r := rand.New(rand.NewPCG(67, uint64(dim)))
				n := 400
				x := kdKernelRows(r, kind, n, dim)
				tree := newDBSCANKD(x, dim, kdLeaf, Options{Jobs: 1})
				tree.setLanes()
				tree.vec = kdVector()
				if !tree.vec {
					t.Log("the vector sums do not run in this build: the scalar path is checked")
				}
				queries := kdKernelRows(r, kind, 50, dim)
				nodes := int32(len(tree.start))
				for qi := range 50 {
					q := queries[qi*dim : (qi+1)*dim]
					for k := range nodes {
						d := dim
						o := int(k) * 2 * d
						sn, sf := kdBoxSumsScalar(tree.box[o:o+d], tree.box[o+d:o+2*d], q, true)
						for _, base := range []float64{sn, sf} {
							if base == 0 {
								continue
							}
							for _, e2 := range []float64{math.Nextafter(base, 0), base, math.Nextafter(base, math.Inf(1))} {
								for _, tryIn := range []bool{false, true} {
									gotOut, gotIn := tree.near(q, k, e2, tryIn)
									wantOut, wantIn := kdNearScalar(tree, q, k, e2, tryIn)
									if gotOut != wantOut || gotIn != wantIn {
										t.Fatalf("query %d, node %d, e2 %v (tryIn %v): near = %v, %v; column order %v, %v", qi, k, e2, tryIn, gotOut, gotIn, wantOut, wantIn)
									}
								}
							}
						}
					}
				}
			})
		}
	}
}

// TestDBSCANPointsKDLetter checks DBSCAN on the first 5,000 rows of the
// letter set (16 integer features: many ties at eps and duplicates)
// against brute force with scikit-learn's test of a pair, in float64 and
// float32, at the benchmark's eps and min_samples and at a tie.
func TestDBSCANPointsKDLetter(t *testing.T) {
	x, dim := realSets[0].load(t)
	x = x[:5000*dim]
	n := len(x) / dim
	x32 := convert[float32](x)
	for _, eps := range []float64{3, math.Sqrt(10)} {
		within, _ := kdSqWithin(x, dim, eps)
		for _, ms := range []int{5, 12} {
			labels, isCore := kdBruteDBSCAN(n, within, nil, ms)
			for _, jobs := range []int{1, 2} {
				got, err := DBSCANPoints(x, dim, core.Metric{}, eps, ms, nil, Options{Jobs: jobs})
				if err != nil {
					t.Fatal(err)
				}
				got32, err := DBSCANPoints(x32, dim, core.Metric{}, eps, ms, nil, Options{Jobs: jobs})
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range []DBSCANResult{got, got32} {
					if !slices.Equal(g.Core, isCore) || !slices.Equal(g.Labels, labels) {
						t.Fatalf("eps %v, min_samples %d, %d jobs: labels differ from brute force", eps, ms, jobs)
					}
				}
			}
		}
	}
}
