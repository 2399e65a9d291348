package coretest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// TestCosineAndHaversine compares k-NN and radius answers under the cosine
// distance (served by normalising and searching with the Euclidean
// distance) and the haversine distance with brute force. Distances are
// compared with a relative tolerance, since the cosine distance is
// computed as e^2/2 from the Euclidean distance e between unit vectors
// rather than as 1 - cos; indices must agree wherever distances are not
// tied within that tolerance.
func TestCosineAndHaversine(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(77, 1))
	type tc struct {
		name string
		m    core.Metric
		dim  int
		gen  func() float64
	}
	cases := []tc{
		{"cosine/d=5", core.Metric{Kind: core.Cosine}, 5, func() float64 { return rng.NormFloat64() }},
		{"cosine/d=3/grid", core.Metric{Kind: core.Cosine}, 3, func() float64 { return float64(rng.IntN(5) - 2) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkTransformed(t, rng, c.m, c.dim, c.gen, nil) })
	}
	t.Run("haversine", func(t *testing.T) {
		checkTransformed(t, rng, core.Metric{Kind: core.Haversine}, 2, nil, func(i int) float64 {
			if i%2 == 0 {
				return (rng.Float64() - 0.5) * math.Pi // latitude
			}
			return (rng.Float64() - 0.5) * 2 * math.Pi // longitude
		})
	})
	if _, err := core.Build([]float64{0, 0, 0, 1, 2, 3}, 3, core.Options{Metric: core.Metric{Kind: core.Cosine}}); err == nil {
		t.Error("a zero vector was accepted under the cosine distance")
	}
	if _, err := core.Build([]float64{0, 0, 1}, 3, core.Options{Metric: core.Metric{Kind: core.Haversine}}); err == nil {
		t.Error("3-D points were accepted under the haversine distance")
	}
	hav := core.Options{Metric: core.Metric{Kind: core.Haversine}}
	// float32(pi/2) lies 4e-8 beyond the pole: rounding, accepted as the pole.
	pole := float32(math.Pi / 2)
	tr, err := core.Build([]float32{pole, 0, -pole, 1, 0, 0, pole, 2}, 2, hav)
	if err != nil {
		t.Fatalf("float32 poles refused: %v", err)
	}
	if err := tr.Check(); err != nil {
		t.Fatal(err)
	}
	// Points 0 and 3 are both the north pole, whatever their longitude.
	nb, err := tr.KNearest([]float32{pole, 3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if nb[0].Dist != 0 || nb[1].Dist != 0 || nb[0].Index != 0 || nb[1].Index != 3 {
		t.Errorf("nearest to the north pole: %v, want points 0 and 3 at distance 0", nb)
	}
	for _, lat := range []float64{1.6, -1.6, 90, math.NaN()} {
		if _, err := core.Build([]float64{0, 0, lat, 0}, 2, hav); err == nil {
			t.Errorf("latitude %v was accepted", lat)
		}
	}
}

func checkTransformed(t *testing.T, rng *rand.Rand, m core.Metric, dim int, gen func() float64, genAt func(int) float64) {
	const n, nq, k = 1500, 40, 12
	data := make([]float64, n*dim)
	for i := range data {
		if genAt != nil {
			data[i] = genAt(i % dim)
		} else {
			for data[i] == 0 {
				data[i] = gen()
			}
		}
	}
	tr, err := core.Build(data, dim, core.Options{Metric: m, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Check(); err != nil {
		t.Fatal(err)
	}
	const tol = 1e-9
	for qi := range nq {
		q := data[qi*dim : (qi+1)*dim]
		if qi%2 == 1 { // also queries off the data
			q = slices.Clone(q)
			q[len(q)-1] += 0.1 // the longitude, for haversine
		}
		type pr struct {
			d float64
			i int
		}
		var all []pr
		for i := range n {
			all = append(all, pr{core.Distance(m, q, data[i*dim:(i+1)*dim]), i})
		}
		slices.SortFunc(all, func(a, b pr) int {
			if a.d != b.d {
				if a.d < b.d {
					return -1
				}
				return 1
			}
			return a.i - b.i
		})
		got, err := tr.KNearest(q, k)
		if err != nil {
			t.Fatal(err)
		}
		for j := range k {
			if math.Abs(got[j].Dist-all[j].d) > tol*(1+all[j].d) {
				t.Fatalf("query %d: neighbour %d at distance %v, brute force %v", qi, j, got[j].Dist, all[j].d)
			}
			tied := (j > 0 && all[j].d-all[j-1].d < tol) || (j+1 < n && all[j+1].d-all[j].d < tol)
			if !tied && got[j].Index != all[j].i {
				t.Fatalf("query %d: neighbour %d is %d, brute force %d", qi, j, got[j].Index, all[j].i)
			}
		}
		r := all[k].d
		within, err := tr.Within(q, r)
		if err != nil {
			t.Fatal(err)
		}
		// Points clearly inside must all be found; tied ones may go either way.
		inside, near := 0, 0
		for _, p := range all {
			if p.d <= r*(1-tol)-tol {
				inside++
			}
			if p.d <= r*(1+tol)+tol {
				near++
			}
		}
		if len(within) < inside || len(within) > near {
			t.Fatalf("query %d: %d points within %v, brute force %d to %d (ties)", qi, len(within), r, inside, near)
		}
		for _, w := range within {
			if w.Dist > r*(1+tol)+tol {
				t.Fatalf("query %d: radius answer at %v beyond %v", qi, w.Dist, r)
			}
		}
	}
}
