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
