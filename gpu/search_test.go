package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// dataset makes n points of dimension dim of a kind built to break a
// margin: "random" (Gaussian), "offset" (Gaussian around 1e4 in float32:
// the GEMM expansion's cancellation), "ties" (a grid of small integers:
// duplicates and exact ties), "near" (pairs of points a few ulps apart).
func dataset[T core.Float](kind string, n, dim int, rng *rand.Rand) []T {
	pts := make([]T, n*dim)
	for i := range pts {
		switch kind {
		case "random":
			pts[i] = T(rng.NormFloat64())
		case "offset":
			pts[i] = T(1e4 + rng.NormFloat64())
		case "ties":
			pts[i] = T(rng.IntN(3) + 1)
		case "sphere":
			// Unit vectors, filled in below.
			pts[i] = T(rng.NormFloat64())
		case "near":
			if i >= dim && i/dim%2 == 1 {
				v := pts[i-dim]
				for range rng.IntN(3) {
					v = T(math.Nextafter(float64(v), math.Inf(1)))
					if _, ok := any(v).(float32); ok {
						v = T(math.Nextafter32(float32(pts[i-dim]), float32(math.Inf(1))))
					}
				}
				pts[i] = v
			} else {
				pts[i] = T(1 + rng.Float64())
			}
		}
	}
	if kind == "sphere" {
		for i := 0; i < len(pts); i += dim {
			var s float64
			for _, v := range pts[i : i+dim] {
				s += float64(v) * float64(v)
			}
			for j := range dim {
				pts[i+j] = T(float64(pts[i+j]) / math.Sqrt(s))
			}
		}
	}
	return pts
}

func queries[T core.Float](kind string, pts []T, nq, dim int, rng *rand.Rand) []T {
	q := make([]T, nq*dim)
	n := len(pts) / dim
	for i := range nq {
		src := pts[rng.IntN(n)*dim:][:dim]
		for j := range dim {
			switch {
			case kind == "ties":
				q[i*dim+j] = T(rng.IntN(4) + 1) // on the grid: ties everywhere
			case kind == "sphere":
				// Near the centre: every point at distance 1, up to rounding.
				q[i*dim+j] = T(1e-7 * rng.NormFloat64())
			case i%3 == 0:
				q[i*dim+j] = src[j] // a data point: distance 0
			default:
				q[i*dim+j] = src[j] + T(rng.NormFloat64()*0.1)
			}
		}
	}
	return q
}

