package coretest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pcct-dev/pcct/core"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distmv"
)

// sampler draws n points of dimension dim from a gonum distribution.
type sampler struct {
	name string
	dim  int
	n    int
	make func(src rand.Source) func() []float64
}

func distmvSamplers() []sampler {
	return []sampler{
		{
			// A strongly correlated Normal: covariance A A^T + 0.01 I with A
			// of rank 3, so the data is a thin ellipsoid in 8-D.
			name: "correlated-normal", dim: 8, n: 3000,
			make: func(src rand.Source) func() []float64 {
				rng := rand.New(src)
				a := mat.NewDense(8, 3, nil)
				for i := range 8 {
					for j := range 3 {
						a.Set(i, j, rng.NormFloat64())
					}
				}
				var sigma mat.SymDense
				sigma.SymOuterK(1, a)
				for i := range 8 {
					sigma.SetSym(i, i, sigma.At(i, i)+0.01)
				}
				mu := make([]float64, 8)
				for i := range mu {
					mu[i] = float64(i)
				}
				normal, ok := distmv.NewNormal(mu, &sigma, src)
				if !ok {
					panic("covariance is not positive definite")
				}
				return func() []float64 { return normal.Rand(nil) }
			},
		},
		{
			// A 2-D manifold in 32-D: a 2-D standard Normal z mapped through
			// the features (z1, z2, z1^2, z1 z2, sin 3 z1, cos 2 z2) and a
			// random 32x6 matrix.
			name: "manifold-2d-in-32d", dim: 32, n: 2500,
			make: func(src rand.Source) func() []float64 {
				rng := rand.New(src)
				w := mat.NewDense(32, 6, nil)
				for i := range 32 {
					for j := range 6 {
						w.Set(i, j, rng.NormFloat64())
					}
				}
				var cov mat.SymDense
				cov.SymOuterK(1, mat.NewDense(2, 2, []float64{1, 0, 0, 1}))
				latent, ok := distmv.NewNormal([]float64{0, 0}, &cov, src)
				if !ok {
					panic("identity is not positive definite")
				}
				return func() []float64 {
					z := latent.Rand(nil)
					f := mat.NewVecDense(6, []float64{z[0], z[1], z[0] * z[0], z[0] * z[1], math.Sin(3 * z[0]), math.Cos(2 * z[1])})
					var x mat.VecDense
					x.MulVec(w, f)
					return x.RawVector().Data
				}
			},
		},
		{
			// Heavy tails: Student's t with 1.5 degrees of freedom in 4-D,
			// whose outliers spread the tree over many levels.
			name: "students-t", dim: 4, n: 3000,
			make: func(src rand.Source) func() []float64 {
				sigma := mat.NewSymDense(4, []float64{
					1, 0.5, 0, 0,
					0.5, 1, 0.2, 0,
					0, 0.2, 1, 0.7,
					0, 0, 0.7, 1,
				})
				st, ok := distmv.NewStudentsT(make([]float64, 4), sigma, 1.5, src)
				if !ok {
					panic("sigma is not positive definite")
				}
				return func() []float64 { return st.Rand(nil) }
			},
		},
		{
			// Points on the 6-simplex (Dirichlet with small alphas: many
			// points near its faces and corners).
			name: "dirichlet", dim: 6, n: 2500,
			make: func(src rand.Source) func() []float64 {
				d := distmv.NewDirichlet([]float64{0.3, 0.5, 1, 2, 0.3, 4}, src)
				return func() []float64 { return d.Rand(nil) }
			},
		},
	}
}

// TestDistmv compares answers with brute force on data drawn from gonum's
// multivariate distributions, for every metric and both types.
func TestDistmv(t *testing.T) {
	t.Parallel()
	for si, s := range distmvSamplers() {
		for mi, mc := range metrics {
			n := s.n
			if mc.m.Kind == core.Minkowski {
				// math.Pow per coordinate: keep the O(n^2) check cheap.
				n /= 5
				if s.dim >= 32 {
					n /= 2
				}
			}
			if testing.Short() {
				n = min(n, 400)
			}
			t.Run(fmt.Sprintf("%s/%s/n=%d", s.name, mc.name, n), func(t *testing.T) {
				src := rand.NewPCG(seedFor(si, mi), 11)
				draw := s.make(src)
				data := make([]float64, 0, n*s.dim)
				for range n {
					data = append(data, draw()...)
				}
				rng := rand.New(rand.NewPCG(seedFor(si, mi), 12))
				plan := queryPlan{external: 30, hits: 10, self: 30, ks: []int{1, 4, 10, 64}, full: 1}
				t.Run("float64", func(t *testing.T) {
					tr := build(t, data, s.dim, mc.m, seedFor(si))
					verify(t, tr, data, s.dim, mc.m, plan, rng, draw)
				})
				t.Run("float32", func(t *testing.T) {
					d32 := convert[float32](data)
					tr := build(t, d32, s.dim, mc.m, seedFor(si))
					verify(t, tr, d32, s.dim, mc.m, plan, rng, func() []float32 { return convert[float32](draw()) })
				})
			})
		}
	}
}
