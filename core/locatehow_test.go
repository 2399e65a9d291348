package core

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestUpdateLocateWays checks that an update makes the same tree, node for
// node, whether its items are located by traversing the tree, by a
// locLayout, or as useLocLayout chooses: on the update tests' sets
// (synthetic sets with duplicates and ties under several metrics, letter
// and bunny) and a sample of the zip codes, in float64 and float32, with 1
// and 2 jobs, through insertions large and small against the tree and
// deletions (whose orphans are located with the removed nodes routing),
// checking the invariants after each.
func TestUpdateLocateWays(t *testing.T) {
	n := 1200
	if raceEnabled || testing.Short() {
		n = 500
	}
	sets := append(updateSets(), updateSet{"zipcodes", 2, Metric{}, func(rng *rand.Rand, n int) ([]float64, error) {
		return realRows(rng, n, 2, readZipcodes)
	}})
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			rows, err := set.rows(rand.New(rand.NewPCG(13, uint64(set.dim))), n)
			if err != nil {
				t.Skipf("data set not available: %v", err)
			}
			t.Run("float64", func(t *testing.T) { checkLocateWays(t, rows, set.dim, set.metric) })
			t.Run("float32", func(t *testing.T) { checkLocateWays(t, toFloat32(rows), set.dim, set.metric) })
		})
	}
}

func checkLocateWays[T Float](t *testing.T, rows []T, dim int, metric Metric) {
	n := len(rows) / dim
	cut := n / 2
	base, err := Build(rows[:cut*dim], dim, Options{Seed: 4, Metric: metric})
	if err != nil {
		t.Fatal(err)
	}
	// Each step from the previous tree of the same way: insert 10% of the
	// tree (one batch), 1% (a batch small against the tree), the rest
	// (prefix doubling), then delete 10% and 40%.
	type step struct {
		label  string
		insert [2]int // rows to insert, or
		delete float64
	}
	steps := []step{
		{label: "insert 10%", insert: [2]int{cut, cut + cut/10}},
		{label: "insert 1%", insert: [2]int{cut + cut/10, cut + cut/10 + cut/100 + 1}},
		{label: "delete 10%", delete: 0.1},
		{label: "insert the rest", insert: [2]int{cut + cut/10 + cut/100 + 1, n}},
		{label: "delete 40%", delete: 0.4},
	}
	ways := []locateHow{locateByTraversal, locateByLayout, locateAuto}
	type run struct {
		how  locateHow
		jobs int
		tr   *Tree[T]
	}
	var runs []*run
	for _, how := range ways {
		for _, jobs := range []int{1, 2} {
			runs = append(runs, &run{how, jobs, base})
		}
	}
	rng := rand.New(rand.NewPCG(6, 1))
	for _, s := range steps {
		var ids []int64
		if s.delete > 0 {
			live := base.LiveIDs(nil)
			if r := runs[0].tr; r != nil {
				live = r.LiveIDs(nil)
			}
			rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
			ids = live[:int(s.delete*float64(len(live)))]
		}
		for _, r := range runs {
			// By batches alone: a large insertion is otherwise rebuilt
			// (rebuild), whichever the way.
			opts := UpdateOptions{Jobs: r.jobs, locate: r.how, batchesOnly: true}
			var err error
			if s.delete > 0 {
				r.tr, err = r.tr.Delete(ids, opts)
			} else {
				r.tr, _, err = r.tr.Insert(rows[s.insert[0]*dim:s.insert[1]*dim], opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := r.tr.Check(); err != nil {
				t.Fatalf("%s, way %d, %d jobs: %v", s.label, r.how, r.jobs, err)
			}
		}
		want := locateWaysNodes(runs[0].tr)
		for _, r := range runs[1:] {
			if got := locateWaysNodes(r.tr); !slices.Equal(got, want) {
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Fatalf("%s: way %d with %d jobs differs from the traversal at %s, want %s", s.label, r.how, r.jobs, got[i], want[i])
					}
				}
				t.Fatalf("%s: way %d with %d jobs has %d slots, the traversal %d", s.label, r.how, r.jobs, len(got), len(want))
			}
		}
	}
}

// locateWaysNodes describes every slot of tr: its level, parent, distances
// and radii bit for bit, weight, children, groups and caller indices.
func locateWaysNodes[T Float](tr *Tree[T]) []string {
	out := []string{fmt.Sprint("root ", tr.root, " n ", tr.n, " nodes ", tr.nodes)}
	for u := range tr.s.slots {
		n := tr.node(u)
		var b strings.Builder
		fmt.Fprintf(&b, "%d: level %d parent %d pdist %x reach %x rad %x weight %d kids %v ids %v groups", u, n.level, n.parent, n.pdist, n.reach, n.rad, n.weight, n.children(), n.idList())
		for _, g := range n.groups() {
			fmt.Fprintf(&b, " {%d %d %d %x}", g.level, g.end, g.w, g.rad)
		}
		out = append(out, b.String())
	}
	return out
}
