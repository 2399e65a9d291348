package core

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteJoin lists every pair (i, j) of live caller indices, i of a and j of
// b, with its search distance measured by the trees' own kernel on their
// stored points: the arithmetic a join decides single pairs with, so the
// comparison is exact, ties and duplicates included.
type brutePair struct {
	i, j int64
	d    float64 // search distance
}

func bruteJoin[T Float](a, b *Tree[T]) []brutePair {
	var out []brutePair
	for _, i := range a.LiveIDs(nil) {
		for _, j := range b.LiveIDs(nil) {
			out = append(out, brutePair{i, j, a.dist(a.Point(int(i)), b.Point(int(j)))})
		}
	}
	return out
}

// joinRadii returns radii for a case: negative, zero, on grid distances
// (ties), between them, and covering everything.
func joinRadii(c countCase) []float64 {
	if c.metric.Kind == Cosine {
		return []float64{0.3, -1, 0, 1e-3, 0.05, 1, 2, math.Inf(1)}
	}
	return []float64{2, -1, 0, 1, math.Sqrt2, 0.3, 3.5, 1e6, math.Inf(1), 1}
}

// TestJoinsBrute checks CountPairs, Pairs and PairsWith against brute
// force on every metric and both dtypes: a tree against another, against
// itself, and after deletions, on 1 and 3 goroutines.
func TestJoinsBrute(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range countCases() {
		a := countData(c, 160, rng)
		b := countData(c, 70, rng)
		t.Run(c.name+"/float64", func(t *testing.T) { checkJoins(t, c, a, b) })
		t.Run(c.name+"/float32", func(t *testing.T) { checkJoins(t, c, toF32(a), toF32(b)) })
	}
}

