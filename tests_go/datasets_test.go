package coretest

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// datasetsDir returns the folder of real data sets: $PCCT_DATASETS, or
// ../shared/datasets; a relative path is taken from the module root (the
// folder holding go.mod), wherever go test runs the package.
func datasetsDir(t testing.TB) string {
	dir := os.Getenv("PCCT_DATASETS")
	if dir == "" {
		dir = filepath.Join("..", "shared", "datasets")
	}
	if filepath.IsAbs(dir) {
		return dir
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for root := wd; ; root = filepath.Dir(root) {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return filepath.Join(root, dir)
		}
		if filepath.Dir(root) == root {
			return filepath.Join(wd, dir)
		}
	}
}

// dataset is a real data set: its name, file names and a parser that
// returns its rows of numbers.
type dataset struct {
	name  string
	files []string
	dim   int
	parse func(r io.Reader, first bool) ([]float64, error)
}

var datasets = []dataset{
	{"letter", []string{"letter-recognition.data"}, 16, csvColumns(false, 1, 17)},
	{"pendigits", []string{"pendigits.tra", "pendigits.tes"}, 16, csvColumns(true, 0, 16)},
	{"magic", []string{"magic04.data"}, 10, csvColumns(false, 0, 10)},
	{"bunny", []string{"stanford-bunny.obj"}, 3, parseOBJ},
	{"zipcodes", []string{"zipcodes.csv"}, 2, csvColumns(true, 1, 3)},
}

// csvColumns parses the columns [lo, hi) of a CSV file as numbers,
// skipping one header line if header is set.
func csvColumns(header bool, lo, hi int) func(io.Reader, bool) ([]float64, error) {
	return func(r io.Reader, _ bool) ([]float64, error) {
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		var out []float64
		for line := 1; ; line++ {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			if header && line == 1 {
				continue
			}
			if len(rec) < hi {
				return nil, fmt.Errorf("line %d has %d fields, want at least %d", line, len(rec), hi)
			}
			for _, f := range rec[lo:hi] {
				v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
				if err != nil {
					return nil, fmt.Errorf("line %d: %v", line, err)
				}
				out = append(out, v)
			}
		}
	}
}

// parseOBJ reads the vertices (lines "v x y z") of a Wavefront OBJ file.
func parseOBJ(r io.Reader, _ bool) ([]float64, error) {
	var out []float64
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[0] != "v" {
			continue
		}
		for _, s := range f[1:4] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", line, err)
			}
			out = append(out, v)
		}
	}
	return out, sc.Err()
}

// load reads a data set, or skips the test if a file is absent.
func (ds dataset) load(t testing.TB) []float64 {
	t.Helper()
	dir := datasetsDir(t)
	var data []float64
	for i, name := range ds.files {
		path := filepath.Join(dir, name)
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			t.Skipf("data set %s: %s not found (set PCCT_DATASETS to the folder holding it); skipping", ds.name, path)
		}
		if err != nil {
			t.Fatal(err)
		}
		rows, err := ds.parse(f, i == 0)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		data = append(data, rows...)
	}
	if len(data) == 0 || len(data)%ds.dim != 0 {
		t.Fatalf("data set %s: %d values do not make rows of %d", ds.name, len(data), ds.dim)
	}
	return data
}

// TestRealDatasets builds float64 Euclidean trees over up to 20,000 rows of
// each real data set (letter, pendigits and magic whole; a random sample of
// bunny and zipcodes), checks them, and compares a few hundred queries and
// self-queries with brute force; then does the same for float32 (Euclidean)
// and float64 (Manhattan) trees over a random sample of 6,000 rows. The
// sizes keep the O(n^2) Check to a few seconds. Under -short every tree
// uses at most 4,000 rows.
func TestRealDatasets(t *testing.T) {
	t.Parallel()
	wantRows := map[string]int{"letter": 20000, "pendigits": 10992, "magic": 19020, "bunny": 35947, "zipcodes": 42049}
	for di, ds := range datasets {
		t.Run(ds.name, func(t *testing.T) {
			t.Parallel()
			data := ds.load(t)
			if n := len(data) / ds.dim; n != wantRows[ds.name] {
				t.Fatalf("%s: parsed %d rows, want %d", ds.name, n, wantRows[ds.name])
			}
			if testing.Short() {
				data = data[:4000*ds.dim]
			}
			rng := rand.New(rand.NewPCG(seedFor(di), 31))
			plan := queryPlan{external: 100, hits: 100, self: 100, ks: []int{1, 5, 10, 50}, full: 1}
			big := sampleRows(rng, data, ds.dim, 20000)
			t.Run(fmt.Sprintf("float64/euclidean/n=%d", len(big)/ds.dim), func(t *testing.T) {
				n := len(big) / ds.dim
				tr := build(t, big, ds.dim, core.Metric{}, 1)
				if want := distinctRows(big, ds.dim); tr.Nodes() != want {
					t.Fatalf("Nodes() = %d, want %d distinct rows", tr.Nodes(), want)
				}
				build, _ := tr.DistanceEvals()
				t.Logf("%s: %d points, %d distinct, %d distance evaluations to build (%.1f per point)", ds.name, n, tr.Nodes(), build, float64(build)/float64(n))
				verify(t, tr, big, ds.dim, core.Metric{}, plan, rng, between(rng, big, ds.dim))
			})
			sample := sampleRows(rng, data, ds.dim, 6000)
			t.Run(fmt.Sprintf("float32/euclidean/n=%d", len(sample)/ds.dim), func(t *testing.T) {
				d32 := convert[float32](sample)
				gen := between(rng, sample, ds.dim)
				tr := build(t, d32, ds.dim, core.Metric{}, 2)
				verify(t, tr, d32, ds.dim, core.Metric{}, plan, rng, func() []float32 { return convert[float32](gen()) })
			})
			t.Run(fmt.Sprintf("float64/manhattan/n=%d", len(sample)/ds.dim), func(t *testing.T) {
				m := core.Metric{Kind: core.Manhattan}
				tr := build(t, sample, ds.dim, m, 3)
				verify(t, tr, sample, ds.dim, m, plan, rng, between(rng, sample, ds.dim))
			})
		})
	}
}

// between returns a generator of queries on the segment between two random
// rows: near the data, but mostly not on it.
func between(rng *rand.Rand, data []float64, dim int) func() []float64 {
	n := len(data) / dim
	return func() []float64 {
		a, b := row(data, dim, rng.IntN(n)), row(data, dim, rng.IntN(n))
		u := rng.Float64()
		q := make([]float64, dim)
		for i := range q {
			q[i] = a[i] + u*(b[i]-a[i])
		}
		return q
	}
}

// sampleRows returns up to m rows of data chosen at random without
// replacement (duplicate rows of the data may still be chosen together).
func sampleRows(rng *rand.Rand, data []float64, dim, m int) []float64 {
	n := len(data) / dim
	if n <= m {
		return data
	}
	out := make([]float64, 0, m*dim)
	for _, i := range rng.Perm(n)[:m] {
		out = append(out, row(data, dim, i)...)
	}
	return out
}
