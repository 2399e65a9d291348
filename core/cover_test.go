package core

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// coverData returns points with duplicates and ties: a coarse grid half
// the time, Gaussian noise otherwise.
func coverData(r *rand.Rand, n, dim int) []float64 {
	x := make([]float64, n*dim)
	for i := range x {
		if i/dim%2 == 0 {
			x[i] = float64(r.IntN(6))
		} else {
			x[i] = 3 * r.NormFloat64()
		}
	}
	return x
}

// checkCover checks the cover of t at level against its definition: the
// centers are exactly the nodes of level >= level (the root included),
// pairwise more than base^level apart; each point is counted by its
// nearest ancestor (or itself) among them, lies within the center's Radius
// and within base^(level+1)/(base-1) of it; and the counts sum to Len().
func checkCover[T Float](t *testing.T, tr *Tree[T], level int) {
	t.Helper()
	cover := tr.Cover(level)
	want := 0
	for _, nd := range tr.Structure() {
		if nd.Level >= level || nd.Parent < 0 {
			want++
		}
	}
	if len(cover) != want {
		t.Fatalf("level %d: %d centers, %d nodes of level >= %d", level, len(cover), want, level)
	}
	center := map[int]int{} // node index -> position in cover
	for i, c := range cover {
		center[c.Node.Index()] = i
		if c.Dist != 0 {
			t.Fatalf("level %d: a center of Cover has Dist %v", level, c.Dist)
		}
		if p, ok := c.Node.Parent(); ok {
			if _, seen := center[p.Index()]; !seen {
				t.Fatalf("level %d: center %d comes before its parent", level, c.Node.IDs()[0])
			}
		}
	}
	sep := math.Pow(tr.Base(), float64(level))
	covering := math.Pow(tr.Base(), float64(level+1)) / (tr.Base() - 1)
	for i, a := range cover {
		for _, b := range cover[i+1:] {
			if d := tr.Dist(a.Node.Point(), b.Node.Point()); !(d > sep) {
				t.Fatalf("level %d: centers %d and %d are %v apart, not more than %v", level, a.Node.IDs()[0], b.Node.IDs()[0], d, sep)
			}
		}
	}
	counts := make([]int, len(cover))
	for _, id := range tr.LiveIDs(nil) {
		nd, ok := tr.NodeOf(int(id))
		if !ok {
			t.Fatalf("live id %d has no node", id)
		}
		c := nd
		for {
			if _, ok := center[c.Index()]; ok {
				break
			}
			p, ok := c.Parent()
			if !ok {
				t.Fatalf("id %d has no ancestor in the cover", id)
			}
			c = p
		}
		i := center[c.Index()]
		counts[i]++
		d := tr.Dist(nd.Point(), c.Point())
		if !within(tr.MetricDistance(d), cover[i].Radius) {
			t.Fatalf("level %d: id %d is %v from its center %d, beyond its radius %v", level, id, d, c.IDs()[0], cover[i].Radius)
		}
		if !(d < covering*(1+1e-9)) {
			t.Fatalf("level %d: id %d is %v from its center, not within %v", level, id, d, covering)
		}
	}
	total := 0
	for i, c := range cover {
		if c.Count != counts[i] {
			t.Fatalf("level %d: center %d counts %d points, %d are under it", level, c.Node.IDs()[0], c.Count, counts[i])
		}
		total += c.Count
	}
	if total != tr.Len() {
		t.Fatalf("level %d: counts sum to %d, the tree holds %d", level, total, tr.Len())
	}
}

