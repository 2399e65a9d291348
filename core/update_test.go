package core

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// updateSet is a data set for the batch update tests.
type updateSet struct {
	name   string
	dim    int
	metric Metric
	rows   func(rng *rand.Rand, n int) ([]float64, error)
}

// updateSets returns synthetic sets (clusters of very different spreads,
// integer grids full of duplicates and ties) under several metrics, and
// samples of the real letter (16-D integer features) and bunny (3-D mesh)
// sets when ../shared/datasets holds them.
func updateSets() []updateSet {
	gen := func(f func(rng *rand.Rand, n, dim int) []float64, dim int) func(*rand.Rand, int) ([]float64, error) {
		return func(rng *rand.Rand, n int) ([]float64, error) { return f(rng, n, dim), nil }
	}
	return []updateSet{
		{"clusters-3", 3, Metric{}, gen(clusterRows, 3)},
		{"grid-ties-3", 3, Metric{}, gen(gridRows, 3)},
		{"grid-ties-2-manhattan", 2, Metric{Kind: Manhattan}, gen(gridRows, 2)},
		{"grid-ties-2", 2, Metric{}, gen(gridRows, 2)},
		{"gaussian-3-cosine", 3, Metric{Kind: Cosine}, gen(gaussianRows, 3)},
		{"gaussian-5-chebyshev", 5, Metric{Kind: Chebyshev}, gen(gaussianRows, 5)},
		{"clusters-4-minkowski3", 4, Metric{Kind: Minkowski, P: 3}, gen(clusterRows, 4)},
		{"gaussian-6-cosine", 6, Metric{Kind: Cosine}, gen(gaussianRows, 6)},
		{"bunny", 3, Metric{}, func(rng *rand.Rand, n int) ([]float64, error) { return realRows(rng, n, 3, readBunny) }},
		{"letter", 16, Metric{}, func(rng *rand.Rand, n int) ([]float64, error) { return realRows(rng, n, 16, readLetter) }},
	}
}

// TestUpdatesAgainstBruteForce runs a sequence of batch insertions and
// deletions on each set, in float64 and float32, and after every update
// checks the tree's invariants (Check: root, cover, separation, nesting,
// every point once, duplicates on one node, radii) and its k-nearest
// answers against brute force over the live points. At the end every
// earlier version must still answer as it did when it was made, and the
// same seed must have given the same trees with 1 and 3 jobs.
func TestUpdatesAgainstBruteForce(t *testing.T) {
	n := 1500
	if raceEnabled || testing.Short() {
		n = 400
	}
	for _, set := range updateSets() {
		t.Run(set.name, func(t *testing.T) {
			rows, err := set.rows(rand.New(rand.NewPCG(7, uint64(set.dim))), n)
			if err != nil {
				t.Skipf("data set not available: %v", err)
			}
			t.Run("float64", func(t *testing.T) { checkUpdates(t, rows, set.dim, set.metric) })
			t.Run("float32", func(t *testing.T) { checkUpdates(t, toFloat32(rows), set.dim, set.metric) })
		})
	}
}

// version is a tree made by an update, with the answers it gave then.
type version[T Float] struct {
	tree *Tree[T]
	dist []T
	idx  []int64
}

// checkUpdates builds a tree on 30% of rows and then inserts and deletes
// in batches of several sizes (an insertion larger than an eighth of the
// tree takes several prefix-doubling batches).
func checkUpdates[T Float](t *testing.T, rows []T, dim int, metric Metric) {
	n := len(rows) / dim
	var queries []T
	qrng := rand.New(rand.NewPCG(9, 9))
	for range 12 {
		// Points of the set, nudged points and far points.
		i := qrng.IntN(n)
		for j := range dim {
			v := rows[i*dim+j]
			switch qrng.IntN(3) {
			case 1:
				v += T(qrng.NormFloat64() * 0.01)
			case 2:
				v = T(qrng.NormFloat64() * 30)
			}
			queries = append(queries, v)
		}
	}
	var versions []version[T] // of the run with 2 jobs, with their answers then
	run := func(jobs int, check bool) []*Tree[T] {
		rng := rand.New(rand.NewPCG(3, 5))
		cut := n * 3 / 10
		tr, err := Build(rows[:cut*dim], dim, Options{Seed: 2, Jobs: jobs, Metric: metric})
		if err != nil {
			t.Fatal(err)
		}
		trees := []*Tree[T]{tr}
		live := map[int64]int{} // caller index -> row
		for i := range cut {
			live[int64(i)] = i
		}
		next := cut
		insert := func(m int) {
			m = min(m, n-next)
			if m == 0 {
				return
			}
			nt, first, err := tr.Insert(rows[next*dim:(next+m)*dim], UpdateOptions{Jobs: jobs})
			if err != nil {
				t.Fatal(err)
			}
			for i := range m {
				live[int64(first+i)] = next + i
			}
			next += m
			tr = nt
			trees = append(trees, tr)
		}
		del := func(frac float64) {
			var ids []int64
			for id := range live {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			ids = ids[:int(frac*float64(len(ids)))]
			nt, err := tr.Delete(ids, UpdateOptions{Jobs: jobs})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				delete(live, id)
			}
			tr = nt
			trees = append(trees, tr)
		}
		step := func(label string) {
			if check {
				checkVersion(t, tr, live, rows, dim, queries, label)
				d, i := answers(t, tr, queries, dim)
				versions = append(versions, version[T]{tr, d, i})
			}
		}
		step("build")
		insert(n / 10)
		step("insert 10%")
		insert(n * 3 / 10)
		step("insert 30%")
		del(0.1)
		step("delete 10%")
		insert(n / 100)
		step("insert 1%")
		del(0.4)
		step("delete 40%")
		insert(n)
		step("insert the rest")
		return trees
	}
	trees := run(2, true)
	// Earlier versions answer as they did when they were made, and their
	// invariants still hold.
	for i, v := range versions {
		d, idx := answers(t, v.tree, queries, dim)
		if !slices.Equal(d, v.dist) || !slices.Equal(idx, v.idx) {
			t.Fatalf("version %d answers differently after later updates", i)
		}
		if err := v.tree.Check(); err != nil {
			t.Fatalf("version %d after later updates: %v", i, err)
		}
	}
	// The same seed gives the same trees whatever the number of jobs.
	for _, jobs := range []int{1, 3} {
		again := run(jobs, false)
		for i := range trees {
			if a, b := treeShape(trees[i]), treeShape(again[i]); !slices.Equal(a, b) {
				t.Fatalf("version %d differs between 2 and %d jobs", i, jobs)
			}
		}
	}
}

