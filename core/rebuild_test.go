package core

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestInsertRebuild checks insertions of a quarter of the tree or more in
// two and three dimensions, which build a new tree of all the points
// (rebuild). Into a tree never deleted from, the result is the tree
// Build makes of all the rows, node for node. After deletions, every live
// caller index keeps its point, the deleted ones stay absent, the new ones
// follow the last issued, the invariants hold and the answers are brute
// force's; the old version answers as before. A stop request stops it.
func TestInsertRebuild(t *testing.T) {
	for _, c := range []struct {
		dim    int
		metric Metric
	}{{2, Metric{}}, {3, Metric{}}, {2, Metric{Kind: Manhattan}}} {
		t.Run(fmt.Sprintf("dim=%d/%v", c.dim, c.metric.Kind), func(t *testing.T) {
			dim := c.dim
			rng := rand.New(rand.NewPCG(31, uint64(dim)))
			const n, m = 2000, 700
			rows := clusterRows(rng, n+m, dim)
			opts := Options{Seed: 7, Metric: c.metric}
			tr, err := Build(rows[:n*dim], dim, opts)
			if err != nil {
				t.Fatal(err)
			}
			up, first, err := tr.Insert(rows[n*dim:], UpdateOptions{Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			all, err := Build(rows, dim, Options{Seed: 7, Metric: c.metric, Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			if first != n || !slices.Equal(locateWaysNodes(up), locateWaysNodes(all)) {
				t.Fatalf("the insertion (first index %d) is not the tree Build makes of all the rows", first)
			}

			// Delete a third, then insert as many points as are left
			// over a quarter of them.
			ids := rng.Perm(n)[:n/3]
			del := make([]int64, len(ids))
			live := map[int64]int{}
			for i := range n {
				live[int64(i)] = i
			}
			for j, id := range ids {
				del[j] = int64(id)
				delete(live, int64(id))
			}
			cut, err := tr.Delete(del, UpdateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			queries := nearQueries(rows, dim, 12, rng)
			before, beforeIdx := answers(t, cut, queries, dim)
			up, first, err = cut.Insert(rows[n*dim:], UpdateOptions{Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			if first != n {
				t.Fatalf("first new index %d, want %d", first, n)
			}
			for i := range m {
				live[int64(n+i)] = n + i
			}
			checkRebuilt(t, up, cut, ids, live, rows, dim, queries, before, beforeIdx)

			stop := int64(1)
			if _, _, err := cut.Insert(rows[n*dim:], UpdateOptions{Monitor: &Monitor{Stop: &stop}}); !errors.Is(err, ErrStopped) {
				t.Fatalf("a stopped insertion returned %v, want ErrStopped", err)
			}
		})
	}
}

// TestDeleteRebuild checks deletions of a quarter of a tree or more in two
// and three dimensions, and of half or more in eight, which build a new
// tree of the points left (rebuild). Deleting the last rows of a tree
// built once leaves the tree Build makes of the rest, node for node. After
// an insertion, a large random deletion keeps every other caller index on
// its point, keeps the invariants and brute force's answers, and leaves
// the old version answering as before.
func TestDeleteRebuild(t *testing.T) {
	for _, c := range []struct {
		dim   int
		share float64 // of the points deleted
	}{{2, 0.3}, {3, 0.3}, {8, 0.55}} {
		t.Run(fmt.Sprintf("dim=%d", c.dim), func(t *testing.T) {
			dim := c.dim
			rng := rand.New(rand.NewPCG(33, uint64(dim)))
			const n, m = 2000, 150
			rows := clusterRows(rng, n+m, dim)
			tr, err := Build(rows[:n*dim], dim, Options{Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			k := int(c.share * n)
			last := make([]int64, k)
			for j := range k {
				last[j] = int64(n - k + j)
			}
			cut, err := tr.Delete(last, UpdateOptions{Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			rest, err := Build(rows[:(n-k)*dim], dim, Options{Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(locateWaysNodes(cut), locateWaysNodes(rest)) {
				t.Fatal("deleting the last rows does not leave the tree Build makes of the rest")
			}

			up, first, err := tr.Insert(rows[n*dim:], UpdateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			live := map[int64]int{}
			for i := range n + m {
				live[int64(i)] = i
			}
			ids := rng.Perm(n + m)[:int(c.share*float64(n+m))]
			del := make([]int64, len(ids))
			for j, id := range ids {
				del[j] = int64(id)
				delete(live, int64(id))
			}
			queries := nearQueries(rows, dim, 12, rng)
			before, beforeIdx := answers(t, up, queries, dim)
			down, err := up.Delete(del, UpdateOptions{Jobs: 2})
			if err != nil {
				t.Fatal(err)
			}
			if first != n || down.IDs() != n+m {
				t.Fatalf("caller indices: first %d, issued %d; want %d, %d", first, down.IDs(), n, n+m)
			}
			checkRebuilt(t, down, up, ids, live, rows, dim, queries, before, beforeIdx)
		})
	}
}

// checkRebuilt fails t unless tr, rebuilt from old by an update, holds
// none of the deleted caller indices, keeps its invariants and brute
// force's answers over the live points (caller index -> row of rows), and
// old still answers the queries as it did before (dist, idx).
func checkRebuilt(t *testing.T, tr, old *Tree[float64], deleted []int, live map[int64]int, rows []float64, dim int, queries []float64, dist []float64, idx []int64) {
	t.Helper()
	for _, id := range deleted {
		if u := tr.s.nodeOf(int32(id)); u >= 0 {
			t.Fatalf("deleted index %d is held by slot %d", id, u)
		}
	}
	checkVersion(t, tr, live, rows, dim, queries, "rebuilt")
	if d, i := answers(t, old, queries, dim); !slices.Equal(d, dist) || !slices.Equal(i, idx) {
		t.Fatal("the old version answers differently after the update")
	}
}
