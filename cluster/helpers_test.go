package cluster

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// testMetrics lists every metric the tests run.
var testMetrics = []struct {
	name string
	m    core.Metric
}{
	{"euclidean", core.Metric{Kind: core.Euclidean}},
	{"manhattan", core.Metric{Kind: core.Manhattan}},
	{"chebyshev", core.Metric{Kind: core.Chebyshev}},
	{"minkowski3", core.Metric{Kind: core.Minkowski, P: 3}},
	{"cosine", core.Metric{Kind: core.Cosine}},
	{"haversine", core.Metric{Kind: core.Haversine}},
}

// dataset is a named generator of row-major test points.
type dataset struct {
	name string
	gen  func(r *rand.Rand, n, dim int) []float64
}

// datasets covers the cases that break spanning trees and clusterings:
// continuous data, a coarse integer grid (many equal distances and
// duplicates), and tight clusters with many exact duplicates.
var datasets = []dataset{
	{"uniform", func(r *rand.Rand, n, dim int) []float64 {
		x := make([]float64, n*dim)
		for i := range x {
			x[i] = r.Float64()
		}
		return x
	}},
	{"grid", func(r *rand.Rand, n, dim int) []float64 {
		x := make([]float64, n*dim)
		for i := range x {
			x[i] = float64(r.IntN(5))
		}
		return x
	}},
	{"blobs", func(r *rand.Rand, n, dim int) []float64 {
		centers := make([]float64, 4*dim)
		for i := range centers {
			centers[i] = 10 * r.Float64()
		}
		x := make([]float64, n*dim)
		for i := range n {
			c := r.IntN(4)
			dup := i > 0 && r.IntN(5) == 0
			for j := range dim {
				if dup {
					x[i*dim+j] = x[(i-1)*dim+j]
				} else {
					x[i*dim+j] = centers[c*dim+j] + 0.3*r.NormFloat64()
				}
			}
		}
		return x
	}},
}

// forMetric adapts generated points to a metric's domain: haversine takes
// (latitude, longitude) in radians, cosine refuses zero vectors.
func forMetric(m core.Metric, x []float64, dim int) []float64 {
	x = slices.Clone(x)
	switch m.Kind {
	case core.Haversine:
		lo, hi := slices.Min(x), slices.Max(x)
		for i := range x {
			v := (x[i] - lo) / max(hi-lo, 1)
			if i%dim == 0 {
				x[i] = (v - 0.5) * math.Pi * 0.9
			} else {
				x[i] = (v - 0.5) * 2 * math.Pi * 0.9
			}
		}
	case core.Cosine:
		for i := range x {
			x[i] += 0.5
		}
	}
	return x
}

func dimFor(m core.Metric, dim int) int {
	if m.Kind == core.Haversine {
		return 2
	}
	return dim
}

func convert[T core.Float](x []float64) []T {
	out := make([]T, len(x))
	for i, v := range x {
		out[i] = T(v)
	}
	return out
}

// bruteMST returns the weights of a minimum spanning tree of the points,
// ascending, by Prim's algorithm on the full distance matrix, computed on
// the fly by pointDist.
func bruteMST[T core.Float](tree *core.Tree[T], x []T, dim int) []float64 {
	return brutePrim(len(x)/dim, func(i, j int) float64 {
		return pointDist(tree, x, dim, i, j)
	})
}

// pointDist is the ground truth for the distance between rows i and j of
// x, the points of tree: core.Distance on the rows, except under Cosine,
// where a float32 tree stores the points normalised in float32 and
// measures them so (as every search of the tree does); the reference then
// measures the stored points.
func pointDist[T core.Float](tree *core.Tree[T], x []T, dim, i, j int) float64 {
	if tree.Metric().Kind == core.Cosine {
		return tree.MetricDistance(tree.Dist(tree.Point(i), tree.Point(j)))
	}
	return core.Distance(tree.Metric(), x[i*dim:(i+1)*dim], x[j*dim:(j+1)*dim])
}

// brutePrim returns the sorted weights of a minimum spanning tree of the
// complete graph on n vertices with weights w.
func brutePrim(n int, w func(i, j int) float64) []float64 {
	in := make([]bool, n)
	key := make([]float64, n)
	for i := range key {
		key[i] = math.Inf(1)
	}
	key[0] = 0
	var out []float64
	for range n {
		u := -1
		for v := range n {
			if !in[v] && (u < 0 || key[v] < key[u]) {
				u = v
			}
		}
		in[u] = true
		if u != 0 {
			out = append(out, key[u])
		}
		for v := range n {
			if !in[v] {
				key[v] = min(key[v], w(u, v))
			}
		}
	}
	slices.Sort(out)
	return out
}

// bruteReachabilityPrim returns the sorted weights of a minimum spanning
// tree of n points under the mutual reachability distance of min_samples
// ms (the distance d itself for ms 0), from all pairs.
func bruteReachabilityPrim(n int, d func(i, j int) float64, ms int) []float64 {
	coreD := make([]float64, n)
	if ms > 0 {
		all := make([]float64, n)
		for i := range n {
			for j := range n {
				all[j] = d(i, j)
			}
			slices.Sort(all)
			coreD[i] = all[ms-1]
		}
	}
	return brutePrim(n, func(i, j int) float64 { return max(coreD[i], coreD[j], d(i, j)) })
}

// checkSpanning checks that edges form a spanning tree of the given caller
// indices, each edge's distance being the distance between its points.
func checkSpanning[T core.Float](t *testing.T, tree *core.Tree[T], edges []Edge, ids []int64, tol float64) {
	t.Helper()
	if len(edges) != len(ids)-1 {
		t.Fatalf("%d edges for %d points", len(edges), len(ids))
	}
	parent := map[int]int{}
	for _, id := range ids {
		parent[int(id)] = int(id)
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			x = parent[x]
		}
		return x
	}
	for i, e := range edges {
		if _, ok := parent[e.I]; !ok {
			t.Fatalf("edge %d names %d, not a live point", i, e.I)
		}
		if _, ok := parent[e.J]; !ok {
			t.Fatalf("edge %d names %d, not a live point", i, e.J)
		}
		if e.I >= e.J {
			t.Fatalf("edge %d = (%d, %d) is not ordered", i, e.I, e.J)
		}
		if i > 0 && e.Dist < edges[i-1].Dist {
			t.Fatalf("edges are not sorted by distance at %d", i)
		}
		d := core.Distance(tree.Metric(), tree.Point(e.I), tree.Point(e.J))
		if tree.Metric().Kind == core.Cosine {
			d = tree.MetricDistance(tree.Dist(tree.Point(e.I), tree.Point(e.J)))
		}
		if math.Abs(d-e.Dist) > tol*(1+d) {
			t.Fatalf("edge %d = (%d, %d) has distance %v, its points are %v apart", i, e.I, e.J, e.Dist, d)
		}
		a, b := find(e.I), find(e.J)
		if a == b {
			t.Fatalf("edge %d = (%d, %d) closes a cycle", i, e.I, e.J)
		}
		parent[a] = b
	}
}

func closeWeights(t *testing.T, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d weights, want %d", len(got), len(want))
	}
	var sg, sw float64
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("weight %d is %v, want %v", i, got[i], want[i])
		}
		sg += got[i]
		sw += want[i]
	}
	if math.Abs(sg-sw) > tol*(1+sw)*float64(len(got)) {
		t.Fatalf("total weight %v, want %v", sg, sw)
	}
}