func checkJoins[T Float](t *testing.T, c countCase, a, b []T) {
	ta, err := Build(a, c.dim, Options{Metric: c.metric, Seed: 3, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := Build(b, c.dim, Options{Metric: c.metric, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	td, err := ta.Delete([]int64{0, 5, 6, 100, 159}, UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pairs := []struct {
		name string
		a, b *Tree[T]
		jobs int
	}{
		{"a-b", ta, tb, 3}, {"b-a", tb, ta, 1}, {"a-a", ta, ta, 3}, {"deleted-b", td, tb, 1}, {"deleted-itself", td, td, 1},
	}
	for _, p := range pairs {
		brute := bruteJoin(p.a, p.b)
		radii := joinRadii(c)
		jobs := p.jobs
		counts, err := p.a.CountPairs(p.b, radii, JoinOptions{Jobs: jobs})
		if err != nil {
			t.Fatal(err)
		}
		for k, r := range radii {
			want := int64(0)
			for _, x := range brute {
				if r >= 0 && x.d <= p.a.inRadius(r) {
					want++
				}
			}
			if counts[k] != want {
				t.Fatalf("%s jobs=%d: CountPairs r=%v counted %d, brute force %d", p.name, jobs, r, counts[k], want)
			}
		}
		for _, r := range radii {
			sr := p.a.inRadius(r)
			var want []brutePair
			for _, x := range brute {
				if r >= 0 && x.d <= sr {
					want = append(want, x)
				}
			}
			got, err := p.a.PairsWith(p.b, r, true, JoinOptions{Jobs: jobs})
			if err != nil {
				t.Fatal(err)
			}
			checkPairList(t, p.name, r, got, want, func(d float64) float64 { return p.a.outDist(d) })
			ids, err := p.a.PairsWith(p.b, r, false, JoinOptions{Jobs: jobs})
			if err != nil {
				t.Fatal(err)
			}
			checkPairList(t, p.name+"/ids", r, ids, want, nil)
			if p.a != p.b {
				continue
			}
			var upper []brutePair
			for _, x := range want {
				if x.i < x.j {
					upper = append(upper, x)
				}
			}
			self, err := p.a.Pairs(r, JoinOptions{Jobs: jobs})
			if err != nil {
				t.Fatal(err)
			}
			checkPairList(t, p.name+"/Pairs", r, self, upper, nil)
		}
	}
}

// checkPairList compares a join's pairs with brute force's (listed in (i,
// j) order), and their distances through out when it is not nil.
func checkPairList(t *testing.T, name string, r float64, got *PairList, want []brutePair, out func(float64) float64) {
	t.Helper()
	if got.Len() != len(want) {
		t.Fatalf("%s r=%v: %d pairs, brute force %d", name, r, got.Len(), len(want))
	}
	if got.HasDists() != (out != nil) {
		t.Fatalf("%s r=%v: distances measured: %v", name, r, got.HasDists())
	}
	for k, w := range want {
		i, j := got.At(k)
		if i != w.i || j != w.j {
			t.Fatalf("%s r=%v: pair %d is (%d, %d), brute force (%d, %d)", name, r, k, i, j, w.i, w.j)
		}
		if out != nil && got.Dist(k) != out(w.d) {
			t.Fatalf("%s r=%v: pair (%d, %d) at %v, brute force %v", name, r, i, j, got.Dist(k), out(w.d))
		}
	}
}

// TestCountPairsCheap checks that counting needs no evaluation per pair: a
// radius covering a clustered data set is decided near the roots.
func TestCountPairsCheap(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const n, dim = 5000, 3
	data := countData(countCase{dim: dim, metric: Metric{Kind: Euclidean}}, n, rng)
	tr, err := Build(data, dim, Options{Seed: 1, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	before := tr.Stats().QueryEvals
	counts, err := tr.CountPairs(tr, []float64{1e3}, JoinOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if counts[0] != n*n {
		t.Fatalf("counted %d pairs within 1e3, want %d", counts[0], n*n)
	}
	if evals := tr.Stats().QueryEvals - before; evals > 10 {
		t.Fatalf("counting every pair took %d distance evaluations", evals)
	}
}

// TestJoinErrors checks the refusals: mismatched trees, NaN radii, a
// stopped join and a listing beyond MaxPairs.
func TestJoinErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	data := countData(countCase{dim: 2, metric: Metric{Kind: Euclidean}}, 2000, rng)
	a, _ := Build(data, 2, Options{})
	m, _ := Build(data, 2, Options{Metric: Metric{Kind: Manhattan}})
	d3, _ := Build(data[:1998], 3, Options{})
	for name, err := range map[string]error{
		"metric": func() error { _, err := a.CountPairs(m, []float64{1}, JoinOptions{}); return err }(),
		"dim":    func() error { _, err := a.PairsWith(d3, 1, false, JoinOptions{}); return err }(),
		"nil":    func() error { _, err := a.PairsWith(nil, 1, false, JoinOptions{}); return err }(),
		"nan":    func() error { _, err := a.CountPairs(a, []float64{1, math.NaN()}, JoinOptions{}); return err }(),
		"nan-r":  func() error { _, err := a.Pairs(math.NaN(), JoinOptions{}); return err }(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	stop := int64(1)
	if _, err := a.Pairs(10, JoinOptions{Jobs: 2, Monitor: &Monitor{Stop: &stop}}); !errors.Is(err, ErrStopped) {
		t.Errorf("stopped join: %v", err)
	}
	all, err := a.Pairs(0.5, JoinOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int64{1, int64(all.Len()) - 1} {
		if _, err := a.Pairs(0.5, JoinOptions{Jobs: 2, MaxPairs: limit}); !errors.Is(err, ErrTooManyAnswers) {
			t.Errorf("limit %d of %d pairs: %v", limit, all.Len(), err)
		}
	}
	got, err := a.Pairs(0.5, JoinOptions{Jobs: 2, MaxPairs: int64(all.Len())})
	if err != nil || got.Len() != all.Len() {
		t.Errorf("limit %d of %d pairs: %v", all.Len(), all.Len(), err)
	}
}

// TestKNearestBoundBatch checks the bounded search against brute force: the
// neighbours nearer than the bound (strictly), placeholders after them,
// ties by index, for query points and the fitted points.
func TestKNearestBoundBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for _, c := range countCases() {
		data := countData(c, 400, rng)
		queries := countData(c, 40, rng)
		tr, err := Build(data, c.dim, Options{Metric: c.metric, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		tr, err = tr.Delete([]int64{1, 2, 3}, UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		bounds := []float64{1, 2, 0.5, math.Inf(1), 0, -1}
		if c.metric.Kind == Cosine {
			bounds = []float64{0.05, 0.3, math.Inf(1), 0}
		}
		live := tr.LiveIDs(nil)
		for _, bound := range bounds {
			for _, k := range []int{1, 5, 500} {
				for _, b := range []Batch[float64]{{Points: queries, Jobs: 2}, {IDs: live, Jobs: 2}} {
					nq, _ := b.count(tr)
					dist := make([]float64, nq*k)
					idx := make([]int64, nq*k)
					if err := tr.KNearestBoundBatch(b, k, bound, dist, idx); err != nil {
						t.Fatal(err)
					}
					pb, _ := b.prepared(tr.metric, tr.s.dim)
					for i := range nq {
						q, ex := pb.query(tr, i)
						var want []brutePair
						for _, id := range live {
							d := tr.dist(q, tr.Point(int(id)))
							if int32(id) != ex && bound > 0 && d < tr.inRadius(bound) {
								want = append(want, brutePair{i: id, d: d})
							}
						}
						slices.SortFunc(want, func(x, y brutePair) int {
							if less(x.d, int32(x.i), y.d, int32(y.i)) {
								return -1
							}
							return 1
						})
						for j := range k {
							gd, gi := dist[i*k+j], idx[i*k+j]
							if j >= len(want) {
								if gi != -1 || !math.IsInf(gd, 1) {
									t.Fatalf("%s bound=%v k=%d query %d: slot %d holds (%v, %d), want a placeholder", c.name, bound, k, i, j, gd, gi)
								}
								continue
							}
							if gi != want[j].i || gd != tr.outDist(want[j].d) {
								t.Fatalf("%s bound=%v k=%d query %d: neighbour %d is (%v, %d), brute force (%v, %d)", c.name, bound, k, i, j, gd, gi, tr.outDist(want[j].d), want[j].i)
							}
						}
					}
				}
			}
		}
	}
}
