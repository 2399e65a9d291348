package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBuildProjSameTree checks that the batch construction's projection
// screen changes nothing but the distances measured: in 192 to 256
// Euclidean and cosine dimensions (clusters of low intrinsic dimension,
// with duplicates and integer ties, and far from the origin with a small
// spread; Gaussian points, in float64 and not under -short), float64 and
// float32, with one and two jobs, the tree equals the one built without
// the screen, passes the invariant checks, and the screened build measures
// fewer distances where the data have structure. Under the race detector,
// which is there for the parallel paths, float64 with two jobs only: the
// other cases took two minutes of a three-minute test there, and the
// ordinary run checks them.
func TestBuildProjSameTree(t *testing.T) {
	n := projMinRows

	rng := rand.New(rand.NewPCG(17, 4))
	for _, c := range []struct {
		name   string
		dim    int
		metric Metric
		rows   func(n, dim int) []float64
		fewer  bool // the screen must save distances here
		slow   bool // skipped under -short and the race detector
		bytes  bool // the rows must also be screened a byte a coordinate
	}{
		{"clusters-256", 256, Metric{}, func(n, dim int) []float64 { return projClusters(rng, n, dim, 6, false) }, true, false, false},
		{"clusters-ties-200", 200, Metric{}, func(n, dim int) []float64 { return projClusters(rng, n, dim, 4, true) }, true, false, false},
		{"clusters-cosine-224", 224, Metric{Kind: Cosine}, func(n, dim int) []float64 { return projClusters(rng, n, dim, 5, false) }, true, false, false},
		// Noise in every coordinate: the directions capture under 99% of
		// the rows, and the byte screen runs too.
		{"noisy-clusters-200", 200, Metric{}, func(n, dim int) []float64 {
			rows := projClusters(rng, n, dim, 5, false)
			for i := range rows {
				rows[i] += 10 * rng.NormFloat64()
			}
			return rows
		}, false, false, true},
		{"far-offset-192", 192, Metric{}, func(n, dim int) []float64 {
			rows := projClusters(rng, n, dim, 3, false)
			for i := range rows {
				rows[i] = 1e6 + 1e-3*rows[i]
			}
			return rows
		}, false, false, false},
		{"gaussian-192", 192, Metric{}, func(n, dim int) []float64 {
			rows := make([]float64, n*dim)
			for i := range rows {
				rows[i] = rng.NormFloat64()
			}
			return rows
		}, false, true, true},
	} {
		if c.slow && (raceEnabled || testing.Short()) {
			continue
		}
		rows := c.rows(n, c.dim)
		if c.bytes {
			tm := newTeam(1)
			pr := newBuildProj(rows, c.dim, 5, tm)
			tm.stop()
			if pr == nil || pr.u == nil {
				t.Fatalf("%s: the rows are not screened a byte a coordinate", c.name)
			}
		}
		t.Run(c.name+"/float64", func(t *testing.T) { checkProjTree(t, rows, c.dim, c.metric, c.fewer) })
		if !c.slow && !raceEnabled {
			t.Run(c.name+"/float32", func(t *testing.T) { checkProjTree(t, toFloat32(rows), c.dim, c.metric, c.fewer) })
		}
	}
}

// projClusters returns n rows of dim coordinates around k centres in a
// subspace of dimension 4, plus small noise; with ties, coordinates are
// rounded to integers (many equal distances) and every tenth row repeats
// an earlier one.
func projClusters(rng *rand.Rand, n, dim, k int, ties bool) []float64 {
	basis := make([]float64, 4*dim)
	for i := range basis {
		basis[i] = rng.NormFloat64()
	}
	centres := make([]float64, k*4)
	for i := range centres {
		centres[i] = 20 * rng.NormFloat64()
	}
	rows := make([]float64, n*dim)
	for r := range n {
		c := rng.IntN(k)
		var z [4]float64
		for j := range z {
			z[j] = centres[c*4+j] + 3*rng.NormFloat64()
		}
		for j := range dim {
			v := 0.05 * rng.NormFloat64()
			for a := range z {
				v += z[a] * basis[a*dim+j]
			}
			if ties {
				v = math.Round(v)
			}
			rows[r*dim+j] = v
		}
		if ties && r%10 == 9 {
			copy(rows[r*dim:(r+1)*dim], rows[(r/2)*dim:(r/2+1)*dim])
		}
	}
	return rows
}

