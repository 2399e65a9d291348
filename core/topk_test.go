package core

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortCandsDesc(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 2, 5, 24, 25, 26, 100, 1000, 5000} {
		for _, ties := range []int{1 << 30, 3} {
			c := make([]cand, n)
			for i := range c {
				c[i] = cand{node: int32(i), d: float64(rng.IntN(ties))}
			}
			want := slices.Clone(c)
			slices.SortStableFunc(want, func(a, b cand) int {
				switch {
				case a.d > b.d:
					return -1
				case a.d < b.d:
					return 1
				}
				return 0
			})
			sortCandsDesc(c)
			for i := range c {
				if c[i].d != want[i].d {
					t.Fatalf("n=%d: position %d holds %v, want %v", n, i, c[i].d, want[i].d)
				}
			}
		}
	}
}

func TestNearestOnTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, m := range []int{1, 2, 4} {
		for _, n := range []int{0, 1, 2, 3, 4, 5, 8, 9, 30, 200} {
			for _, ties := range []int{1 << 30, 3} {
				c := make([]cand, n)
				for i := range c {
					c[i] = cand{node: int32(i), d: float64(rng.IntN(ties))}
				}
				asc := slices.Clone(c)
				slices.SortFunc(asc, func(a, b cand) int { return cmp.Compare(a.d, b.d) })
				nearestOnTop(c, m)
				// The same candidates, ...
				nodes := make([]int32, n)
				for i, x := range c {
					nodes[i] = x.node
				}
				slices.Sort(nodes)
				for i, v := range nodes {
					if v != int32(i) {
						t.Fatalf("m=%d n=%d: candidates lost or repeated: %v", m, n, nodes)
					}
				}
				// ... the nearest m (all of them when n <= 2m) last, nearest
				// at the top.
				top := m
				if n <= 2*m {
					top = n
				}
				for i := range top {
					if got := c[n-1-i].d; got != asc[i].d {
						t.Fatalf("m=%d n=%d: %d-th from the top is %v, want %v", m, n, i, got, asc[i].d)
					}
				}
			}
		}
	}
}

func TestTopK(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, k := range []int{1, 2, 10, 100} {
		var h topK
		h.reset(k)
		var all []entry
		for i := range 3000 {
			e := entry{d: float64(rng.IntN(50)), id: int32(i)}
			all = append(all, e)
			h.offer(e.d, e.id)
		}
		slices.SortFunc(all, func(a, b entry) int {
			if less(a.d, a.id, b.d, b.id) {
				return -1
			}
			return 1
		})
		d := make([]float64, k)
		id := make([]int32, k)
		if n := h.drain(d, id); n != k {
			t.Fatalf("k=%d: drained %d", k, n)
		}
		for i := range k {
			if d[i] != all[i].d || id[i] != all[i].id {
				t.Fatalf("k=%d: position %d is (%v, %d), want (%v, %d)", k, i, d[i], id[i], all[i].d, all[i].id)
			}
		}
	}
}
