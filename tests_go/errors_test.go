package coretest

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// mustFail runs f, which must return an error and must not panic.
func mustFail(t *testing.T, name string, f func() error) {
	t.Helper()
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("PANIC: %v", r)
				t.Errorf("%s panicked: %v", name, r)
			}
		}()
		return f()
	}()
	switch {
	case err == nil:
		t.Errorf("%s: no error", name)
	case strings.Contains(err.Error(), "panicked"):
		// A recovered panic is an internal error, not input validation.
		t.Errorf("%s: the error comes from a recovered panic, not from validation: %v", name, err)
	default:
		t.Logf("%s: %v", name, err)
	}
}

// TestBadBuildInputs checks that Build rejects invalid data and metrics
// with an error.
func TestBadBuildInputs(t *testing.T) {
	t.Parallel()
	t.Run("float64", func(t *testing.T) { runBadBuild[float64](t) })
	t.Run("float32", func(t *testing.T) { runBadBuild[float32](t) })
}

func runBadBuild[T core.Float](t *testing.T) {
	good := []T{0, 1, 2, 3, 4, 5}
	nan, inf := T(math.NaN()), T(math.Inf(1))
	cases := []struct {
		name string
		data []T
		dim  int
		m    core.Metric
	}{
		{"dim=0", good, 0, core.Metric{}},
		{"dim=-1", good, -1, core.Metric{}},
		{"nil data", nil, 3, core.Metric{}},
		{"empty data", []T{}, 3, core.Metric{}},
		{"ragged rows", good, 4, core.Metric{}},
		{"NaN", []T{0, 1, nan, 3}, 2, core.Metric{}},
		{"NaN first", []T{nan, 1, 2, 3}, 2, core.Metric{}},
		{"+Inf", []T{0, 1, 2, inf}, 2, core.Metric{}},
		{"-Inf", []T{0, -inf, 2, 3}, 2, core.Metric{}},
		{"minkowski p=0.5", good, 2, core.Metric{Kind: core.Minkowski, P: 0.5}},
		{"minkowski p=0", good, 2, core.Metric{Kind: core.Minkowski}},
		{"minkowski p=NaN", good, 2, core.Metric{Kind: core.Minkowski, P: math.NaN()}},
		{"unknown metric kind", good, 2, core.Metric{Kind: core.MetricKind(99)}},
		{"negative metric kind", good, 2, core.Metric{Kind: core.MetricKind(-1)}},
	}
	for _, base := range []float64{1, 0.5, -2, 16.5, math.NaN(), math.Inf(1)} {
		mustFail(t, fmt.Sprintf("Build base=%v", base), func() error {
			_, err := core.Build(good, 2, core.Options{Base: base})
			return err
		})
	}
	for _, c := range cases {
		mustFail(t, "Build "+c.name, func() error {
			tr, err := core.Build(c.data, c.dim, core.Options{Metric: c.m})
			if err == nil && tr == nil {
				return fmt.Errorf("nil tree and nil error")
			}
			return err
		})
	}
}

// TestParseMetric checks names, aliases, canonical forms and rejections.
func TestParseMetric(t *testing.T) {
	t.Parallel()
	ok := []struct {
		name string
		p    float64
		want core.Metric
	}{
		{"euclidean", 0, core.Metric{Kind: core.Euclidean}},
		{"L2", 0, core.Metric{Kind: core.Euclidean}},
		{"manhattan", 0, core.Metric{Kind: core.Manhattan}},
		{"cityblock", 0, core.Metric{Kind: core.Manhattan}},
		{"l1", 0, core.Metric{Kind: core.Manhattan}},
		{"chebyshev", 0, core.Metric{Kind: core.Chebyshev}},
		{"infinity", 0, core.Metric{Kind: core.Chebyshev}},
		{"minkowski", 3, core.Metric{Kind: core.Minkowski, P: 3}},
		{"minkowski", 1.5, core.Metric{Kind: core.Minkowski, P: 1.5}},
		{"minkowski", 1, core.Metric{Kind: core.Manhattan}},
		{"minkowski", 2, core.Metric{Kind: core.Euclidean}},
		{"minkowski", math.Inf(1), core.Metric{Kind: core.Chebyshev}},
		{"cosine", 0, core.Metric{Kind: core.Cosine}},
		{"haversine", 0, core.Metric{Kind: core.Haversine}},
	}
	for _, c := range ok {
		got, err := core.ParseMetric(c.name, c.p)
		if err != nil || got != c.want {
			t.Errorf("ParseMetric(%q, %v) = %v, %v; want %v", c.name, c.p, got, err, c.want)
		}
	}
	for _, c := range []struct {
		name string
		p    float64
	}{{"correlation", 0}, {"", 0}, {"minkowski", 0.5}, {"minkowski", math.NaN()}, {"minkowski", -2}} {
		mustFail(t, fmt.Sprintf("ParseMetric(%q, %v)", c.name, c.p), func() error {
			_, err := core.ParseMetric(c.name, c.p)
			return err
		})
	}
}

