package core

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Algorithm says how an index answers queries.
type Algorithm int

const (
	// Auto chooses between CoverTree and Brute from the data (see Choose).
	Auto Algorithm = iota
	// CoverTree builds a compressed cover tree (Build).
	CoverTree
	// Brute keeps the points in a BruteForce and measures all of them per query
	// (BuildBruteForce).
	Brute
)

// String returns the algorithm's name as the Python package spells it.
func (a Algorithm) String() string {
	switch a {
	case Auto:
		return "auto"
	case CoverTree:
		return "cover_tree"
	case Brute:
		return "brute"
	}
	return fmt.Sprintf("Algorithm(%d)", int(a))
}

// Choice is what Choose decided and the evidence it decided from.
type Choice struct {
	Algorithm Algorithm // CoverTree or Brute
	// Sample is the number of points of the largest sample tree built to
	// decide, and SampleEvals the distance evaluations per k-nearest query
	// measured on it; Growth is the exponent g with which they grew
	// between a sample a quarter that size and it (evaluations ~ n^g).
	Sample      int
	SampleEvals float64
	Growth      float64
	// Evals is the estimate for the whole data set of a tree's distance
	// evaluations per query, and BuildEvals per point built.
	Evals, BuildEvals float64
	// TreeCost and BruteCost are the estimated seconds to build each index
	// and answer workloadPasses queries per point.
	TreeCost, BruteCost float64
	// BuildBudget is the number of distance evaluations a tree build may
	// spend before brute force would have answered that workload: a build
	// that runs past it cannot prune, and the BruteForce should take over.
	BuildBudget int64
	// GaveUp is set when Auto chose a tree and its build exceeded its
	// budget (BuildIndex): the samples misjudged the data, and the
	// BruteForce took over (Algorithm is then Brute).
	GaveUp bool
}

// Per-operation costs of the cost model, in nanoseconds, measured on the
// 2-core development machine (AMD EPYC, AVX2; single-threaded, CPU time):
// a tree search spends about treeVisit plus coord per coordinate on each
// node it measures, a build buildVisit plus coord per evaluation; a BruteForce
// spends flatPoint per point plus, per coordinate, screenWide with the
// AVX-512 kernel, screenCoord with the AVX2 one, screenScalar without
// either, and coord where the metric is not screened (it then measures
// every point exactly).
const (
	treeVisit    = 25.0
	buildVisit   = 60.0
	coord        = 0.5
	flatPoint    = 2.0
	screenCoord  = 0.07
	screenWide   = 0.03
	screenScalar = 0.6
)

// workloadPasses is the number of queries per point the cost model
// assumes an index answers over its life: a build is worth its cost when
// its queries are cheaper, and a fitted estimator is usually asked more
// than once (kneighbors, then a graph, a radius query, new points).
const workloadPasses = 4

// treeFavour is how much cheaper brute force must be estimated to be
// chosen: the model is rough, and when the estimates are close a tree's
// cheaper queries are worth more than the build it costs.
const treeFavour = 0.8

// Choose measures sample trees of chooseSample/4 and chooseSample points
// (none in one to three dimensions under the metrics gridMetric takes: see
// lowDimChoice), then, unless one index is estimated clearly cheaper (a
// tree by the factor clearRatio, brute force by bruteClear), of
// refineSample/4 and refineSample points. Brute force needs the wider
// margin because the growth between the first two samples overstates the
// growth beyond: on magic (19,020 x 10) the evaluations a query grew as
// size^0.78 from 256 to 1,024 points and as size^0.29 from there to all
// points (3,211 predicted, 767 measured), on letter (20,000 x 16) as
// size^0.69 and size^0.24. Their first estimates put brute force 2.1 and
// 2.9 times cheaper; the whole trees, 0.59 and 0.96 times.
const (
	chooseSample = 1024
	refineSample = 4096
	clearRatio   = 2.0
	bruteClear   = 2.5
)

// cannotPrune is the fraction of a sample tree's other points that its
// queries measure, on average, at and above which Choose takes it to
// prune nothing and estimates from it without a larger sample.
const cannotPrune = 0.95

// chooseQueries is the most sample points Choose queries (k = 10, each
// point left out of its own answer) on a sample tree: a quarter of its
// points, at least chooseQueriesMin (or all of them). On 1,000 Gaussian
// points in 16 dimensions 256 queries of the 250-point sample had taken
// half of the choice's 3.1 ms, and the choice is brute force, whose build
// costs nothing.
const (
	chooseQueries    = 256
	chooseQueriesMin = 64
)

