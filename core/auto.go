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

// Per-operation costs of the cost model, in nanoseconds of one thread's
// CPU time. A tree query costs queryFixed plus, for each distance it
// evaluates, treeVisit plus a cost per coordinate; a build costs
// buildFixed a point (its assembly, and the search layout the first query
// makes) plus buildVisit and a cost per coordinate for each evaluation; a
// BruteForce query costs flatQuery plus, for each point, flatPoint and a
// cost per coordinate. The costs per coordinate are the kernels' (see
// coordCosts). Fitted by least squares (relative errors) to 86 data sets,
// 4 to 32 dimensions, 3,000 to
// 20,000 points (uniform, Gaussian, a 3-D manifold, clusters; letter,
// pendigits, magic), one thread of the 2-core development machine (AMD
// EPYC, AVX-512): the queries' fit is within 15% in the median and 44% at
// worst, the builds' 16% and 63% (24 and 32 dimensions, which the
// projection screen builds at up to 30 ns an evaluation), brute force's
// 3% and 13%. The figures before were 25 ns an evaluation and 0.5 a
// coordinate for a query and 60 for a build, from the code of many
// sessions before: they priced a 10,000 x 8 tree at 14 s where it took
// 0.5, and brute force was chosen where a tree answered 2 to 8 times as
// fast (see docs/performance.md).
const (
	queryFixed = 1400.0
	treeVisit  = 8.7
	buildFixed = 1500.0
	buildVisit = 3.0
	flatQuery  = 3500.0
	flatPoint  = 2.8
)

// kernelCosts are the nanoseconds a coordinate costs a tree query's
// evaluation, a build's, and brute force's scan of a point.
type kernelCosts struct{ query, build, brute float64 }

// coordCosts returns the costs per coordinate of metric m's distances on
// this CPU and build: of Euclidean (and cosine) distances with the AVX-512
// kernels (fitted with the figures above), with the AVX2 ones and in Go
// without vectors (fitted likewise, on one thread of the same machine,
// GODEBUG=cpu.avx512f=off for AVX2 and a build without GOEXPERIMENT=simd
// for Go: 26 sets each, letter, magic and uniform, Gaussian and manifold
// points of 8 to 64 dimensions, 1,500 and 5,000 points; a tree query's
// evaluation 6.3 + 0.20 x dims ns and 10.6 + 0.43 x dims, brute force's
// point 2.2 + 0.057 x dims and 1.7 + 0.71 x dims, a build's evaluation
// 0.44 and 0.58 a coordinate, loosely: those fits are within 57% and 27%
// in the median), and of every other
// metric (measured one distance at a time, by the tree and brute force
// alike: a Manhattan distance of 16 coordinates cost 17-34 ns either way,
// a Chebyshev one 35-100).
func coordCosts(m Metric) kernelCosts {
	switch k := m.Canonical().Kind; {
	case k != Euclidean && k != Cosine:
		return kernelCosts{query: 0.5, build: 0.5, brute: 0.5}
	case vectorized() && wide():
		return kernelCosts{query: 0.115, build: 0.26, brute: 0.023}
	case vectorized():
		return kernelCosts{query: 0.20, build: 0.44, brute: 0.057}
	}
	return kernelCosts{query: 0.43, build: 0.58, brute: 0.71}
}

// workloadPasses is the number of queries per point the cost model
// assumes an index answers over its life: a build is worth its cost when
// its queries are cheaper, and a fitted estimator is usually asked more
// than once (kneighbors, then a graph, a radius query, new points).
const workloadPasses = 4

// treeFavour is how much cheaper brute force must be estimated to be
// chosen: the model is rough, and when the estimates are close a tree's
// cheaper queries are worth more than the build it costs.
const treeFavour = 0.8

// Choose's samples: trees of chooseSample/4, chooseSample and
// refineSample points (each a prefix of one random order of the data),
// measured smallest first while the choice is open (see Choose).
const (
	chooseSample = 1024
	refineSample = 4096
)

// bruteClear is how much dearer than brute force the tree must be, by the
// optimistic estimate from the first two samples, for brute force to be
// chosen without the third.
const bruteClear = 2.0

