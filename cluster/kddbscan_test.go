package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// kdBruteDBSCAN is DBSCAN by brute force with weights (nil: each point
// weighs 1), a pair within eps when within(i, j): scikit-learn's
// algorithm (a core point's cluster grows through its neighbours in
// index order), which the tests take as the definition.
func kdBruteDBSCAN(n int, within func(i, j int) bool, weights []float64, minSamples int) ([]int, []bool) {
	nbr := make([][]int, n)
	isCore := make([]bool, n)
	for i := range n {
		s := 0.0
		for j := range n {
			if within(i, j) {
				nbr[i] = append(nbr[i], j)
				if weights == nil {
					s++
				} else {
					s += weights[j]
				}
			}
		}
		isCore[i] = s >= float64(minSamples)
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = -1
	}
	next := 0
	for i := range n {
		if labels[i] != -1 || !isCore[i] {
			continue
		}
		stack := []int{i}
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if labels[v] != -1 {
				continue
			}
			labels[v] = next
			if isCore[v] {
				for _, u := range nbr[v] {
					if labels[u] == -1 {
						stack = append(stack, u)
					}
				}
			}
		}
		next++
	}
	return labels, isCore
}

// kdSqWithin returns scikit-learn's k-d tree test of a pair of rows of x
// (the sum of squared differences in float64, in column order, at most
// eps*eps), and whether the tree's test (Tree.Dist at most eps) decides
// some pair otherwise.
func kdSqWithin[T core.Float](x []T, dim int, eps float64) (func(i, j int) bool, bool) {
	n := len(x) / dim
	row := func(i int) []T { return x[i*dim : (i+1)*dim] }
	differ := false
	for i := range n {
		for j := range i {
			differ = differ || (sqDist(row(i), row(j)) <= eps*eps) != (core.Distance(core.Metric{}, row(i), row(j)) <= eps)
		}
	}
	return func(i, j int) bool { return sqDist(row(i), row(j)) <= eps*eps }, differ
}

// TestDBSCANPointsKD checks DBSCAN on Euclidean rows of four and more
// features (the k-d tree of kddbscan.go) against brute force with
// scikit-learn's test of a pair, on continuous data, blobs with
// duplicates and integer grids whose distances tie at eps (sqrt(3) and
// sqrt(5) are ties the tree's test decides otherwise), in float64 and
// float32, with one job and several.
func TestDBSCANPointsKD(t *testing.T) {
	differ := 0
	for _, ds := range gridDBSCANSets() {
		for _, dim := range []int{4, 5, 9} {
			for _, eps := range []float64{0.3, 1, 2, math.Sqrt(3), math.Sqrt(5)} {
				t.Run(fmt.Sprintf("%s/%dd/eps%.3g", ds.name, dim, eps), func(t *testing.T) {
					r := rand.New(rand.NewPCG(41, uint64(dim)))
					n := 600
					x := ds.gen(r, n, dim)
					if ds.name == "ties" {
						for i := range x {
							x[i] = math.Floor(x[i] / 4) // 3 values per axis: dense, many duplicates
						}
					}
					x32 := convert[float32](x)
					for _, single := range []bool{false, true} {
						within, d := kdSqWithin(x, dim, eps)
						if single {
							within, d = kdSqWithin(x32, dim, eps)
						}
						if d {
							differ++
						}
						for _, ms := range []int{1, 3, 8, 40} {
							labels, isCore := kdBruteDBSCAN(n, within, nil, ms)
							for _, jobs := range []int{1, 3} {
								var got DBSCANResult
								var err error
								if single {
									got, err = DBSCANPoints(x32, dim, core.Metric{}, eps, ms, nil, Options{Jobs: jobs})
								} else {
									got, err = DBSCANPoints(x, dim, core.Metric{}, eps, ms, nil, Options{Jobs: jobs})
								}
								if err != nil {
									t.Fatal(err)
								}
								if !slices.Equal(got.Core, isCore) || !slices.Equal(got.Labels, labels) {
									t.Fatalf("float32 %v, min_samples=%d, %d jobs: labels differ from brute force", single, ms, jobs)
								}
							}
						}
					}
				})
			}
		}
	}
	if differ == 0 {
		t.Error("no case has a pair the two tests decide otherwise")
	}
}