// TestDistanceValues pins core.Distance on a few exact cases, including
// the rescaling that keeps tiny and huge differences finite and non-zero.
func TestDistanceValues(t *testing.T) {
	t.Parallel()
	a, b := []float64{0, 0, 0}, []float64{3, -4, 12}
	for _, c := range []struct {
		m    core.Metric
		want float64
	}{
		{core.Metric{Kind: core.Euclidean}, 13},
		{core.Metric{Kind: core.Manhattan}, 19},
		{core.Metric{Kind: core.Chebyshev}, 12},
		{core.Metric{Kind: core.Minkowski, P: 3}, math.Cbrt(27 + 64 + 1728)},
	} {
		if got := core.Distance(c.m, a, b); math.Abs(got-c.want) > 1e-12*c.want {
			t.Errorf("Distance(%v) = %v, want %v", c.m, got, c.want)
		}
		if got := core.Distance(c.m, b, a); got != core.Distance(c.m, a, b) {
			t.Errorf("Distance(%v) is not symmetric", c.m)
		}
	}
	tiny := []float64{1e-200, 0}
	huge := []float64{1e200, -1e200}
	for _, mc := range metrics {
		if d := core.Distance(mc.m, tiny, []float64{0, 0}); d <= 0 || math.IsInf(d, 0) {
			t.Errorf("%s distance of a tiny difference = %v", mc.name, d)
		}
		if d := core.Distance(mc.m, huge, []float64{0, 0}); math.IsInf(d, 0) || math.IsNaN(d) {
			t.Errorf("%s distance of a huge difference = %v", mc.name, d)
		}
		f32 := core.Distance(mc.m, []float32{1, 2, 3}, []float32{2, 0, 3.5})
		f64 := core.Distance(mc.m, []float64{1, 2, 3}, []float64{2, 0, 3.5})
		if f32 != f64 {
			t.Errorf("%s: float32 rows give %v, float64 rows %v", mc.name, f32, f64)
		}
	}
}

// TestBadQueryInputs checks that every query entry point rejects invalid
// arguments with an error, never a panic, and that the tree still answers
// correctly afterwards.
func TestBadQueryInputs(t *testing.T) {
	t.Parallel()
	t.Run("float64", func(t *testing.T) { runBadQueries[float64](t) })
	t.Run("float32", func(t *testing.T) { runBadQueries[float32](t) })
}

