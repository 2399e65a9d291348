package core

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// crowdedRows returns n points of dim coordinates uniform in [0,1]^dim,
// then m more crowded into the cube of side side at corner (0.5, ...).
func crowdedRows(rng *rand.Rand, n, m, dim int, side float64) []float64 {
	out := make([]float64, 0, (n+m)*dim)
	for range n * dim {
		out = append(out, rng.Float64())
	}
	for range m * dim {
		out = append(out, 0.5+side*rng.Float64())
	}
	return out
}

// cutOf locates rows in tr as insertBatch does and returns what batchCut
// makes of them.
func cutOf(tr *Tree[float64], rows []float64) int {
	dim := tr.s.dim
	items := make([]item, len(rows)/dim)
	for k := range items {
		items[k] = item{floor: levelNegInf, slot: -1, prio: hash64(uint64(k))}
	}
	row := func(k int) []float64 { return rows[k*dim : (k+1)*dim] }
	located, err := tr.locateAll(items, row, nil, 1, nil)
	if err != nil {
		panic(err)
	}
	return tr.batchCut(items, located, 2)
}

// TestBatchCut checks batchCut's choice and the insertions it shapes, on
// a tree of uniform points. A batch spread like the tree's points goes in
// whole. One crowded into a small cube, where its points conflict with
// most of each other, is cut in two and three dimensions, where its
// pairs cost more distances than locating it, and its insertion then
// measures fewer distances than the batch inserted whole; in eight
// dimensions locating costs more and it goes in whole. Every insertion
// keeps the invariants, answers as brute force does and counts each point
// once in its monitor, and the cut one makes the same tree with 1 and 3
// jobs.
func TestBatchCut(t *testing.T) {
	const n, m = 4000, 960 // m under a quarter of n: inserted by batches (see rebuild)
	for _, c := range []struct {
		dim  int
		side float64 // of the cube the batch crowds into
		cut  bool
	}{{2, 0.02, true}, {3, 0.01, true}, {8, 0.02, false}} {
		t.Run(fmt.Sprintf("dim=%d", c.dim), func(t *testing.T) {
			dim := c.dim
			rng := rand.New(rand.NewPCG(21, uint64(dim)))
			rows := crowdedRows(rng, n, m, dim, c.side)
			tr, err := Build(rows[:n*dim], dim, Options{Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			if k := cutOf(tr, crowdedRows(rng, m, 0, dim, 0)); k != m {
				t.Errorf("a spread batch of %d is cut to %d", m, k)
			}
			crowded := rows[n*dim:]
			switch k := cutOf(tr, crowded); {
			case c.cut && (k >= m || k < cutMin):
				t.Errorf("the crowded batch of %d is cut to %d, want fewer, at least %d", m, k, cutMin)
			case !c.cut && k != m:
				t.Errorf("the crowded batch of %d is cut to %d, want it whole", m, k)
			}

			var evals [2]int64
			var cut *Tree[float64]
			for _, run := range []struct {
				jobs  int
				whole bool
			}{{1, false}, {3, false}, {2, true}} {
				var done int64
				up, _, err := tr.Insert(crowded, UpdateOptions{Jobs: run.jobs, batchesOnly: run.whole, Monitor: &Monitor{Done: &done}})
				if err != nil {
					t.Fatal(err)
				}
				if done != m {
					t.Errorf("jobs=%d whole=%v: the monitor counted %d points inserted, want %d", run.jobs, run.whole, done, m)
				}
				if err := up.Check(); err != nil {
					t.Fatalf("jobs=%d whole=%v: %v", run.jobs, run.whole, err)
				}
				againstFlat(t, up, rows, dim, Metric{}, rng)
				evals[b2i(run.whole)] = evalsOf(up) - evalsOf(tr)
				if run.whole {
					continue
				}
				if cut == nil {
					cut = up
				} else {
					sameTree(t, up, cut, run.jobs)
				}
			}
			t.Logf("distances a point inserted: %.1f cut, %.1f whole", float64(evals[0])/m, float64(evals[1])/m)
			if c.cut && evals[0] >= evals[1] {
				t.Errorf("the cut insertion measured %d distances, the whole one %d", evals[0], evals[1])
			}
			if !c.cut && evals[0] != evals[1] {
				t.Errorf("an insertion not cut measured %d distances, the whole one %d", evals[0], evals[1])
			}
		})
	}
}
