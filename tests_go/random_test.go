package coretest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

var randomDims = []int{1, 2, 3, 8, 32, 128}

// bases are the level bases the random tests cycle through; 0 means the
// default, 2.
var bases = []float64{0, 1.3, 0, 3.5}

// randomSizes returns the point counts tried for one metric and dimension:
// the degenerate sizes 1, 2, 3, a few small ones, and sizes up to a cap that
// keeps the O(n^2) Check and the brute force affordable: n^2*d <= 6e7 for
// the cheap metrics (n = 5,000 in 1 and 2 dimensions, 684 in 128), 8e5 for
// Minkowski, whose kernel calls math.Pow per coordinate. With wide (float64
// only), one Minkowski case in one dimension goes to 5,000 as well. Under
// -short, n stays <= 400.
func randomSizes(m core.Metric, dim int, wide bool) []int {
	budget := 6e7
	if m.Kind == core.Minkowski {
		budget = 8e5
	}
	top := min(5000, int(math.Sqrt(budget/float64(dim))))
	if m.Kind == core.Minkowski && m.P == 3 && dim == 1 && wide {
		top = 5000
	}
	if testing.Short() {
		top = min(top, 400)
	}
	var out []int
	for _, n := range []int{1, 2, 3, 7, 40, top / 8, top / 2, top} {
		if n <= top && (len(out) == 0 || n > out[len(out)-1]) {
			out = append(out, n)
		}
	}
	return out
}

// baseFor picks the level base of one random case: the bases cycle, but
// the largest Minkowski cases keep the default, whose levels Check computes
// without math.Pow.
func baseFor(m core.Metric, n, i int) float64 {
	if m.Kind == core.Minkowski && n >= 2000 {
		return 0
	}
	return bases[i%len(bases)]
}

// TestRandomFloat64 and TestRandomFloat32 compare k-NN and radius answers
// with brute force on random data, for every metric, dimension and size of
// the table, with k from 1 to n (k = n and n-1 for external queries, n-1 and
// n-2 for self-queries), both search strategies, and level bases 2, 1.3 and
// 3.5 in turn.
func TestRandomFloat64(t *testing.T) {
	t.Parallel()
	runRandom[float64](t)
}

func TestRandomFloat32(t *testing.T) {
	t.Parallel()
	runRandom[float32](t)
}

func runRandom[T core.Float](t *testing.T) {
	var zero T
	_, wide := any(zero).(float64)
	for mi, mc := range metrics {
		for _, dim := range randomDims {
			for si, n := range randomSizes(mc.m, dim, wide) {
				base := baseFor(mc.m, n, si+mi)
				name := fmt.Sprintf("%s/d=%d/n=%d/base=%v", mc.name, dim, n, base)
				t.Run(name, func(t *testing.T) {
					seed := seedFor(mi, dim, n)
					rng := rand.New(rand.NewPCG(seed, 7))
					var data []T
					var far func() []T
					if si%2 == 0 {
						data = uniform[T](rng, n, dim, 1)
						far = func() []T { return uniform[T](rng, 1, dim, 1.2) }
					} else {
						data = clustered[T](rng, n, dim)
						far = func() []T { return clustered[T](rng, 1, dim) }
					}
					// External queries: alternately near a data point and
					// drawn afresh (for clustered data, around new centres).
					turn := 0
					gen := func() []T {
						turn++
						if turn%2 == 0 {
							return far()
						}
						r := row(data, dim, rng.IntN(n))
						q := make([]T, dim)
						for i := range q {
							q[i] = r[i] + T(0.01*rng.NormFloat64())
						}
						return q
					}
					tr := buildOpts(t, data, dim, core.Options{Metric: mc.m, Seed: seed, Base: base})
					checkShape(t, tr, data, dim)
					plan := queryPlan{external: 24, hits: 8, self: 24, ks: []int{1, 2, 3, 7, 16, 50}, full: 3}
					if n*dim > 100000 {
						plan = queryPlan{external: 12, hits: 4, self: 12, ks: []int{1, 5, 30}, full: 1}
					}
					verify(t, tr, data, dim, mc.m, plan, rng, gen)
				})
			}
		}
	}
}

// TestKSweep asks every k from 1 to n on small trees, external and self.
func TestKSweep(t *testing.T) {
	t.Parallel()
	for _, mc := range metrics {
		for _, n := range []int{1, 2, 5, 13, 40} {
			for _, dim := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/n=%d/d=%d", mc.name, n, dim), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(seedFor(n, dim), 1))
					data := make([]float64, n*dim)
					for i := range data {
						data[i] = float64(rng.IntN(4)) // ties on purpose
					}
					tr := build(t, data, dim, mc.m, 1)
					ks := make([]int, n)
					for k := range ks {
						ks[k] = k + 1
					}
					plan := queryPlan{external: 5, hits: 3, self: n, ks: ks, full: n}
					verify(t, tr, data, dim, mc.m, plan, rng, func() []float64 { return uniform[float64](rng, 1, dim, 4) })
				})
			}
		}
	}
}