func runBadQueries[T core.Float](t *testing.T) {
	const n, dim = 10, 3
	data := make([]T, n*dim)
	for i := range data {
		data[i] = T(i % 7)
	}
	tr := build(t, data, dim, core.Metric{}, 1)
	q := []T{1, 2, 3}
	nan, inf := T(math.NaN()), T(math.Inf(-1))
	out := func(m int) ([]T, []int64) { return make([]T, m), make([]int64, m) }
	knnB := func(b core.Batch[T], k, room int) func() error {
		return func() error {
			d, i := out(room)
			return tr.KNearestBatch(b, k, d, i)
		}
	}
	radB := func(b core.Batch[T], r float64) func() error {
		return func() error {
			_, err := tr.WithinBatch(b, r, true)
			return err
		}
	}
	for _, c := range []struct {
		name string
		f    func() error
	}{
		{"KNearest k=0", func() error { _, err := tr.KNearest(q, 0); return err }},
		{"KNearest k=n+1", func() error { _, err := tr.KNearest(q, n+1); return err }},
		{"KNearest NaN query", func() error { _, err := tr.KNearest([]T{1, nan, 3}, 1); return err }},
		{"KNearest -Inf query", func() error { _, err := tr.KNearest([]T{1, 2, inf}, 1); return err }},
		{"KNearest short query", func() error { _, err := tr.KNearest([]T{1, 2}, 1); return err }},
		{"KNearest long query", func() error { _, err := tr.KNearest([]T{1, 2, 3, 4}, 1); return err }},
		{"KNearest nil query", func() error { _, err := tr.KNearest(nil, 1); return err }},
		{"Within r=-1", func() error { _, err := tr.Within(q, -1); return err }},
		{"Within r=NaN", func() error { _, err := tr.Within(q, math.NaN()); return err }},
		{"Within r=-Inf", func() error { _, err := tr.Within(q, math.Inf(-1)); return err }},
		{"Within NaN query", func() error { _, err := tr.Within([]T{nan, 2, 3}, 1); return err }},
		{"Within short query", func() error { _, err := tr.Within([]T{1}, 1); return err }},
		{"KNearestBatch k=0", knnB(core.Batch[T]{Points: q}, 0, 10)},
		{"KNearestBatch k=n+1", knnB(core.Batch[T]{Points: q}, n+1, 100)},
		{"KNearestBatch self k=n", knnB(core.Batch[T]{First: 0, Count: 2}, n, 100)},
		{"KNearestBatch NaN point", knnB(core.Batch[T]{Points: []T{1, 2, 3, 4, nan, 6}}, 1, 10)},
		{"KNearestBatch ragged points", knnB(core.Batch[T]{Points: []T{1, 2, 3, 4}}, 1, 10)},
		{"KNearestBatch First<0", knnB(core.Batch[T]{First: -1, Count: 2}, 1, 10)},
		{"KNearestBatch Count<0", knnB(core.Batch[T]{First: 0, Count: -1}, 1, 10)},
		{"KNearestBatch First+Count>n", knnB(core.Batch[T]{First: 5, Count: 6}, 1, 10)},
		{"KNearestBatch unknown strategy", knnB(core.Batch[T]{Points: q, Strategy: core.Strategy(7)}, 1, 10)},
		{"KNearestBatch negative strategy", knnB(core.Batch[T]{Points: q, Strategy: core.Strategy(-1)}, 1, 10)},
		{"KNearestBatch output too small", knnB(core.Batch[T]{Points: []T{1, 2, 3, 4, 5, 6}}, 2, 3)},
		{"KNearestBatch self output too small", knnB(core.Batch[T]{First: 0, Count: n}, 1, n-1)},
		{"WithinBatch r=-0.5", radB(core.Batch[T]{Points: q}, -0.5)},
		{"WithinBatch r=NaN", radB(core.Batch[T]{Points: q}, math.NaN())},
		{"WithinBatch Inf point", radB(core.Batch[T]{Points: []T{1, 2, -inf}}, 1)},
		{"WithinBatch ragged points", radB(core.Batch[T]{Points: []T{1, 2}}, 1)},
		{"WithinBatch First+Count>n", radB(core.Batch[T]{First: n, Count: 1}, 1)},
		{"WithinBatch First<0", radB(core.Batch[T]{First: -3, Count: 1}, 1)},
		{"Fill too small", func() error {
			res, err := tr.WithinBatch(core.Batch[T]{Points: q}, 100, true)
			if err != nil {
				return fmt.Errorf("unexpected: %w", err)
			}
			d, i := out(int(res.Total()) - 1)
			return res.Fill(d, i)
		}},
	} {
		mustFail(t, c.name, c.f)
	}
	// One-point trees have no neighbours for self-queries.
	one := build(t, []T{1, 2, 3}, dim, core.Metric{}, 1)
	mustFail(t, "self-query on a one-point tree", func() error {
		d, i := out(1)
		return one.KNearestBatch(core.Batch[T]{First: 0, Count: 1}, 1, d, i)
	})
	// The tree still answers correctly.
	got, err := tr.KNearest(q, n)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffNeighbors(got, expect[T](bruteSorted(core.Metric{}, data, dim, q, -1))); d != "" {
		t.Fatalf("after bad inputs: %s", d)
	}
}

