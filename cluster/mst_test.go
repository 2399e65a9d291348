package cluster

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

func TestMinimumSpanningTreeAgainstPrim(t *testing.T) {
	for _, ds := range datasets {
		for _, mt := range testMetrics {
			for _, jobs := range []int{1, 3} {
				name := fmt.Sprintf("%s/%s/jobs%d", ds.name, mt.name, jobs)
				t.Run(name+"/float64", func(t *testing.T) { testMST[float64](t, ds, mt.m, jobs) })
				t.Run(name+"/float32", func(t *testing.T) { testMST[float32](t, ds, mt.m, jobs) })
			}
		}
	}
}

func testMST[T core.Float](t *testing.T, ds dataset, m core.Metric, jobs int) {
	r := rand.New(rand.NewPCG(7, uint64(len(ds.name))))
	dim := dimFor(m, 3)
	x := convert[T](forMetric(m, ds.gen(r, 400, dim), dim))
	tree, err := core.Build(x, dim, core.Options{Metric: m, Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	edges, err := MinimumSpanningTree(tree, Options{Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	checkSpanning(t, tree, edges, tree.LiveIDs(nil), 1e-12)
	want := bruteMST(tree, x, dim)
	got := make([]float64, len(edges))
	for i, e := range edges {
		got[i] = e.Dist
	}
	closeWeights(t, got, want, 1e-12)
}

// TestMinimumSpanningTreeAfterUpdates checks the spanning tree of a tree
// after insertions and deletions, and of the version before them, against
// Prim's algorithm on the live points.
func TestMinimumSpanningTreeAfterUpdates(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	const dim = 3
	x := datasets[2].gen(r, 300, dim)
	more := datasets[2].gen(r, 200, dim)
	old, err := core.Build(x, dim, core.Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	ins, _, err := old.Insert(more, core.UpdateOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	var gone []int64
	for id := 0; id < 500; id += 3 {
		gone = append(gone, int64(id))
	}
	cur, err := ins.Delete(gone, core.UpdateOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]float64{}, x...), more...)
	for _, v := range []*core.Tree[float64]{old, ins, cur} {
		edges, err := MinimumSpanningTree(v, Options{Jobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		live := v.LiveIDs(nil)
		checkSpanning(t, v, edges, live, 1e-12)
		want := brutePrim(len(live), func(i, j int) float64 {
			a, b := int(live[i]), int(live[j])
			return core.Distance(v.Metric(), all[a*dim:(a+1)*dim], all[b*dim:(b+1)*dim])
		})
		got := make([]float64, len(edges))
		for i, e := range edges {
			got[i] = e.Dist
		}
		closeWeights(t, got, want, 1e-12)
	}
}

// TestMinimumSpanningTreeTiesExact checks the spanning tree's edges, not
// only their weights, on distinct points of integer grids, where most
// edges tie: under the order (distance, I, J) the minimum spanning tree is
// unique, and Kruskal's algorithm over all pairs finds it. A search that
// passed over a subtree holding an edge of exactly its bound would pick
// another edge of the same weight.
func TestMinimumSpanningTreeTiesExact(t *testing.T) {
	for _, tc := range []struct{ n, dim, side int }{
		{500, 2, 30}, {500, 3, 9}, {400, 5, 4}, {300, 8, 3},
	} {
		r := rand.New(rand.NewPCG(13, uint64(tc.dim)))
		seen := map[string]bool{}
		var x []float64
		for len(x) < tc.n*tc.dim {
			p := make([]float64, tc.dim)
			for j := range p {
				p[j] = float64(r.IntN(tc.side))
			}
			if k := fmt.Sprint(p); !seen[k] {
				seen[k] = true
				x = append(x, p...)
			}
		}
		for _, jobs := range []int{1, 2} {
			name := fmt.Sprintf("%dd/jobs%d", tc.dim, jobs)
			t.Run(name+"/float64", func(t *testing.T) { checkTiedMST(t, x, tc.dim, jobs) })
			t.Run(name+"/float32", func(t *testing.T) { checkTiedMST(t, convert[float32](x), tc.dim, jobs) })
		}
	}
}

func checkTiedMST[T core.Float](t *testing.T, x []T, dim, jobs int) {
	tree, err := core.Build(x, dim, core.Options{Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	got, err := MinimumSpanningTree(tree, Options{Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	n := len(x) / dim
	var all []Edge
	for i := range n {
		for j := i + 1; j < n; j++ {
			all = append(all, Edge{i, j, tree.Dist(x[i*dim:(i+1)*dim], x[j*dim:(j+1)*dim])})
		}
	}
	sortEdges(all)
	u := newLabelled(n)
	var want []Edge
	for _, e := range all {
		if u.label(e.I) != u.label(e.J) {
			u.join(e.I, e.J, n+len(want))
			want = append(want, e)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d edges, Kruskal's %d", len(got), len(want))
	}
	ties := 0
	for i := range want {
		if got[i].I != want[i].I || got[i].J != want[i].J || got[i].Dist != tree.MetricDistance(want[i].Dist) {
			t.Fatalf("edge %d: %v, Kruskal's %v", i, got[i], want[i])
		}
		if i > 0 && want[i].Dist == want[i-1].Dist {
			ties++
		}
	}
	if ties < len(want)/2 {
		t.Fatalf("only %d of %d edges tie: the case tests no ties", ties, len(want))
	}
}