// TestDBSCANKDMatchesGrid checks the k-d tree against the grid in one to
// three dimensions, where both decide a pair by the sum of squares.
func TestDBSCANKDMatchesGrid(t *testing.T) {
	for _, ds := range gridDBSCANSets() {
		for dim := 1; dim <= 3; dim++ {
			for _, eps := range []float64{0.05, 0.3, 1, math.Sqrt(3)} {
				r := rand.New(rand.NewPCG(43, uint64(dim)))
				x := ds.gen(r, 2000, dim)
				g := newDBSCANGrid(x, dim, eps)
				if g == nil {
					t.Fatalf("%s/%dd: the grid refused the data", ds.name, dim)
				}
				for _, ms := range []int{2, 6, 30} {
					want, err := g.dbscan(eps, ms, nil, Options{Jobs: 2})
					if err != nil {
						t.Fatal(err)
					}
					got, err := kdDBSCAN(x, dim, eps, ms, nil, Options{Jobs: 2})
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got.Core, want.Core) || !slices.Equal(got.Labels, want.Labels) {
						t.Fatalf("%s/%dd/eps %v/min_samples=%d: the k-d tree differs from the grid", ds.name, dim, eps, ms)
					}
				}
			}
		}
	}
}

// TestDBSCANKDLarge checks the k-d tree against the grid on 70,000 points
// (the tree's build then runs in parallel), with one job and several.
func TestDBSCANKDLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	x := clustered(70_000, 3, 5)
	eps := 0.4
	g := newDBSCANGrid(x, 3, eps)
	want, err := g.dbscan(eps, 10, nil, Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, jobs := range []int{1, 4} {
		got, err := kdDBSCAN(x, 3, eps, 10, nil, Options{Jobs: jobs})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Core, want.Core) || !slices.Equal(got.Labels, want.Labels) {
			t.Fatalf("%d jobs: the k-d tree differs from the grid", jobs)
		}
	}
	if slices.Max(want.Labels) < 1 {
		t.Fatal("fewer than two clusters: the case tests little")
	}
}

// TestDBSCANPointsKDWeights checks the k-d tree with weights, some zero
// and some negative (then no count stops early), against brute force.
func TestDBSCANPointsKDWeights(t *testing.T) {
	for _, negative := range []bool{false, true} {
		for _, dim := range []int{4, 6} {
			t.Run(fmt.Sprintf("%dd/negative=%v", dim, negative), func(t *testing.T) {
				r := rand.New(rand.NewPCG(47, uint64(dim)))
				n := 700
				side := map[int]int{4: 6, 6: 3}[dim] // about 0.5 and 1 point per unit cell
				x := make([]float64, n*dim)
				for i := range x {
					x[i] = float64(r.IntN(side))
				}
				w := make([]float64, n)
				for i := range w {
					w[i] = float64(r.IntN(3)) * 0.5
					if negative && r.IntN(4) == 0 {
						w[i] = -1
					}
				}
				eps := 1.0
				within, _ := kdSqWithin(x, dim, eps)
				mixed := false
				for _, ms := range []int{2, 3, 5} {
					labels, isCore := kdBruteDBSCAN(n, within, w, ms)
					got, err := DBSCANPoints(x, dim, core.Metric{}, eps, ms, w, Options{Jobs: 2})
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got.Core, isCore) || !slices.Equal(got.Labels, labels) {
						t.Fatalf("min_samples=%d: labels differ from brute force", ms)
					}
					mixed = mixed || (slices.Contains(isCore, true) && slices.Contains(isCore, false))
				}
				if !mixed {
					t.Fatal("all or no core points at every min_samples: the case tests little")
				}
			})
		}
	}
}

// TestSelectNth checks the selection on keys with many ties.
func TestSelectNth(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 1))
	for _, n := range []int{1, 2, 3, 10, 100, 1000} {
		for _, distinct := range []int{1, 3, 1000} {
			key := make([]float64, n)
			for i := range key {
				key[i] = float64(r.IntN(distinct))
			}
			sorted := slices.Clone(key)
			slices.Sort(sorted)
			for _, m := range []int{0, n / 2, n - 1} {
				xs := make([]int32, n)
				for i := range xs {
					xs[i] = int32(i)
				}
				selectNth(xs, m, key)
				if key[xs[m]] != sorted[m] {
					t.Fatalf("n=%d distinct=%d m=%d: rank m holds %v, want %v", n, distinct, m, key[xs[m]], sorted[m])
				}
				for i, x := range xs {
					if (i < m && key[x] > key[xs[m]]) || (i > m && key[x] < key[xs[m]]) {
						t.Fatalf("n=%d distinct=%d m=%d: position %d holds %v on the wrong side of %v", n, distinct, m, i, key[x], key[xs[m]])
					}
				}
				slices.Sort(xs)
				for i, x := range xs {
					if int(x) != i {
						t.Fatalf("n=%d: not a permutation", n)
					}
				}
			}
		}
	}
}
