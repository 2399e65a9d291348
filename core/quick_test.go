package core

import (
	"math/rand/v2"
	"sort"
	"testing"
)

func bruteKNN(data []float64, dim int, q []float64, k int, m Metric, ex int) []Neighbor {
	n := len(data) / dim
	var all []Neighbor
	for i := 0; i < n; i++ {
		if i == ex {
			continue
		}
		all = append(all, Neighbor{i, Distance(m, q, data[i*dim:(i+1)*dim])})
	}
	sort.Slice(all, func(a, b int) bool {
		return all[a].Dist < all[b].Dist || (all[a].Dist == all[b].Dist && all[a].Index < all[b].Index)
	})
	return all[:k]
}

func TestQuick(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 10, 100, 1000} {
		for _, dim := range []int{1, 2, 3, 8} {
			data := make([]float64, n*dim)
			for i := range data {
				data[i] = float64(rng.IntN(5))
			}
			tr, err := Build(data, dim, Options{Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Check(); err != nil {
				t.Fatalf("n=%d dim=%d: %v", n, dim, err)
			}
			for qi := 0; qi < 20; qi++ {
				q := make([]float64, dim)
				for i := range q {
					q[i] = rng.Float64() * 5
				}
				for _, k := range []int{1, 3, n} {
					if k > n {
						continue
					}
					got, err := tr.KNearest(q, k)
					if err != nil {
						t.Fatal(err)
					}
					want := bruteKNN(data, dim, q, k, Metric{}, -1)
					for j := range want {
						if got[j] != want[j] {
							t.Fatalf("n=%d dim=%d k=%d: got %v want %v", n, dim, k, got, want)
						}
					}
				}
			}
		}
	}
}
