package core

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// greedyMIS is the reference: vertices in decreasing priority order, each
// taken unless a taken vertex is adjacent.
func greedyMIS(items []item, open []int, lim float64) []int {
	order := slices.Clone(open)
	slices.SortFunc(order, func(a, b int) int {
		pa, pb := items[a].prio, items[b].prio
		switch {
		case pa > pb || (pa == pb && a > b):
			return -1
		case pa < pb || (pa == pb && a < b):
			return 1
		}
		return 0
	})
	taken := map[int]bool{}
	inOpen := map[int]bool{}
	for _, k := range open {
		inOpen[k] = true
	}
	var out []int
	for _, k := range order {
		ok := true
		for _, nb := range items[k].nbr {
			if inOpen[int(nb.k)] && nb.d <= lim && taken[int(nb.k)] {
				ok = false
				break
			}
		}
		if ok {
			taken[k] = true
			out = append(out, k)
		}
	}
	return out
}

func TestMIS(t *testing.T) {
	for _, tc := range []struct {
		n, degree int
		openFrac  float64
	}{
		{1, 0, 1}, {2, 1, 1}, {10, 3, 1}, {100, 8, 0.7}, {1000, 20, 0.9}, {9000, 6, 1},
	} {
		rng := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.degree)))
		items := make([]item, tc.n)
		for k := range items {
			items[k].prio = rng.Uint64() % uint64(tc.n) // ties happen
		}
		for k := range items {
			for range tc.degree {
				j := rng.IntN(tc.n)
				if j == k {
					continue
				}
				d := rng.Float64() * 2
				items[k].nbr = append(items[k].nbr, neighbor{k: int32(j), d: d})
				items[j].nbr = append(items[j].nbr, neighbor{k: int32(k), d: d})
			}
		}
		var open []int
		for k := range items {
			if rng.Float64() < tc.openFrac {
				open = append(open, k)
			}
		}
		const lim = 1.0
		var m misScratch
		got := slices.Clone(m.run(items, open, lim))
		chosen := map[int]bool{}
		for _, k := range got {
			chosen[k] = true
		}
		inOpen := map[int]bool{}
		for _, k := range open {
			inOpen[k] = true
		}
		for _, k := range open {
			adjacent := false
			for _, nb := range items[k].nbr {
				if !inOpen[int(nb.k)] || nb.d > lim || !chosen[int(nb.k)] {
					continue
				}
				if chosen[k] {
					t.Fatalf("n=%d: chosen vertices %d and %d are adjacent (d=%v)", tc.n, k, nb.k, nb.d)
				}
				adjacent = true
			}
			if !chosen[k] && !adjacent {
				t.Fatalf("n=%d: vertex %d is neither chosen nor adjacent to a chosen one: not maximal", tc.n, k)
			}
		}
		want := greedyMIS(items, open, lim)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d: Luby's rounds gave %d vertices, the greedy order %d", tc.n, len(got), len(want))
		}
		if len(open) > 0 && len(got) == 0 {
			t.Fatalf("n=%d: empty set for %d open vertices", tc.n, len(open))
		}
	}
}

// TestByParentMapMatchesArray checks that the items of a batch listed by
// parent in a map (a batch small against the tree) come in the same lists,
// in the same order, as in an array over every slot: only pending items
// with a parent and a scope (not wide) are listed.
func TestByParentMapMatchesArray(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const slots = 300
	items := make([]item, 500)
	for k := range items {
		it := &items[k]
		it.state = int8(rng.IntN(3)) // pending, placed or merged
		it.wide = rng.IntN(8) == 0
		it.loc.parent = int32(rng.IntN(slots+20)) - 20 // some without a parent
	}
	arr := newByParent(items, slots, false)
	small := newByParent(items, slots, true)
	if arr.head == nil || small.small == nil {
		t.Fatal("the representations were not the ones asked for")
	}
	if !slices.Equal(arr.next, small.next) {
		t.Fatal("the lists' links differ")
	}
	listed := 0
	for p := int32(0); p < slots; p++ {
		if a, m := arr.first(p), small.first(p); a != m {
			t.Fatalf("parent %d: first item %d in the array, %d in the map", p, a, m)
		}
		for y := arr.first(p); y >= 0; y = arr.next[y] {
			it := &items[y]
			if it.state != pending || it.wide || it.loc.parent != p {
				t.Fatalf("item %d (state %d, wide %v, parent %d) listed under parent %d", y, it.state, it.wide, it.loc.parent, p)
			}
			listed++
		}
	}
	want := 0
	for k := range items {
		if it := &items[k]; it.state == pending && !it.wide && it.loc.parent >= 0 {
			want++
		}
	}
	if listed != want || want == 0 {
		t.Fatalf("%d items listed, want %d", listed, want)
	}
}