func checkProjTree[T Float](t *testing.T, rows []T, dim int, metric Metric, fewer bool) {
	jobsList := []int{1, 2}
	if raceEnabled {
		jobsList = jobsList[1:] // see TestBuildProjSameTree
	}
	for _, jobs := range jobsList {
		with, err := Build(rows, dim, Options{Seed: 5, Jobs: jobs, Metric: metric})
		if err != nil {
			t.Fatal(err)
		}
		without, err := Build(rows, dim, Options{Seed: 5, Jobs: jobs, Metric: metric, noProjection: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := with.Check(); err != nil {
			t.Fatalf("jobs=%d: %v", jobs, err)
		}
		if !slices.Equal(treeShape(with), treeShape(without)) {
			t.Fatalf("jobs=%d: the tree built with the projection screen differs from the one without", jobs)
		}
		a, _ := with.DistanceEvals()
		b, _ := without.DistanceEvals()
		if fewer && a >= b {
			t.Fatalf("jobs=%d: the screen measured %d distances, without it %d", jobs, a, b)
		}
		t.Log(fmt.Sprintf("jobs=%d: %d distances measured with the screen, %d without", jobs, a, b))
	}
}

// TestBuildProjParallelParts builds, with two jobs, a tree whose sets of
// projMinRows points or more are measured in parallel parts through the
// projection screen (the parts' threshold lowered to 512 points): the
// parts must not share the screen's counts or drop it under each other
// (the race detector watches this test; it found both before the counts
// moved to measure), and the tree must equal the one-job tree.
func TestBuildProjParallelParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 1))
	const dim = projMinDims
	rows := projClusters(rng, 3*projMinRows/2, dim, 2, false)
	one, err := Build(rows, dim, Options{Seed: 2, Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	two, err := Build(rows, dim, Options{Seed: 2, Jobs: 2, parallelMin: 512})
	if err != nil {
		t.Fatal(err)
	}
	if err := two.Check(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(treeShape(one), treeShape(two)) {
		t.Fatal("the two-job tree differs from the one-job tree")
	}
}

// TestProjBlockBound checks the bound under which the row kernel settles
// rows by their carried projections: every square above blockBound(q, r)
// must settle every row by the screen's own test (beyondSquare, with the
// row's rounding bound, the largest of them included), for radii from tiny
// to huge and data near and far from the origin; and the bound must stay
// within a ten-thousandth of the test's own threshold for the row of
// largest rounding bound, or the kernel would settle little.
func TestProjBlockBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 3))
	const dim = projMinDims
	for _, offset := range []float64{0, 1e6} {
		rows := projClusters(rng, projMinRows, dim, 4, true)
		for i := range rows {
			rows[i] += offset
		}
		tm := newTeam(1)
		pr := newBuildProj(rows, dim, 7, tm)
		tm.stop()
		if pr == nil {
			t.Fatal("no projection screen")
		}
		worst := int32(slices.Index(pr.e, pr.emax))
		for _, r := range []float64{1e-9, 1e-3, 1, 37.5, 1e4, 1e12} {
			for _, q := range []int32{0, 1, worst, int32(projMinRows - 1)} {
				far2 := pr.blockBound(q, r)
				above := math.Nextafter(far2, math.Inf(1))
				for x := range int32(projMinRows) {
					if !pr.beyondSquare(above, q, x, r) {
						t.Fatalf("offset %g, r %g, q %d: a square above the block bound leaves row %d unsettled", offset, r, q, x)
					}
				}
				// The test's own threshold for the worst row: the least
				// square that settles it, found by bisection.
				lo, hi := 0.0, far2
				for range 200 {
					mid := (lo + hi) / 2
					if pr.beyondSquare(mid, q, worst, r) {
						hi = mid
					} else {
						lo = mid
					}
				}
				if far2 > hi*(1+1e-4) {
					t.Fatalf("offset %g, r %g, q %d: block bound %g against the test's %g", offset, r, q, far2, hi)
				}
			}
		}
	}
}

