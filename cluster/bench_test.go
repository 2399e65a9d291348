package cluster

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// Benchmarks on the real data sets read them from $PCCT_DATASETS or
// ../shared/datasets from the module root, and skip those absent. Run
// them with
//
//	go test ./cluster -run '^$' -bench . -benchtime 3x

// realSet names a real data set: its files, the columns [lo, hi) of its
// comma-separated rows (after skip header lines), or OBJ vertices.
type realSet struct {
	name   string
	files  []string
	skip   int
	lo, hi int // columns; hi == 0: OBJ vertices
}

var realSets = []realSet{
	{"letter", []string{"letter-recognition.data"}, 0, 1, 17},
	{"magic", []string{"magic04.data"}, 0, 0, 10},
	{"bunny", []string{"stanford-bunny.obj"}, 0, 0, 0},
	{"zipcodes", []string{"zipcodes.csv"}, 1, 1, 3},
}

func datasetsDir() string {
	dir := os.Getenv("PCCT_DATASETS")
	if dir == "" {
		dir = filepath.Join("..", "shared", "datasets")
	}
	if filepath.IsAbs(dir) {
		return dir
	}
	wd, _ := os.Getwd()
	for root := wd; filepath.Dir(root) != root; root = filepath.Dir(root) {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return filepath.Join(root, dir)
		}
	}
	return dir
}

// load returns the set's rows and dimension.
func (s realSet) load(tb testing.TB) ([]float64, int) {
	tb.Helper()
	dim := s.hi - s.lo
	if s.hi == 0 {
		dim = 3
	}
	var out []float64
	for _, name := range s.files {
		path := filepath.Join(datasetsDir(), name)
		f, err := os.Open(path)
		if err != nil {
			tb.Skipf("data set %s skipped: %v (set PCCT_DATASETS)", s.name, err)
		}
		sc := bufio.NewScanner(f)
		for line := 0; sc.Scan(); line++ {
			text := strings.TrimSpace(sc.Text())
			var fields []string
			if s.hi == 0 {
				fs := strings.Fields(text)
				if len(fs) < 4 || fs[0] != "v" {
					continue
				}
				fields = fs[1:4]
			} else {
				if line < s.skip || text == "" {
					continue
				}
				fs := strings.Split(text, ",")
				if len(fs) < s.hi {
					continue
				}
				fields = fs[s.lo:s.hi]
			}
			for _, v := range fields {
				x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					tb.Fatalf("%s line %d: %v", path, line+1, err)
				}
				out = append(out, x)
			}
		}
		f.Close()
	}
	return out, dim
}

// clustered returns n points in dim dimensions from 20 Gaussian clusters
// of random widths and sizes, with 5% uniform background noise: the
// 200,000-point clustered set of the benchmarks.
func clustered(n, dim int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	const k = 20
	centers := make([]float64, k*dim)
	for i := range centers {
		centers[i] = 100 * r.Float64()
	}
	width := make([]float64, k)
	for i := range width {
		width[i] = 0.5 + 2*r.Float64()
	}
	x := make([]float64, n*dim)
	for i := range n {
		c := r.IntN(k)
		noise := r.IntN(20) == 0
		for j := range dim {
			if noise {
				x[i*dim+j] = 100 * r.Float64()
			} else {
				x[i*dim+j] = centers[c*dim+j] + width[c]*r.NormFloat64()
			}
		}
	}
	return x
}

type benchData struct {
	name string
	load func(b *testing.B) ([]float64, int)
}

// benchSets lists the real data sets and the clustered set; each is read
// or generated only when a benchmark runs on it.
func benchSets() []benchData {
	var out []benchData
	for _, s := range realSets {
		out = append(out, benchData{s.name, func(b *testing.B) ([]float64, int) { return s.load(b) }})
	}
	out = append(out, benchData{"clustered200k", func(*testing.B) ([]float64, int) { return clustered(200_000, 3, 1), 3 }})
	return out
}

// benchTree builds a Euclidean tree over a benchmark set.
func benchTree(b *testing.B, d benchData) *core.Tree[float64] {
	x, dim := d.load(b)
	tree, err := core.Build(x, dim, core.Options{Jobs: 2})
	if err != nil {
		b.Fatal(err)
	}
	return tree
}

// BenchmarkMinimumSpanningTree measures the spanning tree on a built tree.
func BenchmarkMinimumSpanningTree(b *testing.B) {
	for _, d := range benchSets() {
		b.Run(d.name, func(b *testing.B) {
			tree := benchTree(b, d)
			b.ResetTimer()
			for b.Loop() {
				if _, err := MinimumSpanningTree(tree, Options{Jobs: 2}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// dbscanParams are the DBSCAN settings of the benchmarks: eps and
// min_samples per set.
var dbscanParams = map[string]struct {
	eps float64
	ms  int
}{
	"letter": {3, 5}, "magic": {16, 8}, "bunny": {0.004, 10}, "zipcodes": {0.1, 6}, "clustered200k": {0.5, 10},
}

// BenchmarkDBSCAN measures DBSCAN on a built tree.
func BenchmarkDBSCAN(b *testing.B) {
	for _, d := range benchSets() {
		b.Run(d.name, func(b *testing.B) {
			tree := benchTree(b, d)
			p := dbscanParams[d.name]
			b.ResetTimer()
			for b.Loop() {
				if _, err := DBSCAN(tree, p.eps, p.ms, nil, Options{Jobs: 2}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHDBSCAN measures HDBSCAN (min_cluster_size 5) on a built tree.
func BenchmarkHDBSCAN(b *testing.B) {
	for _, d := range benchSets() {
		b.Run(d.name, func(b *testing.B) {
			tree := benchTree(b, d)
			b.ResetTimer()
			for b.Loop() {
				if _, err := HDBSCAN(tree, HDBSCANOptions{MinClusterSize: 5, Options: Options{Jobs: 2}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDBSCANPoints measures DBSCAN from the points at one and two
// threads (the k-d tree on letter and magic, the grid on the others).
func BenchmarkDBSCANPoints(b *testing.B) {
	for _, d := range benchSets() {
		for _, jobs := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/jobs%d", d.name, jobs), func(b *testing.B) {
				x, dim := d.load(b)
				p := dbscanParams[d.name]
				b.ResetTimer()
				for b.Loop() {
					if _, err := DBSCANPoints(x, dim, core.Metric{}, p.eps, p.ms, nil, Options{Jobs: jobs}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkMinimumSpanningTreePoints measures the spanning tree from the
// points at one and two threads: on a k-d tree in one to three
// dimensions, else a cover tree's build and the spanning tree on it.
func BenchmarkMinimumSpanningTreePoints(b *testing.B) {
	for _, d := range benchSets() {
		for _, jobs := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/jobs%d", d.name, jobs), func(b *testing.B) {
				x, dim := d.load(b)
				b.ResetTimer()
				for b.Loop() {
					if _, err := MinimumSpanningTreePoints(x, dim, core.Metric{}, Options{Jobs: jobs}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkMinimumSpanningTreeBuilt measures a cover tree's build and the
// spanning tree on it at one and two threads (the route
// MinimumSpanningTreePoints takes above three dimensions).
func BenchmarkMinimumSpanningTreeBuilt(b *testing.B) {
	for _, d := range benchSets() {
		for _, jobs := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/jobs%d", d.name, jobs), func(b *testing.B) {
				x, dim := d.load(b)
				b.ResetTimer()
				for b.Loop() {
					tree, err := core.Build(x, dim, core.Options{Jobs: jobs})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := MinimumSpanningTree(tree, Options{Jobs: jobs}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