// checkCentersNear compares CentersNear with a scan of the cover.
func checkCentersNear[T Float](t *testing.T, tr *Tree[T], q []T, level int, r float64) {
	t.Helper()
	got, err := tr.CentersNear(q, level, r)
	if err != nil {
		t.Fatal(err)
	}
	pq, err := tr.PreparePoint(q)
	if err != nil {
		t.Fatal(err)
	}
	type hit struct {
		id int32
		d  float64
	}
	var want []hit
	for _, c := range tr.Cover(level) {
		if d := tr.MetricDistance(tr.Dist(pq, c.Node.Point())); d <= r {
			want = append(want, hit{c.Node.IDs()[0], d})
		}
	}
	slices.SortFunc(want, func(a, b hit) int {
		if a.d != b.d {
			if a.d < b.d {
				return -1
			}
			return 1
		}
		return int(a.id - b.id)
	})
	if len(got) != len(want) {
		t.Fatalf("level %d, r=%v: %d centers, a scan finds %d", level, r, len(got), len(want))
	}
	for i := range got {
		if got[i].Node.IDs()[0] != want[i].id || got[i].Dist != want[i].d {
			t.Fatalf("level %d, r=%v: answer %d is center %d at %v, want %d at %v", level, r, i, got[i].Node.IDs()[0], got[i].Dist, want[i].id, want[i].d)
		}
	}
}

func TestCover(t *testing.T) {
	metrics := []Metric{{Kind: Euclidean}, {Kind: Manhattan}, {Kind: Chebyshev}, {Kind: Minkowski, P: 3}, {Kind: Cosine}}
	for _, m := range metrics {
		for _, base := range []float64{2, 1.5} {
			t.Run(m.String(), func(t *testing.T) {
				r := rand.New(rand.NewPCG(3, uint64(m.Kind)))
				const dim = 3
				x := coverData(r, 300, dim)
				if m.Kind == Cosine {
					for i := range x {
						x[i] += 20
					}
				}
				tr, err := Build(x, dim, Options{Metric: m, Base: base, Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				// After updates, and on the version before them.
				ins, _, err := tr.Insert(coverData(r, 100, dim), UpdateOptions{Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				del, err := ins.Delete([]int64{0, 5, 17, 301, 350}, UpdateOptions{Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range []*Tree[float64]{tr, ins, del} {
					s := v.Stats()
					for level := s.MinLevel - 1; level <= s.MaxLevel+1; level++ {
						checkCover(t, v, level)
						q := coverData(r, 1, dim)
						if m.Kind == Cosine {
							q[0] += 20
						}
						for _, rr := range []float64{0, 0.5, 3, math.Inf(1)} {
							checkCentersNear(t, v, q, level, rr)
						}
					}
				}
			})
		}
	}
}

func TestCoverFloat32AndEdgeCases(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	x64 := coverData(r, 200, 2)
	x := make([]float32, len(x64))
	for i, v := range x64 {
		x[i] = float32(v)
	}
	tr, err := Build(x, 2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := tr.Stats()
	for level := s.MinLevel; level <= s.MaxLevel; level++ {
		checkCover(t, tr, level)
		checkCentersNear(t, tr, x[:2], level, 2)
	}
	if c := tr.Cover(math.MaxInt); len(c) != 1 || c[0].Count != tr.Len() {
		t.Fatalf("a level above the root: %d centers", len(c))
	}
	if c := tr.Cover(math.MinInt); len(c) != tr.Nodes() {
		t.Fatalf("a level below every node: %d centers for %d nodes", len(c), tr.Nodes())
	}
	for _, bad := range []float64{-1, math.NaN()} {
		if _, err := tr.CentersNear(x[:2], 0, bad); err == nil {
			t.Fatalf("CentersNear accepted max distance %v", bad)
		}
	}
	if _, err := tr.CentersNear(x[:3], 0, 1); err == nil {
		t.Fatal("CentersNear accepted a point of the wrong dimension")
	}
	if _, err := tr.CentersNear([]float32{float32(math.NaN()), 0}, 0, 1); err == nil {
		t.Fatal("CentersNear accepted a NaN coordinate")
	}
	empty, err := tr.Delete(tr.LiveIDs(nil), UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := empty.Cover(0); c != nil {
		t.Fatal("an empty tree has a cover")
	}
	if c, err := empty.CentersNear(x[:2], 0, 1); c != nil || err != nil {
		t.Fatal("an empty tree has centers near a point")
	}
}
