package core

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// apartRows returns groups of subgroups of per points each in dim
// dimensions: the groups' centres hundreds of times farther apart (and
// apart in direction) than their subgroups', the subgroups' tens of times
// farther apart than their points. A batch construction builds each group
// as a task and, with a threshold below per, each subgroup as a task of its
// group's. Every seventh point repeats an earlier one of its subgroup.
func apartRows(rng *rand.Rand, groups, subgroups, per, dim int) []float64 {
	out := make([]float64, 0, groups*subgroups*per*dim)
	c, s := make([]float64, dim), make([]float64, dim)
	for range groups {
		for k := range c {
			c[k] = 1000 * rng.NormFloat64()
		}
		for range subgroups {
			for k := range s {
				s[k] = c[k] + 50*rng.NormFloat64()
			}
			start := len(out)
			for i := range per {
				if i%7 == 6 {
					j := start + rng.IntN(i)*dim
					out = append(out, out[j:j+dim]...)
					continue
				}
				for k := range dim {
					out = append(out, s[k]+rng.NormFloat64()*float64(1+k%3)/4)
				}
			}
		}
	}
	return out
}

// apartLetter returns two samples of letter's rows (with repeats), the
// second shifted far from the first, or nil when the data set is missing.
func apartLetter(rng *rand.Rand, per int) []float64 {
	a, err := realRows(rng, per, 16, readLetter)
	if err != nil {
		return nil
	}
	b, _ := realRows(rng, per, 16, readLetter)
	for k := range b {
		b[k] += 1000 * float64(1+k%16%3)
	}
	return append(a, b...)
}

// withProcsDo runs fn with GOMAXPROCS at least procs, so that the build's
// thread counts are not capped by the machine's CPUs.
func withProcsDo(procs int, fn func()) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(procs, runtime.GOMAXPROCS(0))))
	fn()
}

// TestBatchTasks builds data whose subtrees the batch construction builds
// as tasks (and tasks within them) with 1, 2, 3 and 8 threads, in both
// precisions and under the metrics it takes, and checks that tasks were
// made (none on one thread), that every tree keeps the invariants, that
// the trees are the same node by node whatever the thread count and the
// same as Build's, and their answers against brute force.
func TestBatchTasks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 70))
	cases := []struct {
		name   string
		dim    int
		data   []float64
		metric Metric
	}{
		{"groups-16", 16, apartRows(rng, 3, 3, 100, 16), Metric{}},
		{"groups-8-manhattan", 8, apartRows(rng, 3, 2, 100, 8), Metric{Kind: Manhattan}},
		{"groups-6-chebyshev", 6, apartRows(rng, 2, 3, 100, 6), Metric{Kind: Chebyshev}},
		{"groups-5-minkowski", 5, apartRows(rng, 2, 2, 100, 5), Metric{Kind: Minkowski, P: 3.5}},
		{"groups-12-cosine", 12, apartRows(rng, 3, 2, 100, 12), Metric{Kind: Cosine}},
		{"letter-apart", 16, apartLetter(rng, 500), Metric{}},
		// The projection screen (192 dimensions and more, projMinRows
		// points): tasks carry their points' projections.
		{"groups-200-projected", 200, apartRows(rng, 3, 2, projMinRows/4, 200), Metric{}},
	}
	if raceEnabled {
		cases = cases[:1] // the race detector over the tasks' code; the rest without
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.data == nil {
				t.Skip("letter-recognition.data not available (set PCCT_DATASETS)")
			}
			withProcsDo(8, func() {
				batchTasksSame(t, c.data, c.dim, c.metric, rng)
				d32 := make([]float32, len(c.data))
				for i, x := range c.data {
					d32[i] = float32(x)
				}
				batchTasksSame(t, d32, c.dim, c.metric, rng)
			})
		})
	}
}

