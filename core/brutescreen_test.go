package core

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// bruteScreenPanels packs n rows of dim float32 coordinates into panels as
// BruteForce.pack does (the last panel padded with zeros).
func bruteScreenPanels(rows []float32, n, dim int) (panels []float32, np int) {
	np = (n + panelWidth - 1) / panelWidth
	panels = make([]float32, np*dim*panelWidth)
	for j := range n {
		p, lane := j/panelWidth, j%panelWidth
		for k := range dim {
			panels[(p*dim+k)*panelWidth+lane] = rows[j*dim+k]
		}
	}
	return panels, np
}

// TestBruteScreenKernel checks the screen's dot products, from every kernel
// this build can run on this CPU (AVX-512, AVX2, plain Go) and from the one
// panelDots picks, against the bound the
// screen's threshold relies on: |dot - q'.x'| <= gamma(d+2) |q'||x'| plus
// (d+2) 2^-150 for values below float32's normal range. It covers
// dimensions on both sides of the kernel's coordinate blocks, odd and even
// numbers of panels (the AVX-512 kernel takes them in pairs), rows that
// fill a last panel partly, and coordinates of mixed magnitudes whose
// products cancel.
func TestBruteScreenKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	type kernel struct {
		name string
		f    func(q []float32, nq, dim int, panels []float32, np int, out []float32)
	}
	kernels := []kernel{{"built", panelDots}}
	avail := bruteScreenKernels()
	for _, name := range slices.Sorted(maps.Keys(avail)) {
		kernels = append(kernels, kernel{name, avail[name]})
	}
	t.Logf("kernels: %v; panelDots runs %s", slices.Sorted(maps.Keys(avail)), ScreenKernel())
	for _, dim := range []int{1, 3, 16, 17, 255, 256, 257, 784} {
		for _, n := range []int{5, 16, 33, 64, 100} {
			for _, nq := range []int{4, 12} {
				for _, scale := range []string{"unit", "mixed", "tiny"} {
					gen := func() float32 {
						switch scale {
						case "mixed":
							return float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(7)-3)))
						case "tiny":
							return float32(rng.NormFloat64() * 1e-42)
						}
						return float32(rng.Float64()*2 - 1)
					}
					q := make([]float32, nq*dim)
					x := make([]float32, n*dim)
					for i := range q {
						q[i] = gen()
					}
					for i := range x {
						x[i] = gen()
					}
					panels, np := bruteScreenPanels(x, n, dim)
					w := np * panelWidth
					for _, kern := range kernels {
						out := make([]float32, nq*w)
						kern.f(q, nq, dim, panels, np, out)
						for i := range nq {
							for j := range n {
								var exact, qn, xn float64
								for k := range dim {
									a, b := float64(q[i*dim+k]), float64(x[j*dim+k])
									exact += a * b
									qn += a * a
									xn += b * b
								}
								bound := gamma(dim+2, 0x1p-24)*math.Sqrt(qn)*math.Sqrt(xn)*(1+1e-12) + float64(dim+2)*0x1p-150
								if err := math.Abs(float64(out[i*w+j]) - exact); err > bound {
									t.Fatalf("%s kernel, dim %d, %d points, %s: query %d point %d: dot %v, exact %v, error %g over the bound %g",
										kern.name, dim, n, scale, i, j, out[i*w+j], exact, err, bound)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestBruteScreenPrunes checks that the screen's threshold is tight enough
// to leave few points to measure exactly where distances concentrate: on
// uniform points in 784 dimensions, where the earlier bound (taken through
// the square root) let about 5% of the points through, a k = 10 query now
// measures at most 3k of them beside its screen. It also checks the
// answers against a plain scan.
func TestBruteScreenPrunes(t *testing.T) {
	const n, dim, nq, k = 2000, 784, 24, 10
	rng := rand.New(rand.NewPCG(9, 9))
	for _, name := range []string{"float32", "float64"} {
		t.Run(name, func(t *testing.T) {
			data := make([]float64, n*dim)
			for i := range data {
				data[i] = rng.Float64()
			}
			queries := make([]float64, nq*dim)
			for i := range queries {
				queries[i] = rng.Float64()
			}
			var exact float64
			var err error
			if name == "float32" {
				exact, err = bruteScreenMeasured(bruteScreenCast[float32](data), bruteScreenCast[float32](queries), dim, k)
			} else {
				exact, err = bruteScreenMeasured(data, queries, dim, k)
			}
			if err != nil {
				t.Fatal(err)
			}
			if exact > 3*k {
				t.Errorf("%.1f points a query measured exactly beside the screen, want at most %d", exact, 3*k)
			}
		})
	}
}

func bruteScreenCast[T Float](v []float64) []T {
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}

// bruteScreenMeasured answers k-nearest queries on a BruteForce over data,
// checks them against a plain scan with the tree's kernel (ties by index)
// and returns the points a query measured exactly beside its screen.
func bruteScreenMeasured[T Float](data, queries []T, dim, k int) (float64, error) {
	f, err := BuildBruteForce(data, dim, Options{Jobs: 2})
	if err != nil {
		return 0, err
	}
	n, nq := len(data)/dim, len(queries)/dim
	dist, idx := make([]T, nq*k), make([]int64, nq*k)
	if err := f.KNearestBatch(Batch[T]{Points: queries, Jobs: 2}, k, dist, idx); err != nil {
		return 0, err
	}
	kern := fastKernel[T](Metric{}, dim)
	for i := range nq {
		q := queries[i*dim : (i+1)*dim]
		type pair struct {
			d  float64
			id int
		}
		best := make([]pair, 0, n)
		for j := range n {
			best = append(best, pair{kern(q, data[j*dim:(j+1)*dim]), j})
		}
		for a := range k { // a partial selection sort: the k best by (distance, index)
			m := a
			for b := a + 1; b < n; b++ {
				if best[b].d < best[m].d || best[b].d == best[m].d && best[b].id < best[m].id {
					m = b
				}
			}
			best[a], best[m] = best[m], best[a]
			if got, want := idx[i*k+a], int64(best[a].id); got != want || dist[i*k+a] != T(best[a].d) {
				return 0, fmt.Errorf("query %d rank %d: (%d, %v), want (%d, %v)", i, a, got, dist[i*k+a], want, T(best[a].d))
			}
		}
	}
	_, evals := f.DistanceEvals()
	return float64(evals)/float64(nq) - float64(n), nil
}

// BenchmarkBruteScreenKernel measures the screen's kernel on 64 queries
// against a chunk of 1,024 points in 784 dimensions (Fashion-MNIST's),
// and reports its rate in GFLOP/s.
func BenchmarkBruteScreenKernel(b *testing.B) {
	const nq, n, dim = 64, bruteRows, 784
	rng := rand.New(rand.NewPCG(1, 2))
	q := make([]float32, nq*dim)
	x := make([]float32, n*dim)
	for i := range q {
		q[i] = rng.Float32()
	}
	for i := range x {
		x[i] = rng.Float32()
	}
	panels, np := bruteScreenPanels(x, n, dim)
	out := make([]float32, nq*np*panelWidth)
	b.Log(ScreenKernel())
	for b.Loop() {
		panelDots(q, nq, dim, panels, np, out)
	}
	b.ReportMetric(2*nq*n*dim*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkBruteKNearest784 measures k = 10 queries of a BruteForce over
// 60,000 uniform points in 784 dimensions (Fashion-MNIST's shape), float32,
// 256 queries a batch, and reports the time a query.
func BenchmarkBruteKNearest784(b *testing.B) {
	const n, dim, nq, k = 60000, 784, 256, 10
	rng := rand.New(rand.NewPCG(4, 4))
	data := make([]float32, n*dim)
	for i := range data {
		data[i] = rng.Float32()
	}
	queries := make([]float32, nq*dim)
	for i := range queries {
		queries[i] = rng.Float32()
	}
	f, err := BuildBruteForce(data, dim, Options{})
	if err != nil {
		b.Fatal(err)
	}
	dist, idx := make([]float32, nq*k), make([]int64, nq*k)
	for b.Loop() {
		if err := f.KNearestBatch(Batch[float32]{Points: queries}, k, dist, idx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N*nq)*1e6, "us/query")
}

// TestBruteBlockFor checks the brute-force batches' block sizes: whole
// blocks of bruteBlock where the batch is large, else blocks of a
// multiple of quad, at least two a worker.
func TestBruteBlockFor(t *testing.T) {
	cases := []struct{ nq, jobs, want int }{
		{1, 1, quad}, {3, 1, quad}, {20, 1, 12}, {128, 1, bruteBlock}, {180, 1, bruteBlock}, {100000, 1, bruteBlock},
	}
	if runtime.GOMAXPROCS(0) >= 2 {
		cases = append(cases, struct{ nq, jobs, want int }{180, 2, 48}, struct{ nq, jobs, want int }{256, 2, bruteBlock})
	}
	for _, c := range cases {
		if got := bruteBlockFor(c.nq, c.jobs); got != c.want {
			t.Errorf("bruteBlockFor(%d, %d) = %d, want %d", c.nq, c.jobs, got, c.want)
		}
	}
}