// Choose decides whether a cover tree or brute force will answer
// k-nearest-neighbour queries on the n = len(data)/dim points faster,
// from evidence that costs little beside either. It builds a cover tree on
// a random sample of chooseSample/4 points (the data themselves if there
// are fewer) and measures its distance evaluations per point built and per
// query (k = 10). A tree that measures a large fraction of its points per
// query cannot prune, which happens in high dimension and on data without
// low-dimensional structure; brute force then wins, the more so as it
// needs no build.
//
// It does so at two sizes, chooseSample/4 and chooseSample points, and
// extrapolates the growth between them, evaluations ~ size^g, to n. When
// the queries of the smaller sample measure nearly all its points
// (cannotPrune), it extrapolates from that sample alone (g = 1) and does
// not refine, rather than pay a quadratic build of a larger one. The
// cost model weighs, for each index, its build and workloadPasses queries
// per point, with the per-operation costs above. When neither index is
// estimated clearly cheaper (by clearRatio), the estimate is refined from
// samples of refineSample/4 and refineSample points: in that case the tree
// prunes well enough for their builds to cost little. The data themselves
// are the sample when there are fewer. Choice reports the figures. The
// data are not changed, and the sample trees are dropped.
//
// In one to three dimensions under a metric the grid construction takes
// (Euclidean, Manhattan, Chebyshev, Minkowski with p >= 1), a tree always
// prunes, and Choose decides from the cost model's own figures for such
// trees (lowDimChoice) without building any: Sample is then 0.
func Choose[T Float](data []T, dim int, opts Options) (Choice, error) {
	c, _, _, err := choose(data, dim, opts, false)
	return c, err
}

