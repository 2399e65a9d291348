package core

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// TestSnapshotsConcurrent queries old versions from several goroutines
// while new versions are made from them, and checks that every answer is
// the one the version gave before any update. Run it under -race.
func TestSnapshotsConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	dim := 4
	gen := func(n int) []float64 {
		d := make([]float64, n*dim)
		for i := range d {
			d[i] = float64(rng.IntN(8))
		}
		return d
	}
	tr, err := Build(gen(2000), dim, Options{Seed: 1, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	queries := gen(50)
	const k = 7
	answer := func(v *Tree[float64]) ([]float64, []int64) {
		dist := make([]float64, 50*k)
		idx := make([]int64, 50*k)
		if err := v.KNearestBatch(Batch[float64]{Points: queries, Jobs: 2}, k, dist, idx); err != nil {
			t.Error(err)
		}
		return dist, idx
	}
	type snap struct {
		v    *Tree[float64]
		dist []float64
		idx  []int64
	}
	first := snap{v: tr}
	first.dist, first.idx = answer(tr)
	var latest atomic.Pointer[snap]
	latest.Store(&first)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				for _, s := range []*snap{&first, latest.Load()} {
					d, i := answer(s.v)
					if !slices.Equal(d, s.dist) || !slices.Equal(i, s.idx) {
						t.Error("a version's answers changed while later versions were made")
						return
					}
				}
			}
		})
	}
	cur := tr
	for step := range 20 {
		var nt *Tree[float64]
		if step%2 == 0 {
			nt, _, err = cur.Insert(gen(150), UpdateOptions{Jobs: 2})
		} else {
			ids := cur.LiveIDs(nil)
			rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			nt, err = cur.Delete(ids[:120], UpdateOptions{Jobs: 2})
		}
		if err != nil {
			t.Fatal(err)
		}
		s := &snap{v: nt}
		s.dist, s.idx = answer(nt)
		latest.Store(s)
		cur = nt
	}
	stop.Store(true)
	wg.Wait()
	if err := cur.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestInsertBranches inserts different points into one version twice, and
// again into one of the results: the versions share the chunk of rows the
// new points go to (the tree's last, part filled), so each must write its
// rows apart, and every version must keep answering with its own points.
func TestInsertBranches(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const dim = 3
	gen := func(n int) []float64 {
		d := make([]float64, n*dim)
		for i := range d {
			d[i] = 6 * rng.Float64()
		}
		return d
	}
	base := gen(1000) // 3 chunks of 256 slots and part of a fourth
	t0, err := Build(base, dim, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	pts0 := map[int][]float64{}
	for i := range 1000 {
		pts0[i] = base[i*dim : (i+1)*dim]
	}
	insert := func(tr *Tree[float64], pts map[int][]float64, n int) (*Tree[float64], map[int][]float64) {
		add := gen(n)
		nt, first, err := tr.Insert(add, UpdateOptions{Jobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		out := clonePts(pts)
		for i := range n {
			out[first+i] = add[i*dim : (i+1)*dim]
		}
		return nt, out
	}
	t1, pts1 := insert(t0, pts0, 40)
	t2, pts2 := insert(t0, pts0, 40)  // the same slots as t1's points, other rows
	t3, pts3 := insert(t1, pts1, 300) // into the next chunk too
	for _, v := range []struct {
		tr    *Tree[float64]
		pts   map[int][]float64
		label string
	}{{t0, pts0, "t0"}, {t1, pts1, "t1"}, {t2, pts2, "t2"}, {t3, pts3, "t3"}} {
		checkAgainst(t, v.tr, v.pts, rng, dim, v.label)
	}
}