func testSearch[T core.Float](t *testing.T, kind string, m core.Metric, dim int, budget int64) {
	rng := rand.New(rand.NewPCG(uint64(dim), uint64(len(kind))))
	n, nq := 200, 40
	pts := dataset[T](kind, n, dim, rng)
	tree, err := core.Build(pts, dim, core.Options{Metric: m, Seed: 1, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	sim := newSim(1 << 30)
	dev := newDevice(sim)
	ix, err := NewIndex(dev, tree.Flat())
	if err != nil {
		t.Fatal(err)
	}
	ix.memBudget = budget
	q := queries(kind, pts, nq, dim, rng)
	label := fmt.Sprintf("%T %s %v dim=%d budget=%d", pts[0], kind, m, dim, budget)
	batches := []core.Batch[T]{{Points: q, Jobs: 2}, {First: 5, Count: nq, Jobs: 2}, {IDs: []int64{7, 0, 199, 7}}}
	for _, b := range batches {
		bq := nq
		if b.IDs != nil {
			bq = len(b.IDs)
		}
		avail := n
		if b.Points == nil {
			avail--
		}
		for _, k := range []int{1, 10, avail} {
			want, wantIdx := make([]T, bq*k), make([]int64, bq*k)
			if err := tree.KNearestBatch(b, k, want, wantIdx); err != nil {
				t.Fatal(err)
			}
			got, gotIdx := make([]T, bq*k), make([]int64, bq*k)
			if err := ix.KNearest(mustQueries(t, tree, b), k, got, gotIdx); err != nil {
				t.Fatalf("%s k=%d: %v", label, k, err)
			}
			if !slices.Equal(gotIdx, wantIdx) || !slices.Equal(got, want) {
				t.Fatalf("%s k=%d fitted=%v: GPU answer differs from the CPU's", label, k, b.Points == nil)
			}
		}
		// Radii: 0 (duplicates only), a typical one, and one covering all.
		for _, r := range []float64{0, radiusFor(tree, q, m), 1e30} {
			want, err := tree.WithinBatch(b, r, true)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ix.Within(mustQueries(t, tree, b), r, true)
			if err != nil {
				t.Fatalf("%s r=%v: %v", label, r, err)
			}
			if !sameRadius(got, want) {
				t.Fatalf("%s r=%v: GPU radius answer differs from the CPU's", label, r)
			}
		}
	}
	if budget > 0 && budget < int64(n)*4*int64(nq) && sim.launches[ix.kernel("pcct_dist")] < 2 {
		t.Fatalf("%s: a budget of %d bytes did not split the queries into chunks", label, budget)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if len(sim.mem) != 0 {
		t.Fatalf("%s: %d device buffers left allocated", label, len(sim.mem))
	}
}

// sameRadius reports whether two radius results hold the same answers in
// the same order, bit for bit.
func sameRadius[T core.Float](got, want *core.RadiusResult[T]) bool {
	gd, gi := make([]T, got.Total()), make([]int64, got.Total())
	wd, wi := make([]T, want.Total()), make([]int64, want.Total())
	got.Fill(gd, gi)
	want.Fill(wd, wi)
	return slices.Equal(got.Counts(), want.Counts()) && slices.Equal(gi, wi) && slices.Equal(gd, wd)
}

func mustQueries[T core.Float](t *testing.T, tree *core.Tree[T], b core.Batch[T]) core.Query[T] {
	t.Helper()
	q, err := tree.Queries(b)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// radiusFor returns the distance from the first query to its 20th
// neighbour: a radius with a few answers per query.
func radiusFor[T core.Float](tree *core.Tree[T], q []T, m core.Metric) float64 {
	nb, err := tree.KNearest(q[:tree.Dim()], 20)
	if err != nil {
		panic(err)
	}
	return nb[19].Dist
}

func TestSearchSimulated(t *testing.T) {
	metrics := []core.Metric{{Kind: core.Euclidean}, {Kind: core.Manhattan}, {Kind: core.Chebyshev}, {Kind: core.Cosine}}
	for _, kind := range []string{"random", "offset", "ties", "near", "sphere"} {
		for _, m := range metrics {
			for _, dim := range []int{3, 40} { // 40: the GEMM expansion for Euclidean and cosine
				if (testing.Short() && dim == 3 && kind != "near" && kind != "sphere") || (kind == "sphere" && m.Kind == core.Cosine) {
					continue // the origin has no cosine distance
				}
				testSearch[float32](t, kind, m, dim, 0)
				testSearch[float64](t, kind, m, dim, 0)
			}
		}
	}
	// Queries in chunks: a budget for about 13 queries at a time.
	testSearch[float32](t, "random", core.Metric{}, 3, 200*4*13)
	testSearch[float64](t, "ties", core.Metric{}, 40, 200*4*13)
}

func TestUnsupportedMetric(t *testing.T) {
	for _, m := range []core.Metric{{Kind: core.Haversine}, {Kind: core.Minkowski, P: 3}} {
		dim := 2
		tree, err := core.Build([]float64{0, 0, 0.5, 0.5}, dim, core.Options{Metric: m})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewIndex(newDevice(newSim(1<<20)), tree.Flat()); err == nil {
			t.Fatalf("%v: accepted on the GPU", m)
		}
	}
	// Minkowski with p = 1, 2, inf is one of the supported metrics.
	if _, err := modeFor(core.Metric{Kind: core.Minkowski, P: 1}, 3); err != nil {
		t.Fatal(err)
	}
}

func TestSearchErrors(t *testing.T) {
	pts := []float32{0, 1, 2, 3}
	tree, err := core.Build(pts, 1, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := NewIndex(newDevice(newSim(1<<20)), tree.Flat())
	if err != nil {
		t.Fatal(err)
	}
	one := core.Query[float32]{Points: []float32{1}}
	if err := ix.KNearest(one, 5, make([]float32, 5), make([]int64, 5)); err == nil {
		t.Fatal("k > n accepted")
	}
	if err := ix.KNearest(core.Query[float32]{Points: []float32{1, 2}, Exclude: []int32{0}}, 1, make([]float32, 2), make([]int64, 2)); err == nil {
		t.Fatal("an exclusion list of the wrong length accepted")
	}
	if _, err := ix.Within(one, -1, true); err == nil {
		t.Fatal("negative radius accepted")
	}
	ix.memBudget = 3 // not one query's distances
	if err := ix.KNearest(one, 1, make([]float32, 1), make([]int64, 1)); !errors.Is(err, ErrOutOfMemory) {
		t.Fatalf("a budget too small for one query: %v, want ErrOutOfMemory", err)
	}
	// A stop request stops the search.
	ix.memBudget = 0
	stop := int64(1)
	if err := ix.KNearest(core.Query[float32]{Points: []float32{1}, Monitor: &core.Monitor{Stop: &stop}}, 1, make([]float32, 1), make([]int64, 1)); err != core.ErrStopped {
		t.Fatalf("stop request: %v, want ErrStopped", err)
	}
}

func TestEngineSimulated(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	dev := newDevice(newSim(1 << 30))
	for _, m := range []core.Metric{{Kind: core.Euclidean}, {Kind: core.Manhattan}, {Kind: core.Chebyshev}, {Kind: core.Cosine}} {
		for _, dim := range []int{2, 16, 100} {
			for _, kind := range []string{"random", "offset", "near"} {
				testEngine[float32](t, dev.Engine(), m, dataset[float32](kind, 200, dim, rng), dim, rng)
				testEngine[float64](t, dev.Engine(), m, dataset[float64](kind, 200, dim, rng), dim, rng)
			}
		}
	}
	if _, err := core.LoadEngine(dev.Engine(), []float32{0, 0}, 2, core.Metric{Kind: core.Haversine}); err == nil {
		t.Fatal("haversine accepted by the engine")
	}
}

func testEngine[T core.Float](t *testing.T, e core.Engine, m core.Metric, pts []T, dim int, rng *rand.Rand) {
	if m.Kind == core.Cosine {
		for i := 0; i < len(pts); i += dim { // the engine takes stored (normalised) points
			var s float64
			for _, v := range pts[i : i+dim] {
				s += float64(v) * float64(v)
			}
			for j := range dim {
				pts[i+j] = T(float64(pts[i+j]) / math.Sqrt(s))
			}
		}
	}
	set, err := core.LoadEngine(e, pts, dim, m)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	b := set.Bound()
	if !b.Valid() {
		t.Fatalf("invalid bound %+v", b)
	}
	km := m
	if m.Kind == core.Cosine {
		km = core.Metric{}
	}
	n := len(pts) / dim
	rows := []int32{3, 0, int32(n - 1), 3}
	centres := append(append([]T(nil), pts[:dim]...), pts[7*dim:8*dim]...)
	for _, rs := range [][]int32{rows, nil} {
		nr := len(rs)
		if rs == nil {
			nr = n
		}
		out := make([]float64, 2*nr)
		if err := set.Distances(rs, centres, out); err != nil {
			t.Fatal(err)
		}
		for j := range 2 {
			for i := range nr {
				r := i
				if rs != nil {
					r = int(rs[i])
				}
				d := core.Distance(km, pts[r*dim:(r+1)*dim], centres[j*dim:(j+1)*dim])
				if e := out[j*nr+i]; math.Abs(e-d) > b.Rel*d+b.Abs {
					t.Fatalf("%T %v dim=%d: engine distance %v, core's %v: beyond %+v", pts[0], m, dim, e, d, b)
				}
			}
		}
	}
}

// TestMarginNeeded checks that the test data does break a search without
// the error margin: on the sphere data, float32 distances selected at
// exactly the k-th computed value miss true neighbours, by direct
// differences and by the GEMM expansion.
func TestMarginNeeded(t *testing.T) {
	for _, dim := range []int{3, 40} {
		testMarginNeeded(t, dim)
	}
}

func testMarginNeeded(t *testing.T, dim int) {
	rng := rand.New(rand.NewPCG(8, 9))
	n := 300
	pts := dataset[float32]("sphere", n, dim, rng)
	tree, err := core.Build(pts, dim, core.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := NewIndex(newDevice(newSim(1<<30)), tree.Flat())
	if err != nil {
		t.Fatal(err)
	}
	ix.noMargin = true
	q := queries("sphere", pts, 200, dim, rng)
	k := 10
	want, wantIdx := make([]float32, 200*k), make([]int64, 200*k)
	if err := tree.KNearestBatch(core.Batch[float32]{Points: q}, k, want, wantIdx); err != nil {
		t.Fatal(err)
	}
	got, gotIdx := make([]float32, 200*k), make([]int64, 200*k)
	err = ix.KNearest(core.Query[float32]{Points: q}, k, got, gotIdx)
	if err == nil && slices.Equal(gotIdx, wantIdx) {
		t.Fatalf("dim=%d: without its margin the GPU search still matched the CPU: the sphere data does not test the margin", dim)
	}
}