// TestQuantScreen checks the byte screen's bound: for every pair of rows
// (a child and a row of a set) and the radius set to the distance between
// them as the tree measures it, the screen must not settle the row (it may
// settle only rows strictly beyond), on clusters with integer ties, data
// far from the origin with a small spread (where centring matters), data
// of mixed magnitudes and rows equal to the centre, in both precisions;
// and at half that radius it must settle most pairs, or it would only cost.
// The kernel's sums must lie within the rounding bound the screen assumes.
func TestQuantScreen(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 2))
	const dim = 200
	n := projMinRows
	mixed := projClusters(rng, n, dim, 5, false)
	for i := range mixed {
		mixed[i] *= math.Pow(10, float64(i%7)-3)
	}
	far := projClusters(rng, n, dim, 3, false)
	for i := range far {
		far[i] = 1e6 + 1e-3*far[i]
	}
	centre := projClusters(rng, n, dim, 2, true)
	for j := range dim { // a row at the mean: its steps are all zero
		var m float64
		for r := range n {
			m += centre[r*dim+j]
		}
		centre[j] = m / float64(n)
	}
	for _, c := range []struct {
		name string
		rows []float64
	}{
		{"ties", projClusters(rng, n, dim, 4, true)},
		{"far-offset", far},
		{"mixed", mixed},
		{"centre", centre},
	} {
		t.Run(c.name+"/float64", func(t *testing.T) { checkQuantScreen(t, c.rows, dim, rng) })
		t.Run(c.name+"/float32", func(t *testing.T) { checkQuantScreen(t, toFloat32(c.rows), dim, rng) })
	}
}

func checkQuantScreen[T Float](t *testing.T, rows []T, dim int, rng *rand.Rand) {
	t.Helper()
	tm := newTeam(1)
	pr := newBuildProj(rows, dim, 11, tm)
	if pr == nil {
		t.Fatal("no projection screen")
	}
	// The bytes, whatever share of the rows the projections capture.
	mean := make([]float64, dim)
	n := len(rows) / dim
	for r := range n {
		for j := range dim {
			mean[j] += float64(rows[r*dim+j]) / float64(n)
		}
	}
	quantizeRows(pr, rows, dim, mean, tm)
	tm.stop()
	row := func(r int32) []T { return rows[int(r)*dim : int(r+1)*dim] }
	settledHalf, pairs := 0, 0
	for range 40 {
		q := int32(rng.IntN(n))
		qq := quantQueryOf(pr, row(q), nil)
		es := make([]batchEntry, 64)
		for k := range es {
			es[k].x = int32(rng.IntN(n))
		}
		var u [4][]int8
		var sc [4]float32
		var out [4]float64
		for a := 0; a < len(es); a += 4 {
			for w := range 4 {
				u[w], sc[w] = pr.bytes(es[a+w].x), pr.qs[es[a+w].x]
			}
			quantSquares4(u, sc, qq.q, &out)
			for w := range 4 {
				x := es[a+w].x
				// The kernel's sum within the rounding bound the screen
				// assumes, against the same differences summed in double
				// precision.
				var ref float64
				for j, v := range pr.bytes(x) {
					d := float64(quantStep(pr.qs[x], v)) - float64(qq.q[j])
					ref += d * d
				}
				if gamma := float64(dim+3) * 0x1p-24; math.Abs(out[w]-ref) > gamma*ref+1e-300 {
					t.Fatalf("row %d: the kernel's sum %v, in double precision %v", x, out[w], ref)
				}
				d := euclidean(row(q), row(x))
				if pr.quantSettles(out[w], x, qq, d) {
					t.Fatalf("rows %d and %d at distance %v: settled beyond it", q, x, d)
				}
				if d > 0 {
					pairs++
					if pr.quantSettles(out[w], x, qq, d/2) {
						settledHalf++
					}
				}
			}
			// The same through quantScreen: with the radius at the
			// set's largest distance nothing is dropped.
			cand := make([]int32, len(es))
			for k := range cand {
				cand[k] = int32(k)
			}
			var dmax float64
			for _, e := range es {
				dmax = max(dmax, euclidean(row(q), row(e.x)))
			}
			if left := pr.quantScreen(cand, es, qq, dmax); left != len(es) {
				t.Fatalf("radius %v, the set's largest distance: %d of %d rows left", dmax, left, len(es))
			}
		}
	}
	if settledHalf < pairs*9/10 {
		t.Fatalf("at half the distance the bytes settled %d of %d pairs", settledHalf, pairs)
	}
}
