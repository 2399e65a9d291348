package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// TestCountNearExact checks DBSCAN's neighbour count from every node
// against brute force over the nodes, in both precisions: run to the end
// it is the number of points within eps (d <= eps, duplicates included),
// and stopped at min_samples it reaches min_samples exactly when that
// number does. The points lie on integer grids in 2 to 16 dimensions, full
// of duplicates, and eps is a grid distance (1, sqrt 2, 2, 3), so that
// many points lie exactly at eps and many children exactly at the edge of
// their parent's reach; min_samples runs from 1 to above most counts.
func TestCountNearExact(t *testing.T) {
	for _, tc := range []struct {
		n, dim, side int
		eps          float64
	}{
		{700, 2, 12, 1},
		{700, 2, 12, math.Sqrt2},
		{700, 3, 6, 2},
		{600, 5, 4, 2},
		{600, 8, 3, math.Sqrt(3)},
		{500, 16, 3, 3},
	} {
		name := fmt.Sprintf("%dd-side%d-eps%.3g", tc.dim, tc.side, tc.eps)
		r := rand.New(rand.NewPCG(41, uint64(tc.dim)))
		x := make([]float64, tc.n*tc.dim)
		for i := range x {
			x[i] = float64(r.IntN(tc.side))
		}
		t.Run(name+"/float64", func(t *testing.T) { checkCounts(t, x, tc.dim, tc.eps) })
		t.Run(name+"/float32", func(t *testing.T) { checkCounts(t, convert[float32](x), tc.dim, tc.eps) })
	}
}

func checkCounts[T core.Float](t *testing.T, x []T, dim int, eps float64) {
	tree, f := flatTestTree(t, x, dim)
	r := tree.SearchDistance(eps)
	own, sub := f.subtreeWeights(nil)
	cn := f.countNodes(own, sub)
	var stack []cand
	atEps, hist := 0, map[int]int{}
	for q := range int32(f.n) {
		want := 0
		for k := range int32(f.n) {
			d := tree.Dist(f.point(q), f.point(k))
			if d <= r {
				want += len(f.idsOf(k))
			}
			if d == r {
				atEps++
			}
		}
		hist[want]++
		var got float64
		got, stack = f.countNear(cn, q, r, 0, false, stack, newNeighbours(f.n, 1))
		if got != float64(want) {
			t.Fatalf("node %d: counted %v points within eps, brute force %d", q, got, want)
		}
		for _, ms := range []int{1, 2, want, want + 1, 3 * want} {
			got, stack = f.countNear(cn, q, r, float64(ms), true, stack, newNeighbours(f.n, ms))
			if (got >= float64(ms)) != (want >= ms) {
				t.Fatalf("node %d, min_samples %d: stopped count %v, brute force %d", q, ms, got, want)
			}
		}
	}
	if atEps == 0 || len(hist) < 3 {
		t.Fatalf("%d pairs at eps, %d distinct counts: the case tests no ties", atEps, len(hist))
	}
}