// batchTasksSame builds data with 1, 2, 3 and 8 threads, calls of 64
// points or more as tasks (with 3 and 8, sets of 32 points or more
// measured in parts where threads are free), and checks the trees (see
// TestBatchTasks).
func batchTasksSame[T Float](t *testing.T, data []T, dim int, metric Metric, rng *rand.Rand) {
	t.Helper()
	ref, err := Build(data, dim, Options{Seed: 5, Jobs: 1, Metric: metric})
	if err != nil {
		t.Fatal(err)
	}
	for _, jobs := range []int{1, 2, 3, 8} {
		opts := Options{Seed: 5, Jobs: jobs, Metric: metric}
		if jobs > 2 {
			// Sets of 32 points and more measured in parts, on the
			// threads that wait for a task, in the tasks too.
			opts.parallelMin = 32
		}
		// As Build does it, with a lower threshold for tasks.
		_, sc, err := opts.check(data, dim)
		if err != nil {
			t.Fatal(err)
		}
		prepared, err := prepare(metric, data, dim)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi, err := newTree[T](dim, metric, sc, opts.Seed).widenBox(prepared, 1)
		if err != nil {
			t.Fatal(err)
		}
		tr, tasks, err := batchBuildTasks(prepared, dim, sc, opts, 64)
		if err != nil {
			t.Fatal(err)
		}
		tr.lo, tr.hi = lo, hi
		if (tasks > 0) != (jobs > 1) {
			t.Fatalf("jobs=%d: %d subtrees built as tasks", jobs, tasks)
		}
		if err := tr.Check(); err != nil {
			t.Fatalf("jobs=%d: %v", jobs, err)
		}
		sameTree(t, tr, ref, jobs)
		if a, b := evalsOf(tr), evalsOf(ref); a != b {
			t.Fatalf("jobs=%d: %d distance evaluations, %d on one thread", jobs, a, b)
		}
		if jobs == 8 {
			if metric.Kind == Cosine {
				againstFlat(t, tr, data, dim, metric, rng)
			} else {
				againstBrute(t, tr, data, dim, rng)
			}
		}
	}
}

// TestBatchTasksBuild checks that Build makes tasks of groups of
// batchTaskMin points and more, and the same tree with them as without.
func TestBatchTasksBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 80))
	const dim = 10
	data := apartRows(rng, 3, 1, batchTaskMin+100, dim)
	withProcsDo(2, func() {
		var ref *Tree[float64]
		for _, jobs := range []int{1, 2} {
			opts := Options{Seed: 3, Jobs: jobs}
			tr, err := Build(data, dim, opts)
			if err != nil {
				t.Fatal(err)
			}
			_, sc, _ := opts.check(data, dim)
			_, tasks, err := batchBuildTasks(data, dim, sc, opts, batchTaskMin)
			if err != nil {
				t.Fatal(err)
			}
			if (tasks >= 3) != (jobs > 1) || (jobs == 1 && tasks != 0) {
				t.Fatalf("jobs=%d: %d subtrees built as tasks, want one a group or more (none on one thread)", jobs, tasks)
			}
			if ref == nil {
				if err := tr.Check(); err != nil {
					t.Fatal(err)
				}
				ref = tr
				continue
			}
			sameTree(t, tr, ref, jobs)
		}
	})
}

func evalsOf[T Float](tr *Tree[T]) int64 {
	e, _ := tr.DistanceEvals()
	return e
}

// sameTree fails unless every caller index has the same level, parent
// (by its first caller index) and distance to it in both trees.
func sameTree[T Float](t *testing.T, got, want *Tree[T], jobs int) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("jobs=%d: %d points, want %d", jobs, got.Len(), want.Len())
	}
	describe := func(tr *Tree[T], id int) [3]float64 {
		n := tr.node(tr.s.nodeOf(int32(id)))
		parent := -1.0
		if n.parent >= 0 {
			parent = float64(tr.node(n.parent).idList()[0])
		}
		return [3]float64{float64(n.level), parent, n.pdist}
	}
	for id := range want.IDs() {
		if g, w := describe(got, id), describe(want, id); g != w {
			t.Fatalf("jobs=%d: caller index %d has (level, parent, distance) %v, want %v", jobs, id, g, w)
		}
	}
}