// sampleShare and refineShare are the most of brute force's estimated
// cost for the workload that the second sample may cost, where the first
// measured nearly all its points (cannotPrune), and that the third may
// cost (see Choose). Choosing for data that brute force suits then costs
// little beside its queries: 5,000 x 16 Gaussian points, whose fit took
// 14.3 ms with the second sample's share at 5%, take 3.0 ms at 1%
// (Python, best of 20); uniform 10,000 x 12 points spend 60 ms on samples
// against 1.6 s of brute force's queries. On the 86 sets of
// docs/performance.md the choices are the same with a second sample's
// share of 1% or 5%.
const (
	sampleShare = 0.01
	refineShare = 0.05
)

// cannotPrune is the fraction of a sample tree's other points that its
// queries measure, on average, at and above which the tree prunes nothing
// yet: the second sample is then measured only if sampleShare allows, and
// the third not at all (1,024 points that prune nothing: uniform points
// of 12 dimensions and more, where brute force wins; Gaussian 784-D
// points, 60,000 of them, had spent 5.8 s on a third sample).
const cannotPrune = 0.95

// The exponents of the extrapolation beyond the samples (see extrapolate):
// each further quadrupling of the points multiplies the growth exponent by
// the decay. decayPessimistic keeps the exponent (a power law, which
// overstates the growth: letter's evaluations a query grew as size^0.71
// from 256 to 1,024 points, size^0.41 from there to 4,096, size^0.24 from
// there to all 20,000), decayOptimistic halves it.
const (
	decayPessimistic = 1.0
	decayOptimistic  = 0.5
)

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

// costModel prices the two indexes of n points for the choice, in
// seconds: a tree's build at buildEvals distance evaluations a point and
// its workloadPasses queries a point at evals each, and brute force's
// queries.
type costModel interface {
	tree(evals, buildEvals float64, n int) (build, queries float64)
	brute(n int) float64
	// buildEval is the seconds of one evaluation of a build (for
	// Choice.BuildBudget).
	buildEval() float64
}

// denseModel is the cost model of dim coordinates under metric m.
type denseModel struct {
	dim int
	m   Metric
}

func (d denseModel) tree(evals, buildEvals float64, n int) (build, queries float64) {
	nf := float64(n)
	build = nf*buildFixed*1e-9 + nf*buildEvals*d.buildEval()
	return build, workloadPasses * nf * d.treeQuery(evals)
}

func (d denseModel) brute(n int) float64 {
	return workloadPasses * float64(n) * d.bruteQuery(n)
}

// treeQuery returns the seconds of one tree query that evaluates evals
// distances.
func (d denseModel) treeQuery(evals float64) float64 {
	return (queryFixed + evals*(treeVisit+coordCosts(d.m).query*float64(d.dim))) * 1e-9
}

// bruteQuery returns the seconds of one brute-force query over n points.
func (d denseModel) bruteQuery(n int) float64 {
	return (flatQuery + float64(n)*(flatPoint+coordCosts(d.m).brute*float64(d.dim))) * 1e-9
}

func (d denseModel) buildEval() float64 {
	return (buildVisit + coordCosts(d.m).build*float64(d.dim)) * 1e-9
}

// Choose decides whether a cover tree or brute force will answer
// k-nearest-neighbour queries on the n = len(data)/dim points faster,
// from evidence that costs little beside either. It builds cover trees on
// random samples of the data and measures their distance evaluations per
// point built and per query (k = 10); the cost model weighs, for each
// index, its build and workloadPasses queries per point, with the
// per-operation costs above. A tree that measures a large fraction of its
// points per query cannot prune, which happens in high dimension and on
// data without low-dimensional structure; brute force then wins, the more
// so as it needs no build.
//
// The samples hold chooseSample/4, chooseSample and refineSample points
// (the data themselves where there are fewer), measured smallest first.
// From two or more, the evaluations are extrapolated to n (see
// extrapolate), and the choice is made as soon as it is clear: a tree
// when even the power law of the last two samples (which overstates the
// growth) leaves it cheaper; brute force when the tree is still dearer by
// bruteClear with the growth halving at each quadrupling; otherwise the
// third sample settles it, its exponent decaying as it did from the
// first two samples' growth to the last two's. The second sample is not
// measured where the first measured nearly all its points (cannotPrune)
// and the second's cost would exceed sampleShare of brute force's; the
// third, where the second measured nearly all its points or its cost
// would exceed refineShare. The choice is then made by the power law of
// the samples measured (one sample: evaluations in proportion to the
// points). A tree is chosen unless brute force is estimated cheaper by
// treeFavour. Choice reports the figures. The data are not changed, and
// the sample trees are dropped.
//
// In one to three dimensions under a metric the grid construction takes
// (Euclidean, Manhattan, Chebyshev, Minkowski with p >= 1), a tree always
// prunes, and Choose decides from the cost model's own figures for such
// trees (lowDimChoice) without building any: Sample is then 0.
func Choose[T Float](data []T, dim int, opts Options) (Choice, error) {
	n, _, err := opts.check(data, dim)
	if err != nil {
		return Choice{}, err
	}
	c, _, err := choose(data, dim, opts, denseModel{dim, opts.Metric}, n)
	return c, err
}

