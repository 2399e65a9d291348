package coretest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
	"gonum.org/v1/gonum/spatial/kdtree"
	"gonum.org/v1/gonum/spatial/vptree"
)

// manhattanPoint and chebyshevPoint are vp-tree points under L1 and
// L-infinity, so gonum's vp-tree serves as an oracle for those metrics too.
type manhattanPoint []float64

func (p manhattanPoint) Distance(c vptree.Comparable) float64 {
	q := c.(manhattanPoint)
	var s float64
	for i := range p {
		s += math.Abs(p[i] - q[i])
	}
	return s
}

type chebyshevPoint []float64

func (p chebyshevPoint) Distance(c vptree.Comparable) float64 {
	q := c.(chebyshevPoint)
	var m float64
	for i := range p {
		m = max(m, math.Abs(p[i]-q[i]))
	}
	return m
}

// closeTo reports whether two distances agree to a relative 1e-12: the
// oracles sum coordinates in another order, so last bits may differ.
func closeTo(a, b float64) bool {
	return math.Abs(a-b) <= 1e-12*max(1, math.Abs(a), math.Abs(b))
}

// TestOracleVPTree checks k-NN distances against gonum's vp-tree, an
// implementation independent of this package and of the brute force used
// elsewhere, under the Euclidean, Manhattan and Chebyshev metrics.
func TestOracleVPTree(t *testing.T) {
	t.Parallel()
	const n, dim, nq, k = 4000, 5, 300, 8
	for mi, kind := range []core.MetricKind{core.Euclidean, core.Manhattan, core.Chebyshev} {
		t.Run(kind.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seedFor(mi), 21))
			data := clustered[float64](rng, n, dim)
			tr := build(t, data, dim, core.Metric{Kind: kind}, 5)
			wrap := func(r []float64) vptree.Comparable {
				switch kind {
				case core.Manhattan:
					return manhattanPoint(r)
				case core.Chebyshev:
					return chebyshevPoint(r)
				}
				return vptree.Point(r)
			}
			pts := make([]vptree.Comparable, n)
			for i := range n {
				pts[i] = wrap(row(data, dim, i))
			}
			vp, err := vptree.New(pts, 3, rand.NewPCG(1, 2))
			if err != nil {
				t.Fatal(err)
			}
			for qi := range nq {
				q := clustered[float64](rng, 1, dim)
				got, err := tr.KNearest(q, k)
				if err != nil {
					t.Fatal(err)
				}
				keep := vptree.NewNKeeper(k)
				vp.NearestSet(keep, wrap(q))
				want := make([]float64, 0, k)
				for _, c := range keep.Heap {
					want = append(want, c.Dist)
				}
				slices.Sort(want)
				for j := range k {
					if !closeTo(got[j].Dist, want[j]) {
						t.Fatalf("query %d: neighbour %d at %v, vp-tree says %v (all: %v vs %v)", qi, j, got[j].Dist, want[j], got, want)
					}
					// The index must name a point at that distance.
					if d := core.Distance(core.Metric{Kind: kind}, q, row(data, dim, got[j].Index)); d != got[j].Dist {
						t.Fatalf("query %d: neighbour %d is index %d at %v, but its distance is %v", qi, j, got[j].Index, got[j].Dist, d)
					}
				}
				// Nearest agrees as well.
				_, d1 := vp.Nearest(wrap(q))
				if !closeTo(got[0].Dist, d1) {
					t.Fatalf("query %d: nearest at %v, vp-tree Nearest says %v", qi, got[0].Dist, d1)
				}
			}
		})
	}
}

// TestOracleKDTree checks k-NN and radius answers against gonum's k-d tree
// (Euclidean; its Distance is the squared distance) in 2 and 3 dimensions,
// on float32 and float64 trees.
func TestOracleKDTree(t *testing.T) {
	t.Parallel()
	const n, nq, k = 5000, 300, 6
	for _, dim := range []int{2, 3} {
		t.Run(fmt.Sprintf("d=%d", dim), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seedFor(dim), 22))
			data := uniform[float64](rng, n, dim, 100)
			d32 := convert[float32](data)
			back := convert[float64](d32) // the float32 points, exactly
			tr64 := build(t, data, dim, core.Metric{}, 6)
			tr32 := build(t, d32, dim, core.Metric{}, 6)
			kd64 := kdTreeOf(data, dim)
			kd32 := kdTreeOf(back, dim)
			for qi := range nq {
				q := uniform[float64](rng, 1, dim, 100)
				q32 := convert[float32](q)
				checkKD(t, qi, "float64", kd64, q, k, func() ([]core.Neighbor, error) { return tr64.KNearest(q, k) })
				checkKD(t, qi, "float32", kd32, convert[float64](q32), k, func() ([]core.Neighbor, error) { return tr32.KNearest(q32, k) })
				// Radius: as many answers as the k-d tree finds within r.
				r := 3.0
				keep := kdtree.NewDistKeeper(r * r)
				kd64.NearestSet(keep, kdtree.Point(q))
				want := 0
				for _, c := range keep.Heap {
					if c.Comparable != nil {
						want++
					}
				}
				got, err := tr64.Within(q, r)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != want {
					t.Fatalf("query %d: %d points within %v, k-d tree finds %d", qi, len(got), r, want)
				}
			}
		})
	}
}

func kdTreeOf(data []float64, dim int) *kdtree.Tree {
	pts := make(kdtree.Points, len(data)/dim)
	for i := range pts {
		pts[i] = kdtree.Point(slices.Clone(row(data, dim, i)))
	}
	return kdtree.New(pts, false)
}

func checkKD(t *testing.T, qi int, label string, kd *kdtree.Tree, q []float64, k int, query func() ([]core.Neighbor, error)) {
	t.Helper()
	got, err := query()
	if err != nil {
		t.Fatal(err)
	}
	keep := kdtree.NewNKeeper(k)
	kd.NearestSet(keep, kdtree.Point(q))
	want := make([]float64, 0, k)
	for _, c := range keep.Heap {
		want = append(want, math.Sqrt(c.Dist))
	}
	slices.Sort(want)
	for j := range k {
		// float32 trees report float32 distances: allow for that rounding.
		tol := 1e-12
		if label == "float32" {
			tol = 1e-6
		}
		if math.Abs(got[j].Dist-want[j]) > tol*max(1, want[j]) {
			t.Fatalf("%s query %d: neighbour %d at %v, k-d tree says %v", label, qi, j, got[j].Dist, want[j])
		}
	}
}