// againstFlat compares the tree's k nearest neighbours of points on and
// off the data with those of the brute-force index under the same metric
// (which prepares the points and queries as the tree does).
func againstFlat[T Float](t *testing.T, tr *Tree[T], data []T, dim int, metric Metric, rng *rand.Rand) {
	t.Helper()
	fl, err := BuildBruteForce(data, dim, Options{Metric: metric})
	if err != nil {
		t.Fatal(err)
	}
	const nq, k = 30, 6
	qs := nearQueries(data, dim, nq, rng)
	d1, i1 := make([]T, nq*k), make([]int64, nq*k)
	d2, i2 := make([]T, nq*k), make([]int64, nq*k)
	if err := tr.KNearestBatch(Batch[T]{Points: qs, Jobs: 2}, k, d1, i1); err != nil {
		t.Fatal(err)
	}
	if err := fl.KNearestBatch(Batch[T]{Points: qs, Jobs: 2}, k, d2, i2); err != nil {
		t.Fatal(err)
	}
	for j := range d1 {
		if d1[j] != d2[j] || i1[j] != i2[j] {
			t.Fatalf("query %d rank %d: tree (%v, %d), brute force (%v, %d)", j/k, j%k, d1[j], i1[j], d2[j], i2[j])
		}
	}
}

// panicky is a Euclidean distance that panics once it has measured calls
// pairs of points of the group whose first coordinate is above cut.
type panicky struct {
	cut   float64
	calls atomic.Int64
	after int64
	stop  *int64 // if not nil, set instead of panicking
}

func (d *panicky) Distance(a, b []float64) float64 {
	if a[0] > d.cut && b[0] > d.cut && d.calls.Add(1) > d.after {
		if d.stop == nil {
			panic("panicky: measured too much")
		}
		atomic.StoreInt64(d.stop, 1)
	}
	var s float64
	for k := range a {
		s += (a[k] - b[k]) * (a[k] - b[k])
	}
	return math.Sqrt(s)
}

// TestBatchTasksFail checks that a panic, an exhausted budget and a stop
// inside the subtrees built as tasks end the build with an error (the
// panic in the caller's goroutine, as an error of Build) and do not hang.
func TestBatchTasksFail(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 90))
	const dim = 6
	data := apartRows(rng, 3, 1, batchTaskMin+200, dim)
	// The group of greatest first coordinate.
	cut := math.Inf(-1)
	for g := range 3 {
		cut = max(cut, data[g*(batchTaskMin+200)*dim])
	}
	cut -= 200
	withProcsDo(4, func() {
		for _, jobs := range []int{2, 4} {
			d := &panicky{cut: cut, after: 5 * (batchTaskMin + 200)}
			_, err := Build(data, dim, Options{Jobs: jobs, Metric: NewCustom[float64]("panicky", d)})
			if err == nil || !strings.Contains(err.Error(), "panicky: measured too much") {
				t.Fatalf("jobs=%d: a panic in a task gave %v", jobs, err)
			}
			if _, err := Build(data, dim, Options{Jobs: jobs, MaxEvals: int64(len(data) / dim * 3)}); !errors.Is(err, ErrCostly) {
				t.Fatalf("jobs=%d: a budget spent in the tasks gave %v, want ErrCostly", jobs, err)
			}
			var stop, done int64
			d = &panicky{cut: cut, after: 5 * (batchTaskMin + 200), stop: &stop}
			if _, err := Build(data, dim, Options{Jobs: jobs, Metric: NewCustom[float64]("stopper", d), Monitor: &Monitor{Stop: &stop, Done: &done}}); !errors.Is(err, ErrStopped) {
				t.Fatalf("jobs=%d: a stop during the tasks gave %v, want ErrStopped", jobs, err)
			}
		}
	})
}