// choose is Choose under the cost model cm, for the n points of data
// (checked), returning also the tree of the whole data when a sample was
// the whole data and the choice is a tree, else nil.
func choose[T Float](data []T, dim int, opts Options, cm costModel, n int) (Choice, *Tree[T], error) {
	if gridMetric(opts.Metric, dim) {
		return decide(lowDimChoice(n, dim), n, cm), nil, nil
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
	var s samples
	brute := cm.brute(n)
	for j, size := range [...]int{chooseSample / 4, chooseSample, refineSample} {
		m := min(n, size)
		if j == 2 && s.unpruned(1) {
			break
		}
		if j > 0 && (j == 2 || s.unpruned(0)) {
			// What this sample would cost if its trees grew as the
			// power law of those before.
			e := min(s.extrapolate(s.query, m, decayPessimistic), float64(m))
			b := min(s.extrapolate(s.build, m, decayPessimistic), float64(m))
			build, queries := cm.tree(e, b, m)
			asked := float64(sampleQueries(m)) / (workloadPasses * float64(m))
			share := sampleShare
			if j == 2 {
				share = refineShare
			}
			if build+asked*queries > share*brute {
				break
			}
		}
		sopts := opts
		sopts.Monitor = nil
		t, err := Build(sample(m), dim, sopts)
		if err != nil {
			return Choice{}, nil, err
		}
		query, build, err := sampleEvals(t, opts.Jobs)
		if err != nil {
			return Choice{}, nil, err
		}
		s.add(m, query, build)
		if m == n {
			// The data themselves: the extrapolation keeps their counts.
			c := s.choice(n, decayPessimistic, decayPessimistic, cm)
			if c.Algorithm == CoverTree {
				return c, t, nil
			}
			return c, nil, nil
		}
		if j == 0 {
			continue
		}
		c := s.choice(n, decayPessimistic, decayPessimistic, cm)
		if c.Algorithm == CoverTree {
			return c, nil, nil
		}
		if j == 1 {
			if o := s.choice(n, decayOptimistic, decayOptimistic, cm); o.TreeCost > bruteClear*o.BruteCost {
				return c, nil, nil
			}
			continue
		}
		return s.choice(n, s.decay(s.query), s.decay(s.build), cm), nil, nil
	}
	return s.choice(n, decayPessimistic, decayPessimistic, cm), nil, nil
}

// samples holds the sample trees' sizes and their evaluations per query
// and per point built, smallest first.
type samples struct {
	size         []int
	query, build []float64
}

func (s *samples) add(m int, query, build float64) {
	s.size = append(s.size, m)
	s.query = append(s.query, query)
	s.build = append(s.build, build)
}

// unpruned reports whether sample j's queries measured nearly all its
// other points (cannotPrune).
func (s *samples) unpruned(j int) bool {
	return s.query[j] >= cannotPrune*float64(s.size[j]-1)
}

// growth returns the exponent g with which counts e (of the samples) grew
// between the last two samples (e ~ size^g), or 1 with one sample.
func (s *samples) growth(e []float64) float64 {
	k := len(e)
	if k < 2 {
		return 1
	}
	return growth(e[k-2], e[k-1], s.size[k-2], s.size[k-1])
}

// decay returns the factor by which the growth exponent of counts e (of
// the samples) fell from the first two samples to the last two, between 0
// and 1 (1 with fewer than three samples).
func (s *samples) decay(e []float64) float64 {
	k := len(e)
	if k < 3 {
		return decayPessimistic
	}
	before := growth(e[k-3], e[k-2], s.size[k-3], s.size[k-2])
	if before <= 0 {
		return decayPessimistic
	}
	return min(s.growth(e)/before, 1)
}

// extrapolate returns counts e (of the samples) extrapolated to n points:
// from the largest sample, by the growth exponent of the last two
// samples, multiplied by decay for each quadrupling of the points
// (fractions of one pro rata), the first included; with one sample, in
// proportion to the points. It is not capped.
func (s *samples) extrapolate(e []float64, n int, decay float64) float64 {
	k := len(e)
	last := e[k-1]
	m := s.size[k-1]
	if k < 2 {
		return last * float64(n) / float64(m)
	}
	g := s.growth(e)
	steps := math.Log(float64(n)/float64(m)) / math.Log(4)
	exp := 0.0
	for ; steps > 0; steps-- {
		g *= decay
		exp += g * min(steps, 1)
	}
	return last * math.Pow(4, exp)
}

// choice returns the choice for n points from the samples, their counts
// of evaluations a query and a point built extrapolated with decays dq and
// db.
func (s *samples) choice(n int, dq, db float64, cm costModel) Choice {
	k := len(s.size)
	c := Choice{Sample: s.size[k-1], SampleEvals: s.query[k-1], Growth: s.growth(s.query),
		Evals:      min(s.extrapolate(s.query, n, dq), float64(n)),
		BuildEvals: min(s.extrapolate(s.build, n, db), float64(n))}
	return decide(c, n, cm)
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

// sampleQueries returns the number of queries sampleEvals asks of a tree
// of m points (see chooseQueries).
func sampleQueries(m int) int {
	return min(m, max(chooseQueriesMin, m/4), chooseQueries)
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
	q := sampleQueries(len(live))
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
// points by the cost model cm and chooses the cheaper index, a tree unless
// brute force is cheaper by treeFavour; it sets the tree build's budget.
func decide(c Choice, n int, cm costModel) Choice {
	build, queries := cm.tree(c.Evals, c.BuildEvals, n)
	c.TreeCost, c.BruteCost = build+queries, cm.brute(n)
	c.Algorithm = CoverTree
	if c.BruteCost < treeFavour*c.TreeCost {
		c.Algorithm = Brute
	}
	// Past this many evaluations a build alone costs what brute force
	// costs for the whole workload.
	fixed, _ := cm.tree(0, 0, n)
	c.BuildBudget = int64(max(c.BruteCost-queries-fixed, 0) / cm.buildEval())
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

// BuildIndex builds the index algo asks for over the points (see Build and
// BuildBruteForce), choosing with Choose when algo is Auto, and returns it: a
// Tree or a BruteForce, the other nil, and the choice (for CoverTree and Brute,
// just the algorithm).
//
// Where Auto chooses a tree, its build gets a budget (Options.MaxEvals):
// the larger of Choice.BuildBudget and three times the evaluations the
// samples predicted. A build that exceeds it (ErrCostly: the data leave the
// tree little to prune, and the samples did not show it) stops there, and
// a BruteForce is built instead; Choice.GaveUp says so. Where a sample was
// the whole data and Auto chose a tree, that tree is the one returned.
func BuildIndex[T Float](data []T, dim int, algo Algorithm, opts Options) (*Tree[T], *BruteForce[T], Choice, error) {
	c := Choice{Algorithm: algo}
	switch algo {
	case Auto:
		n, _, err := opts.check(data, dim)
		if err != nil {
			return nil, nil, Choice{}, err
		}
		c, whole, err := choose(data, dim, opts, denseModel{dim, opts.Metric}, n)
		if err != nil {
			return nil, nil, Choice{}, err
		}
		if whole != nil {
			// A sample was the whole data: its tree is the one to build
			// (the same options but the monitor, which now hears of it).
			whole.queryEvals.Store(0)
			opts.Monitor.add(whole.Len())
			return whole, nil, c, nil
		}
		return buildChosen(data, dim, true, c, opts)
	case CoverTree, Brute:
	default:
		return nil, nil, Choice{}, fmt.Errorf("core: unknown algorithm %d", int(algo))
	}
	return buildChosen(data, dim, algo == Auto, c, opts)
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
