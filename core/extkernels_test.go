package core

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// extCase is one metric of extkernels.go with data for it.
type extCase struct {
	name   string
	metric Metric
	dim    int
	grid   bool // small integer coordinates: duplicates and ties
}

func extCases(rng *rand.Rand) []extCase {
	const dim = 4
	v := make([]float64, dim)
	w := make([]float64, dim)
	for i := range v {
		v[i] = 0.5 + rng.Float64()*2
		w[i] = 0.25 + rng.Float64()
	}
	// A symmetric positive definite VI: A A' + I.
	a := make([]float64, dim*dim)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	vi := make([]float64, dim*dim)
	for i := range dim {
		for j := range dim {
			for k := range dim {
				vi[i*dim+j] += a[i*dim+k] * a[j*dim+k]
			}
		}
		vi[i*dim+i]++
	}
	return []extCase{
		{"seuclidean-grid", NewSEuclidean([]float64{1, 2, 4, 0.5}), dim, true},
		{"seuclidean-random", NewSEuclidean(v), dim, false},
		{"mahalanobis-random", NewMahalanobis(vi), dim, false},
		{"mahalanobis-grid", NewMahalanobis([]float64{2, 1, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 3}), dim, true},
		{"wminkowski1-grid", NewWeightedMinkowski(1, []float64{1, 2, 3, 4}), dim, true},
		{"wminkowski2-random", NewWeightedMinkowski(2, w), dim, false},
		{"wminkowski3-random", NewWeightedMinkowski(3, w), dim, false},
		{"canberra-grid", Metric{Kind: Canberra}, dim, true},
		{"canberra-random", Metric{Kind: Canberra}, dim, false},
		{"hamming-grid", Metric{Kind: Hamming}, 6, true},
		{"jaccard-grid", Metric{Kind: Jaccard}, 8, true},
		{"rogerstanimoto-grid", Metric{Kind: RogersTanimoto}, 8, true},
		{"sokalmichener-grid", Metric{Kind: SokalMichener}, 8, true},
		{"sokalsneath-grid", Metric{Kind: SokalSneath}, 8, true},
	}
}

func extData(c extCase, n int, rng *rand.Rand) []float64 {
	out := make([]float64, n*c.dim)
	for i := range out {
		if c.grid {
			out[i] = float64(rng.IntN(3)) - 0.5*float64(rng.IntN(2))
		} else {
			out[i] = rng.NormFloat64()
		}
	}
	return out
}

// reference computes the metrics of extkernels.go from their definitions,
// independently of the kernels.
func reference(m Metric, a, b []float64) float64 {
	p := m.Params()
	switch m.Kind {
	case SEuclidean:
		var s float64
		for i := range a {
			s += (a[i] - b[i]) * (a[i] - b[i]) / p[i]
		}
		return math.Sqrt(s)
	case Mahalanobis:
		d := len(a)
		var s float64
		for i := range d {
			for j := range d {
				s += (a[i] - b[i]) * p[i*d+j] * (a[j] - b[j])
			}
		}
		return math.Sqrt(max(s, 0))
	case Minkowski:
		var s float64
		for i := range a {
			s += p[i] * math.Pow(math.Abs(a[i]-b[i]), m.P)
		}
		return math.Pow(s, 1/m.P)
	case Canberra:
		var s float64
		for i := range a {
			if a[i] != 0 || b[i] != 0 {
				s += math.Abs(a[i]-b[i]) / (math.Abs(a[i]) + math.Abs(b[i]))
			}
		}
		return s
	case Hamming:
		n := 0
		for i := range a {
			if a[i] != b[i] {
				n++
			}
		}
		return float64(n) / float64(len(a))
	}
	var tt, tf, ft, ff float64
	for i := range a {
		x, y := a[i] != 0, b[i] != 0
		switch {
		case x && y:
			tt++
		case x:
			tf++
		case y:
			ft++
		default:
			ff++
		}
	}
	if tf+ft == 0 {
		return 0
	}
	switch m.Kind {
	case Jaccard:
		return (tf + ft) / (tt + tf + ft)
	case SokalSneath:
		return 2 * (tf + ft) / (tt + 2*(tf+ft))
	}
	return 2 * (tf + ft) / (tt + ff + 2*(tf+ft))
}