// choose is Choose, returning also the tree of the whole data when a
// sample was the whole data (n <= refineSample), else nil. With verify, a
// choice that is not clear from the first samples is not refined from
// larger ones: choose reports it unclear instead, and the caller measures
// the tree of the whole data (see BuildIndex).
func choose[T Float](data []T, dim int, opts Options, verify bool) (_ Choice, whole *Tree[T], unclear bool, _ error) {
	n, _, err := opts.check(data, dim)
	if err != nil {
		return Choice{}, nil, false, err
	}
	if gridMetric(opts.Metric, dim) {
		return decide(lowDimChoice(n, dim), n, dim, opts.Metric), nil, false, nil
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	perm := rng.Perm(n)
	sample := func(m int) []T {
		if m >= n {
			return data
		}
		out := make([]T, 0, m*dim)
		for _, i := range perm[:m] {
			out = append(out, data[i*dim:(i+1)*dim]...)
		}
		return out
	}
	measureTree := func(size int) (query, build float64, err error) {
		sopts := opts
		sopts.Monitor = nil
		pts := sample(size)
		t, err := Build(pts, dim, sopts)
		if err != nil {
			return 0, 0, err
		}
		if len(pts) == len(data) {
			whole = t
		}
		return sampleEvals(t, opts.Jobs)
	}
	// measure builds a tree on the sample of m points and returns its
	// evaluations per query and per point built. The samples are prefixes
	// of one permutation, so the refinement's smaller sample is the first
	// estimate's larger one: each size is measured once.
	type measured struct{ query, build float64 }
	seen := map[int]measured{}
	measure := func(m int) (query, build float64, err error) {
		if r, ok := seen[m]; ok {
			return r.query, r.build, nil
		}
		query, build, err = measureTree(m)
		if err == nil {
			seen[m] = measured{query, build}
		}
		return query, build, err
	}
	estimate := func(size int) (_ Choice, early bool, _ error) {
		m2 := min(n, size)
		m1 := max(m2/4, 2)
		// The smaller sample first: a tree whose queries measure all of
		// its points prunes nothing, and the larger sample (or the whole
		// data) would only cost a quadratic build to say so.
		e1, b1, err := measure(m1)
		if err != nil {
			return Choice{}, false, err
		}
		if m1 < m2 && e1 >= cannotPrune*float64(m1-1) {
			scale := float64(n) / float64(m1)
			c := Choice{Sample: m1, SampleEvals: e1, Growth: 1,
				Evals: min(e1*scale, float64(n)), BuildEvals: min(b1*scale, float64(n))}
			return decide(c, n, dim, opts.Metric), true, nil
		}
		e2, b2, err := measure(m2)
		if err != nil {
			return Choice{}, false, err
		}
		c := Choice{Sample: m2, SampleEvals: e2, Evals: e2, BuildEvals: b2}
		if n > m2 {
			scale := float64(n) / float64(m2)
			c.Growth = growth(e1, e2, m1, m2)
			c.Evals = min(e2*math.Pow(scale, c.Growth), float64(n))
			c.BuildEvals = min(b2*math.Pow(scale, growth(b1, b2, m1, m2)), float64(n))
		}
		return decide(c, n, dim, opts.Metric), false, nil
	}
	c, early, err := estimate(chooseSample)
	if err != nil || early || n <= chooseSample {
		return c, whole, false, err
	}
	if r := c.TreeCost / c.BruteCost; r >= bruteClear || r <= 1/clearRatio {
		return c, whole, false, nil
	}
	if verify {
		return c, whole, true, nil
	}
	c, _, err = estimate(refineSample)
	return c, whole, false, err
}

// lowDimChoice returns Choose's estimates, without samples, for n points
// in dim <= gridMaxDim dimensions under a metric gridMetric takes, where a
// tree always prunes (Sample is 0): a k = 10 query measures about 3, 5 and
// 10 times log2(n) points in one, two and three dimensions, and a build
// 10, 20 and 25 distances a point. Sample trees of 1,024 points measured,
// on Gaussian, uniform and clustered points (a query, then a build's
// distances a point): in one dimension 30 to 32 and 8.6 to 12, in two 44
// to 59 and 10 to 20, in three 61 to 130 and 16 to 27; the real sets
// build with 11 (the zip codes) and 16 (bunny) a point. Choosing from
// these costs nothing, where the samples had cost more than the tree
// (1,000 x 3: 1.4 ms beside a build of 1.2).
func lowDimChoice(n, dim int) Choice {
	query, build := 10.0, 25.0
	switch dim {
	case 1:
		query, build = 3, 10
	case 2:
		query, build = 5, 20
	}
	lg := math.Log2(float64(max(n, 2)))
	return Choice{Evals: min(query*lg, float64(n)), BuildEvals: min(build, float64(n))}
}

// sampleEvals returns the distance evaluations a k = 10 query of up to
// chooseQueries of t's points (each left out of its own answer) measures
// on t, on average, and those of t's build per point.
func sampleEvals[T Float](t *Tree[T], jobs int) (query, build float64, err error) {
	m := t.Len()
	// The queries are spread over the held indices (after deletions, not
	// every index below m is one).
	live := t.LiveIDs(make([]int64, 0, m))
	if len(live) < 2 {
		return 0, 0, nil
	}
	q := min(len(live), max(chooseQueriesMin, len(live)/4), chooseQueries)
	k := min(10, len(live)-1)
	ids := make([]int64, q)
	for i := range ids {
		ids[i] = live[i*len(live)/q]
	}
	dist, idx := make([]T, q*k), make([]int64, q*k)
	_, before := t.DistanceEvals()
	if err := t.KNearestBatch(Batch[T]{IDs: ids, Jobs: jobs}, k, dist, idx); err != nil {
		return 0, 0, err
	}
	b, after := t.DistanceEvals()
	return float64(after-before) / float64(q), float64(b) / float64(m), nil
}

// decide completes c's costs from its estimates of evaluations for the n
// points and chooses the cheaper index, a tree unless brute force is
// cheaper by treeFavour; it sets the tree build's budget.
func decide(c Choice, n, dim int, m Metric) Choice {
	c.TreeCost, c.BruteCost = costs(c.Evals, c.BuildEvals, n, dim, m)
	c.Algorithm = CoverTree
	if c.BruteCost < treeFavour*c.TreeCost {
		c.Algorithm = Brute
	}
	// Past this many evaluations a build alone costs what brute force
	// costs for the whole workload.
	perBuildEval := (buildVisit + coord*float64(dim)) * 1e-9
	queries := c.TreeCost - c.BuildEvals*float64(n)*perBuildEval
	c.BuildBudget = int64(max(c.BruteCost-queries, 0) / perBuildEval)
	return c
}

// growth returns the exponent g with which a count grew from e1 at size m1
// to e2 at size m2 (e ~ m^g), between 0 and 1.
func growth(e1, e2 float64, m1, m2 int) float64 {
	if e1 <= 0 || e2 <= 0 || m2 <= m1 {
		return 0
	}
	return min(max(math.Log(e2/e1)/math.Log(float64(m2)/float64(m1)), 0), 1)
}

// costs returns the model's seconds for a tree (build, then
// workloadPasses queries per point at evals distance evaluations each) and
// for brute force (as many queries, every point screened or measured).
func costs(evals, buildEvals float64, n, dim int, m Metric) (tree, brute float64) {
	d := float64(dim)
	nf := float64(n)
	w := workloadPasses * nf
	tree = nf*buildEvals*(buildVisit+coord*d) + w*evals*(treeVisit+coord*d)
	brute = w * nf * brutePoint(dim, m)
	return tree * 1e-9, brute * 1e-9
}

// brutePoint returns the model's nanoseconds a BruteForce spends on one
// point of dim coordinates for one query under metric m.
func brutePoint(dim int, m Metric) float64 {
	d := float64(dim)
	if k := m.Canonical().Kind; k == Euclidean || k == Cosine {
		if vectorized() && wide() {
			return flatPoint + screenWide*d
		}
		if vectorized() {
			return flatPoint + screenCoord*d
		}
		return flatPoint + screenScalar*d
	}
	return flatPoint + coord*d
}

// BuildIndex builds the index algo asks for over the points (see Build and
// BuildBruteForce), choosing with Choose when algo is Auto, and returns it: a
// Tree or a BruteForce, the other nil, and the choice (for CoverTree and Brute,
// just the algorithm).
//
// Where Auto chooses a tree, its build gets a budget (Options.MaxEvals):
// the larger of Choice.BuildBudget and three times the evaluations the
// samples predicted. A build that exceeds it (ErrCostly: the data leave the
// tree little to prune, and the samples did not show it) stops there, and
// a BruteForce is built instead; Choice.GaveUp says so.
//
// Where Choose's first samples favour neither index clearly (by less than
// clearRatio), Auto does not refine the estimate from larger samples as
// Choose does: it builds the tree (within its budget), measures its
// queries itself and keeps it unless brute force is then cheaper for the
// queries alone (by treeFavour; Choice.Sample is then the number of
// points).
func BuildIndex[T Float](data []T, dim int, algo Algorithm, opts Options) (*Tree[T], *BruteForce[T], Choice, error) {
	c := Choice{Algorithm: algo}
	switch algo {
	case Auto:
		c, whole, unclear, err := choose(data, dim, opts, true)
		if err != nil {
			return nil, nil, Choice{}, err
		}
		if c.Algorithm == CoverTree && whole != nil {
			// A sample was the whole data: its tree is the one to build
			// (the same options but the monitor, which now hears of it).
			whole.queryEvals.Store(0)
			opts.Monitor.add(whole.Len())
			return whole, nil, c, nil
		}
		if unclear {
			c.Algorithm = CoverTree // measured below
		}
		t, f, c, err := buildChosen(data, dim, true, c, opts)
		if err != nil || !unclear || t == nil {
			return t, f, c, err
		}
		return verifyTree(t, data, dim, c, opts)
	case CoverTree, Brute:
	default:
		return nil, nil, Choice{}, fmt.Errorf("core: unknown algorithm %d", int(algo))
	}
	return buildChosen(data, dim, algo == Auto, c, opts)
}

// verifyTree decides between the tree t of the whole data, built on an
// unclear choice (see choose), and brute force from t's own figures: its
// build's evaluations per point and its queries' (k = 10, chooseQueries of
// its points). This costs a few milliseconds where refining the estimate
// from samples of refineSample/4 and refineSample points cost a quarter to
// half of the whole build on sets of 10,000 to 20,000 points. If brute
// force now wins, t is dropped for it.
func verifyTree[T Float](t *Tree[T], data []T, dim int, c Choice, opts Options) (*Tree[T], *BruteForce[T], Choice, error) {
	query, build, err := sampleEvals(t, opts.Jobs)
	if err != nil {
		return nil, nil, Choice{}, err
	}
	t.queryEvals.Store(0)
	n := len(data) / dim
	v := decide(Choice{Sample: n, SampleEvals: query, Evals: query, BuildEvals: build}, n, dim, opts.Metric)
	// The build is done: only the queries weigh against brute force.
	queries, brute := costs(query, 0, n, dim, opts.Metric)
	v.Algorithm = CoverTree
	if brute < treeFavour*queries {
		v.Algorithm = Brute
	}
	if v.Algorithm == CoverTree {
		return t, nil, v, nil
	}
	f, err := BuildBruteForce(data, dim, opts)
	return nil, f, v, err
}

// buildChosen builds the index c chose, with a budget for a tree when auto
// (see BuildIndex).
func buildChosen[T Float](data []T, dim int, auto bool, c Choice, opts Options) (*Tree[T], *BruteForce[T], Choice, error) {
	if c.Algorithm == Brute {
		f, err := BuildBruteForce(data, dim, opts)
		return nil, f, c, err
	}
	if auto {
		n := len(data) / dim
		opts.MaxEvals = max(c.BuildBudget, int64(3*c.BuildEvals*float64(n)), 1)
	}
	t, err := Build(data, dim, opts)
	if errors.Is(err, ErrCostly) && auto {
		c.Algorithm, c.GaveUp = Brute, true
		opts.MaxEvals = 0
		f, err := BuildBruteForce(data, dim, opts)
		return nil, f, c, err
	}
	return t, nil, c, err
}
