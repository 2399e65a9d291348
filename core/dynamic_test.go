package core

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
)

// bruteLive returns the k nearest live points of q by brute force.
func bruteLive(t *Tree[float64], pts map[int][]float64, q []float64, k, ex int) []Neighbor {
	var all []Neighbor
	for id, p := range pts {
		if id == ex {
			continue
		}
		all = append(all, Neighbor{id, Distance(t.metric, q, p)})
	}
	sort.Slice(all, func(a, b int) bool {
		return all[a].Dist < all[b].Dist || (all[a].Dist == all[b].Dist && all[a].Index < all[b].Index)
	})
	if k > len(all) {
		k = len(all)
	}
	return all[:k]
}

func checkAgainst(t *testing.T, tr *Tree[float64], pts map[int][]float64, rng *rand.Rand, dim int, label string) {
	t.Helper()
	if err := tr.Check(); err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	if tr.Len() != len(pts) {
		t.Fatalf("%s: Len %d, want %d", label, tr.Len(), len(pts))
	}
	if len(pts) == 0 {
		return
	}
	for qi := 0; qi < 10; qi++ {
		q := make([]float64, dim)
		for i := range q {
			q[i] = float64(rng.IntN(6))
		}
		for _, k := range []int{1, 4, len(pts)} {
			if k > len(pts) {
				continue
			}
			want := bruteLive(tr, pts, q, k, -1)
			for _, st := range []Strategy{Corrected, DepthFirst} {
				dist := make([]float64, k)
				idx := make([]int64, k)
				if err := tr.KNearestBatch(Batch[float64]{Points: q, Strategy: st}, k, dist, idx); err != nil {
					t.Fatal(err)
				}
				for j := range want {
					if int(idx[j]) != want[j].Index || dist[j] != want[j].Dist {
						t.Fatalf("%s %v k=%d: got %v %v want %v", label, st, k, idx, dist, want)
					}
				}
			}
		}
		r := 2.5
		got, err := tr.Within(q, r)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteLive(tr, pts, q, len(pts), -1)
		n := 0
		for _, w := range want {
			if w.Dist <= r {
				if got[n] != w {
					t.Fatalf("%s radius: got %v want %v", label, got, want)
				}
				n++
			}
		}
		if n != len(got) {
			t.Fatalf("%s radius: %d results, want %d", label, len(got), n)
		}
	}
}

var dynSeeds = 12

func TestDynamicRandom(t *testing.T) {
	for seed := uint64(1); seed <= uint64(dynSeeds); seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		dim := 1 + int(seed%3)
		pts := map[int][]float64{}
		var data []float64
		n0 := 1 + rng.IntN(60)
		for i := 0; i < n0; i++ {
			for j := 0; j < dim; j++ {
				data = append(data, float64(rng.IntN(6)))
			}
		}
		tr, err := Build(data, dim, Options{Seed: seed, Jobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n0; i++ {
			pts[i] = data[i*dim : (i+1)*dim]
		}
		checkAgainst(t, tr, pts, rng, dim, "build")
		versions := []*Tree[float64]{tr}
		snaps := []map[int][]float64{clonePts(pts)}
		for step := 0; step < 12; step++ {
			if rng.IntN(2) == 0 || len(pts) == 0 {
				m := 1 + rng.IntN(40)
				var add []float64
				for i := 0; i < m*dim; i++ {
					add = append(add, float64(rng.IntN(6)))
				}
				nt, first, err := tr.Insert(add, UpdateOptions{Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < m; i++ {
					pts[first+i] = add[i*dim : (i+1)*dim]
				}
				tr = nt
			} else {
				var ids []int64
				for id := range pts {
					if rng.IntN(3) == 0 {
						ids = append(ids, int64(id))
					}
				}
				if rng.IntN(8) == 0 {
					ids = ids[:0]
					for id := range pts {
						ids = append(ids, int64(id))
					}
				}
				nt, err := tr.Delete(ids, UpdateOptions{Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range ids {
					delete(pts, int(id))
				}
				tr = nt
			}
			checkAgainst(t, tr, pts, rng, dim, fmt.Sprintf("seed %d step %d", seed, step))
			versions = append(versions, tr)
			snaps = append(snaps, clonePts(pts))
		}
		for i, v := range versions {
			checkAgainst(t, v, snaps[i], rng, dim, "old version")
		}
	}
}

func clonePts(m map[int][]float64) map[int][]float64 {
	c := map[int][]float64{}
	for k, v := range m {
		c[k] = v
	}
	return c
}