// TestExtKernels checks every kernel against its definition, and the
// triangle inequality on random triples.
func TestExtKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, c := range extCases(rng) {
		if err := c.metric.Validate(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		x := extData(c, 60, rng)
		k := kernelFor[float64](c.metric)
		f := fastKernel[float32](c.metric, c.dim)
		for i := 0; i < 60; i++ {
			a := x[i*c.dim : (i+1)*c.dim]
			for j := 0; j < 60; j++ {
				b := x[j*c.dim : (j+1)*c.dim]
				got, want := k(a, b), reference(c.metric, a, b)
				if math.Abs(got-want) > 1e-12*max(1, want) {
					t.Fatalf("%s: d(%v, %v) = %v, the definition gives %v", c.name, a, b, got, want)
				}
				if got32 := f(toF32(a), toF32(b)); math.Abs(got32-reference(c.metric, f64(toF32(a)), f64(toF32(b)))) > 1e-12*max(1, want) {
					t.Fatalf("%s float32: d = %v", c.name, got32)
				}
				for l := 0; l < 60; l += 7 {
					e := x[l*c.dim : (l+1)*c.dim]
					if got > k(a, e)+k(e, b)+1e-12 {
						t.Fatalf("%s: the triangle inequality fails at %v, %v, %v", c.name, a, e, b)
					}
				}
			}
		}
	}
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// TestExtSearchBrute checks k-NN and radius searches with every metric of
// extkernels.go against brute force with the same kernel (so ties and
// duplicates are compared exactly), both dtypes, and the encoding's round
// trip of the metric's parameters.
func TestExtSearchBrute(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, c := range extCases(rng) {
		data := extData(c, 400, rng)
		queries := extData(c, 40, rng)
		t.Run(c.name+"/float64", func(t *testing.T) { checkExtSearch(t, c, data, queries) })
		t.Run(c.name+"/float32", func(t *testing.T) { checkExtSearch(t, c, toF32(data), toF32(queries)) })
	}
}

func checkExtSearch[T Float](t *testing.T, c extCase, data, queries []T) {
	tr, err := Build(data, c.dim, Options{Metric: c.metric, Seed: 7, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Check(); err != nil {
		t.Fatal(err)
	}
	enc := tr.Encode()
	dec, err := Decode[T](enc)
	if err != nil {
		t.Fatal(err)
	}
	if dec.Metric() != tr.Metric() || !bytes.Equal(dec.Encode(), enc) {
		t.Fatalf("decoded metric %v, want %v", dec.Metric(), tr.Metric())
	}
	pq, err := prepare(c.metric, queries, c.dim)
	if err != nil {
		t.Fatal(err)
	}
	nq := len(queries) / c.dim
	for _, k := range []int{1, 7} {
		dist := make([]T, nq*k)
		idx := make([]int64, nq*k)
		if err := dec.KNearestBatch(Batch[T]{Points: queries, Jobs: 2}, k, dist, idx); err != nil {
			t.Fatal(err)
		}
		for i := range nq {
			want := bruteSorted(tr, pq[i*c.dim:(i+1)*c.dim])
			for j := range k {
				if idx[i*k+j] != want[j].i || dist[i*k+j] != T(want[j].d) {
					t.Fatalf("k=%d query %d: neighbour %d is (%d, %v), brute force (%d, %v)", k, i, j, idx[i*k+j], dist[i*k+j], want[j].i, want[j].d)
				}
			}
		}
	}
	for _, r := range []float64{0, 0.25, 0.5, 1, 2} {
		res, err := tr.WithinBatch(Batch[T]{Points: queries}, r, false)
		if err != nil {
			t.Fatal(err)
		}
		_, ids := fillAll(res)
		o := 0
		for i := range nq {
			var want []int64
			for _, x := range bruteSorted(tr, pq[i*c.dim:(i+1)*c.dim]) {
				if x.d <= r {
					want = append(want, x.i)
				}
			}
			slices.Sort(want)
			got := ids[o : o+int(res.Counts()[i])]
			if !slices.Equal(got, want) {
				t.Fatalf("r=%v query %d: %v, brute force %v", r, i, got, want)
			}
			o += len(got)
		}
	}
}

// bruteSorted returns every point of tr with its distance from q, by
// (distance, index).
func bruteSorted[T Float](tr *Tree[T], q []T) []brutePair {
	var out []brutePair
	for _, id := range tr.LiveIDs(nil) {
		out = append(out, brutePair{i: id, d: tr.dist(q, tr.Point(int(id)))})
	}
	slices.SortFunc(out, func(a, b brutePair) int {
		if less(a.d, int32(a.i), b.d, int32(b.i)) {
			return -1
		}
		return 1
	})
	return out
}

// TestExtMetricErrors checks the refusals of bad parameters.
func TestExtMetricErrors(t *testing.T) {
	for _, c := range []struct {
		m    Metric
		dim  int
		want string
	}{
		{Metric{Kind: SEuclidean}, 2, "needs the variances"},
		{NewSEuclidean([]float64{1, 0}), 2, "V > 0"},
		{NewSEuclidean([]float64{1, math.Inf(1)}), 2, "V > 0"},
		{NewSEuclidean([]float64{1, 2, 3}), 2, "3 variances"},
		{NewMahalanobis([]float64{1, 2, 3}), 2, "square matrix"},
		{NewMahalanobis([]float64{1, 0.5, 0.4, 1}), 2, "symmetric"},
		{NewMahalanobis([]float64{1, 2, 2, 1}), 2, "positive definite"},
		{NewMahalanobis([]float64{1, 0, 0, math.NaN()}), 2, "NaN"},
		{NewMahalanobis([]float64{1}), 2, "VI of 1 values"},
		{NewWeightedMinkowski(3, []float64{1, 0}), 2, "> 0"},
		{NewWeightedMinkowski(math.Inf(1), []float64{1, 1}), 2, "finite p"},
		{NewWeightedMinkowski(3, []float64{1}), 2, "1 weights"},
		{Metric{Kind: Canberra, par: packFloats([]float64{1})}, 1, "no parameters"},
	} {
		_, err := Build([]float64{0, 1, 2, 3}, c.dim, Options{Metric: c.m})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error with %q", c.m, err, c.want)
		}
	}
	if m, err := ParseMetric("SokalSneath", 0); err != nil || m.Kind != SokalSneath {
		t.Errorf("ParseMetric(SokalSneath) = %v, %v", m, err)
	}
	if _, err := ParseMetric("braycurtis", 0); err == nil || !strings.Contains(err.Error(), "seuclidean") {
		t.Errorf("ParseMetric(braycurtis): %v", err)
	}
}