// TestKNearestNegativeK: KNearest must reject a negative or absurd k with an
// error like k=0. It allocates its output (make([]T, k)) before validating
// k, so k=-1 and k=math.MaxInt panic with "makeslice: len out of range".
func TestKNearestNegativeK(t *testing.T) {
	t.Parallel()
	tr := build(t, []float64{0, 1, 2}, 1, core.Metric{}, 1)
	for _, k := range []int{-1, math.MinInt, math.MaxInt} {
		mustFail(t, fmt.Sprintf("KNearest k=%d", k), func() error { _, err := tr.KNearest([]float64{0.5}, k); return err })
	}
}

// TestSelfQueryRangeOverflow: a self-query batch whose First+Count
// overflows int must be rejected like any other out-of-range run. The range
// check in Batch.count computes b.First+b.Count > t.n, which wraps negative,
// so the batch is accepted: KNearestBatch then indexes caller index
// math.MaxInt inside a worker (an "index out of range" panic, recovered as
// an internal error), and WithinBatch allocates math.MaxInt counts
// ("makeslice: len out of range", a panic that reaches the caller).
func TestSelfQueryRangeOverflow(t *testing.T) {
	t.Parallel()
	tr := build(t, []float64{0, 1, 2, 3}, 1, core.Metric{}, 1)
	mustFail(t, "KNearestBatch First=MaxInt Count=1", func() error {
		return tr.KNearestBatch(core.Batch[float64]{First: math.MaxInt, Count: 1}, 1, make([]float64, 1), make([]int64, 1))
	})
	mustFail(t, "WithinBatch First=1 Count=MaxInt", func() error {
		_, err := tr.WithinBatch(core.Batch[float64]{First: 1, Count: math.MaxInt}, 1, true)
		return err
	})
}

// TestEmptyTree checks that a tree emptied by deletions answers radius
// queries with nothing, refuses k-NN queries with an error, and accepts
// new points.
func TestEmptyTree(t *testing.T) {
	tr, err := core.Build([]float64{0, 0, 1, 1, 1, 1}, 2, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := tr.Delete(tr.LiveIDs(nil), core.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.Check(); err != nil {
		t.Fatal(err)
	}
	res, err := empty.WithinBatch(core.Batch[float64]{Points: []float64{0, 0, 5, 5}}, 10, true)
	if err != nil || res.Total() != 0 || len(res.Counts()) != 2 {
		t.Fatalf("radius query on an empty tree: %v, %v", res, err)
	}
	if _, err := empty.KNearest([]float64{0, 0}, 1); err == nil {
		t.Fatal("a k-NN query on an empty tree succeeded")
	}
	again, first, err := empty.Insert([]float64{3, 3}, core.UpdateOptions{})
	if err != nil || first != 3 || again.Len() != 1 {
		t.Fatalf("insert into an empty tree: first id %d, %d points, %v", first, again.Len(), err)
	}
	if err := again.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestStructure checks the node listing against the tree's own counts.
func TestStructure(t *testing.T) {
	data := []float64{0, 0, 0, 0, 1, 0, 5, 5, 5, 6, 9, 9}
	tr, err := core.Build(data, 2, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nodes := tr.Structure()
	if len(nodes) != tr.Nodes() {
		t.Fatalf("%d nodes listed, the tree has %d", len(nodes), tr.Nodes())
	}
	seen := map[int]core.NodeInfo{}
	points := 0
	for i, nd := range nodes {
		if (i == 0) != (nd.Parent == -1) {
			t.Fatalf("node %d (%+v): only the first node is the root", i, nd)
		}
		if i > 0 {
			p, ok := seen[nd.Parent]
			if !ok || p.Level <= nd.Level {
				t.Fatalf("node %+v: parent %+v listed later or not above it", nd, p)
			}
		}
		seen[nd.ID] = nd
		points += nd.Count
	}
	if points != tr.Len() || seen[0].Count != 2 {
		t.Fatalf("%d points listed (want %d); the duplicated point holds %d", points, tr.Len(), seen[0].Count)
	}
}