// checkVersion checks tr's invariants and its k-nearest answers against
// brute force over the live points (caller index -> row of rows).
func checkVersion[T Float](t *testing.T, tr *Tree[T], live map[int64]int, rows []T, dim int, queries []T, label string) {
	t.Helper()
	if err := tr.Check(); err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	if tr.Len() != len(live) {
		t.Fatalf("%s: %d points, want %d", label, tr.Len(), len(live))
	}
	const k = 5
	dist, idx := answers(t, tr, queries, dim)
	nq := len(queries) / dim
	for q := range nq {
		pq, err := tr.PreparePoint(queries[q*dim : (q+1)*dim])
		if err != nil {
			t.Fatal(err)
		}
		type cand struct {
			d  float64
			id int64
		}
		var all []cand
		for id, r := range live {
			p, err := tr.PreparePoint(rows[r*dim : (r+1)*dim])
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, cand{tr.Dist(pq, p), id})
		}
		slices.SortFunc(all, func(a, b cand) int {
			if a.d != b.d {
				if a.d < b.d {
					return -1
				}
				return 1
			}
			return int(a.id - b.id)
		})
		for j := range min(k, len(all)) {
			got, want := idx[q*k+j], all[j].id
			if got != want || float64(dist[q*k+j]) != float64(T(tr.MetricDistance(all[j].d))) {
				t.Fatalf("%s: query %d neighbour %d: got %d at %v, want %d at %v", label, q, j, got, dist[q*k+j], want, tr.MetricDistance(all[j].d))
			}
		}
	}
}

// answers returns the 5 nearest neighbours of each query.
func answers[T Float](t *testing.T, tr *Tree[T], queries []T, dim int) ([]T, []int64) {
	t.Helper()
	const k = 5
	nq := len(queries) / dim
	dist := make([]T, nq*k)
	idx := make([]int64, nq*k)
	if tr.Len() < k {
		return dist, idx
	}
	if err := tr.KNearestBatch(Batch[T]{Points: queries, Jobs: 2}, k, dist, idx); err != nil {
		t.Fatal(err)
	}
	return dist, idx
}

// treeShape describes a tree independently of slot numbering: for each
// caller index held, its node's level, its parent's first caller index and
// the distance to it, and its radius.
func treeShape[T Float](tr *Tree[T]) []string {
	var out []string
	for id := range tr.IDs() {
		if !tr.Has(id) {
			continue
		}
		n := tr.node(tr.s.nodeOf(int32(id)))
		parent := int32(-1)
		if n.parent >= 0 {
			parent = tr.node(n.parent).idList()[0]
		}
		out = append(out, fmt.Sprint(id, n.level, parent, n.pdist, n.rad, n.reach))
	}
	return out
}

// toFloat32 converts rows to float32.
func toFloat32(rows []float64) []float32 {
	out := make([]float32, len(rows))
	for i, v := range rows {
		out[i] = float32(v)
	}
	return out
}

// realRows reads a real data set with read and returns n of its rows,
// drawn at random, with some of them repeated (duplicates).
func realRows(rng *rand.Rand, n, dim int, read func() ([]float64, error)) ([]float64, error) {
	all, err := read()
	if err != nil {
		return nil, err
	}
	m := len(all) / dim
	out := make([]float64, 0, n*dim)
	for range n {
		i := rng.IntN(m)
		out = append(out, all[i*dim:(i+1)*dim]...)
	}
	return out, nil
}

// datasetPath returns the path of a file of the shared real data sets:
// $PCCT_DATASETS, or ../shared/datasets from the module root.
func datasetPath(name string) string {
	if dir := os.Getenv("PCCT_DATASETS"); dir != "" {
		return filepath.Join(dir, name)
	}
	// The tests run in core/, one below the module root.
	return filepath.Join("..", "..", "shared", "datasets", name)
}

// readLetter reads the 16 integer features of letter-recognition.data.
func readLetter() ([]float64, error) {
	return readRows(datasetPath("letter-recognition.data"), func(line string) []string {
		f := strings.Split(line, ",")
		if len(f) != 17 {
			return nil
		}
		return f[1:]
	})
}

// readBunny reads the vertices of stanford-bunny.obj.
func readBunny() ([]float64, error) {
	return readRows(datasetPath("stanford-bunny.obj"), func(line string) []string {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "v" {
			return nil
		}
		return f[1:]
	})
}

// readRows reads the numbers that fields picks from each line of a file.
func readRows(path string, fields func(line string) []string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, s := range fields(strings.TrimSpace(sc.Text())) {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			out = append(out, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return out, nil
}
