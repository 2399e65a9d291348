package core_test

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// Benchmarks run on synthetic data (a mixture of 16 Gaussian clusters of
// different spreads, in 3, 16 and 128 dimensions) and, when it is present,
// the letter data set (20,000 x 16), read from $PCCT_DATASETS or
// ../shared/datasets from the module root. Run them with
//
//	go test ./core/ -run '^$' -bench . -benchtime 3x
//
// Besides time, they report distance evaluations: per point for builds, per
// query for searches, and queries per second for batches.

// benchSet is one benchmark data set.
type benchSet struct {
	name string
	dim  int
	data []float64
}

// synthetic returns n points in dim dimensions from a mixture of 16
// Gaussian clusters whose spreads differ by up to a factor 32.
func synthetic(n, dim int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 99))
	const clusters = 16
	centres := make([]float64, clusters*dim)
	for i := range centres {
		centres[i] = rng.NormFloat64() * 10
	}
	out := make([]float64, n*dim)
	for i := range n {
		c := rng.IntN(clusters)
		s := 1 / float64(int(1)<<(c%6))
		for j := range dim {
			out[i*dim+j] = centres[c*dim+j] + s*rng.NormFloat64()
		}
	}
	return out
}

// benchSets returns the synthetic sets with the given sizes per dimension,
// and letter when it is present.
func benchSets(b *testing.B, sizes map[int]int) []benchSet {
	var sets []benchSet
	for _, dim := range []int{3, 16, 128} {
		n := sizes[dim]
		sets = append(sets, benchSet{fmt.Sprintf("synthetic/d=%d/n=%d", dim, n), dim, synthetic(n, dim, uint64(dim))})
	}
	if letter, err := loadLetter(); err != nil {
		b.Logf("letter data set skipped: %v (set PCCT_DATASETS to the folder holding letter-recognition.data)", err)
	} else {
		sets = append(sets, benchSet{"letter/n=20000", 16, letter})
	}
	return sets
}

// loadLetter reads the 16 integer features of letter-recognition.data.
func loadLetter() ([]float64, error) {
	dir := os.Getenv("PCCT_DATASETS")
	if dir == "" {
		dir = filepath.Join("..", "shared", "datasets")
	}
	if !filepath.IsAbs(dir) {
		// Relative to the module root, wherever go test runs.
		root, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			if filepath.Dir(root) == root {
				return nil, fmt.Errorf("no go.mod above the working directory")
			}
			root = filepath.Dir(root)
		}
		dir = filepath.Join(root, dir)
	}
	f, err := os.Open(filepath.Join(dir, "letter-recognition.data"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(strings.TrimSpace(sc.Text()), ",")
		if len(fields) != 17 {
			continue
		}
		for _, s := range fields[1:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return out, sc.Err()
}

// BenchmarkBuild measures building a tree and reports the distance
// evaluations spent per point.
func BenchmarkBuild(b *testing.B) {
	for _, set := range benchSets(b, map[int]int{3: 20000, 16: 10000, 128: 3000}) {
		n := len(set.data) / set.dim
		b.Run(set.name, func(b *testing.B) {
			var evals int64
			for b.Loop() {
				tr, err := core.Build(set.data, set.dim, core.Options{Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				evals, _ = tr.DistanceEvals()
			}
			b.ReportMetric(float64(evals)/float64(n), "evals/point")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// BenchmarkBuildSmall measures fitting small sets on one thread, as a
// notebook does: BuildIndex with Auto (its choice included) and Build, on
// 100, 1,000 and 5,000 standard Gaussian points in 2, 3 and 16
// dimensions. Fixed costs show here that the large sets hide: before the
// batch construction sized its first set chunk by the data, 100 x 16
// took 0.67 to 1.3 ms to build (now 0.34 to 0.38), most of it clearing
// 1.5 MB.
func BenchmarkBuildSmall(b *testing.B) {
	for _, dim := range []int{2, 3, 16} {
		for _, n := range []int{100, 1000, 5000} {
			rng := rand.New(rand.NewPCG(uint64(n), uint64(dim)))
			data := make([]float64, n*dim)
			for i := range data {
				data[i] = rng.NormFloat64()
			}
			for _, algo := range []core.Algorithm{core.Auto, core.CoverTree} {
				b.Run(fmt.Sprintf("%dx%d/%v", n, dim, algo), func(b *testing.B) {
					var c core.Choice
					for b.Loop() {
						var err error
						if _, _, c, err = core.BuildIndex(data, dim, algo, core.Options{Seed: 1, Jobs: 1}); err != nil {
							b.Fatal(err)
						}
					}
					if c.Algorithm == core.Brute {
						b.ReportMetric(1, "brute")
					}
				})
			}
		}
	}
}

// BenchmarkUpdateSmall measures small updates, as a stream of them makes
// them: inserting 1, 10 and 100 new points into a tree, and deleting as
// many of its points, on one thread, over trees of 1,000 and 300,000
// points of the synthetic clusters in 2 dimensions and 1,000 and 20,000 in
// 16. Each call's fixed costs show here: an insertion of one point had
// cleared a 0.5 MB arena and, for its conflicts, an array over every node
// of the tree (1,000 x 2: 97-378 µs, now 43-47; 300,000 x 2: 563-611,
// now 109-152).
func BenchmarkUpdateSmall(b *testing.B) {
	for _, c := range []struct{ n, dim int }{{1000, 2}, {300000, 2}, {1000, 16}, {20000, 16}} {
		data := synthetic(c.n+100, c.dim, 3)
		tr, err := core.Build(data[:c.n*c.dim], c.dim, core.Options{Seed: 1, Jobs: 1})
		if err != nil {
			b.Fatal(err)
		}
		perm := rand.New(rand.NewPCG(3, 4)).Perm(c.n)
		for _, m := range []int{1, 10, 100} {
			b.Run(fmt.Sprintf("%dx%d/insert=%d", c.n, c.dim, m), func(b *testing.B) {
				for b.Loop() {
					if _, _, err := tr.Insert(data[c.n*c.dim:(c.n+m)*c.dim], core.UpdateOptions{Jobs: 1}); err != nil {
						b.Fatal(err)
					}
				}
			})
			ids := make([]int64, m)
			for i, p := range perm[:m] {
				ids[i] = int64(p)
			}
			b.Run(fmt.Sprintf("%dx%d/delete=%d", c.n, c.dim, m), func(b *testing.B) {
				for b.Loop() {
					if _, err := tr.Delete(ids, core.UpdateOptions{Jobs: 1}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkKNearestBatch measures k = 10 nearest-neighbour batches on all
// cores, with each search strategy: 2,000 new queries drawn like the data
// on the synthetic sets, and every point against the others (self-queries,
// as in the design notes' table of peers) on letter. It reports distance
// evaluations per query and queries per second.
func BenchmarkKNearestBatch(b *testing.B) {
	const k = 10
	for _, set := range benchSets(b, map[int]int{3: 50000, 16: 20000, 128: 5000}) {
		tr, err := core.Build(set.data, set.dim, core.Options{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		batch := core.Batch[float64]{First: 0, Count: tr.Len()}
		if strings.HasPrefix(set.name, "synthetic") {
			batch = core.Batch[float64]{Points: synthetic(2000, set.dim, 1000+uint64(set.dim))}
		}
		batch.Jobs = runtime.GOMAXPROCS(0)
		nq := batch.Count
		if batch.Points != nil {
			nq = len(batch.Points) / set.dim
		}
		dist := make([]float64, nq*k)
		idx := make([]int64, nq*k)
		for _, st := range []core.Strategy{core.Corrected, core.DepthFirst} {
			b.Run(fmt.Sprintf("%s/%v", set.name, st), func(b *testing.B) {
				batch.Strategy = st
				_, before := tr.DistanceEvals()
				for b.Loop() {
					if err := tr.KNearestBatch(batch, k, dist, idx); err != nil {
						b.Fatal(err)
					}
				}
				_, after := tr.DistanceEvals()
				queries := float64(nq) * float64(b.N)
				b.ReportMetric(float64(after-before)/queries, "evals/query")
				b.ReportMetric(queries/b.Elapsed().Seconds(), "queries/s")
			})
		}
	}
}

// Large builds and updates (issue "parallel batch updates"). They are slow
// (up to a million points), so they run only when named:
//
//	go test ./core/ -run '^$' -bench 'BuildLarge|Update' -benchtime 1x -timeout 2h
//
// PCCT_BENCH_JOBS lists the thread counts (default "1,2"); each count sets
// GOMAXPROCS and the build's Jobs. Fashion-MNIST is read from
// $PCCT_FASHION_MNIST or the Debian package's folder
// (/usr/share/datasets/fashion-mnist, package dataset-fashion-mnist).

// largeSets returns the large benchmark sets: synthetic clusters with a
// million points in 3 dimensions and 100,000 and 300,000 in 16 (a million
// in 16 dimensions takes over half an hour a build on one thread), and
// Fashion-MNIST's 60,000 training images (784 dimensions) when present.
func largeSets(b *testing.B) []benchSet {
	sets := []benchSet{
		{"synthetic/d=3/n=1000000", 3, synthetic(1000000, 3, 3)},
		{"synthetic/d=16/n=100000", 16, synthetic(100000, 16, 16)},
		{"synthetic/d=16/n=300000", 16, synthetic(300000, 16, 16)},
	}
	if fm, err := loadFashionMNIST(); err != nil {
		b.Logf("Fashion-MNIST skipped: %v (install dataset-fashion-mnist or set PCCT_FASHION_MNIST)", err)
	} else {
		sets = append(sets, benchSet{"fashion-mnist/n=60000", 784, fm})
	}
	return sets
}

// benchJobs returns the thread counts of PCCT_BENCH_JOBS.
func benchJobs(b *testing.B) []int {
	spec := os.Getenv("PCCT_BENCH_JOBS")
	if spec == "" {
		spec = "1,2"
	}
	var jobs []int
	for _, f := range strings.Split(spec, ",") {
		j, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || j < 1 {
			b.Fatalf("PCCT_BENCH_JOBS=%q: want a comma-separated list of positive integers", spec)
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// loadFashionMNIST reads the 60,000 training images as float64 pixels.
func loadFashionMNIST() ([]float64, error) {
	dir := os.Getenv("PCCT_FASHION_MNIST")
	if dir == "" {
		dir = "/usr/share/datasets/fashion-mnist"
	}
	f, err := os.Open(filepath.Join(dir, "train-images-idx3-ubyte.gz"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var hdr [16]byte
	if _, err := io.ReadFull(z, hdr[:]); err != nil {
		return nil, err
	}
	if binary.BigEndian.Uint32(hdr[:4]) != 0x803 {
		return nil, fmt.Errorf("%s: not an IDX file of unsigned bytes in 3 dimensions", f.Name())
	}
	n := int(binary.BigEndian.Uint32(hdr[4:]))
	rows, cols := int(binary.BigEndian.Uint32(hdr[8:])), int(binary.BigEndian.Uint32(hdr[12:]))
	px := make([]byte, n*rows*cols)
	if _, err := io.ReadFull(z, px); err != nil {
		return nil, err
	}
	out := make([]float64, len(px))
	for i, v := range px {
		out[i] = float64(v)
	}
	return out, nil
}

// BenchmarkBuildLarge builds each large set with each thread count of
// PCCT_BENCH_JOBS and reports seconds per build and evaluations per point.
func BenchmarkBuildLarge(b *testing.B) {
	for _, set := range largeSets(b) {
		n := len(set.data) / set.dim
		for _, jobs := range benchJobs(b) {
			b.Run(fmt.Sprintf("%s/jobs=%d", set.name, jobs), func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(jobs))
				var evals int64
				for b.Loop() {
					tr, err := core.Build(set.data, set.dim, core.Options{Seed: 1, Jobs: jobs})
					if err != nil {
						b.Fatal(err)
					}
					evals, _ = tr.DistanceEvals()
				}
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/build")
				b.ReportMetric(float64(evals)/float64(n), "evals/point")
			})
		}
	}
}

// BenchmarkUpdate measures, on each large set and thread count, inserting
// the last 10% of the points into a tree of the first 90%, and deleting a
// random 10% from the full tree; compare with BenchmarkBuildLarge's full
// rebuild. It reports the distance evaluations of an update per point
// inserted or deleted (BenchmarkBuildLarge reports the build's per point).
func BenchmarkUpdate(b *testing.B) {
	for _, set := range largeSets(b) {
		// The trees are built inside the set's own benchmark, so a -bench
		// pattern that leaves the set out costs nothing.
		b.Run(set.name, func(b *testing.B) {
			n := len(set.data) / set.dim
			cut := n - n/10
			base, err := core.Build(set.data[:cut*set.dim], set.dim, core.Options{Seed: 1, Jobs: runtime.GOMAXPROCS(0)})
			if err != nil {
				b.Fatal(err)
			}
			full, err := core.Build(set.data, set.dim, core.Options{Seed: 1, Jobs: runtime.GOMAXPROCS(0)})
			if err != nil {
				b.Fatal(err)
			}
			ids := full.LiveIDs(nil)
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			gone := ids[:n/10]
			for _, jobs := range benchJobs(b) {
				b.Run(fmt.Sprintf("insert10%%/jobs=%d", jobs), func(b *testing.B) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(jobs))
					var evals int64
					for b.Loop() {
						nt, _, err := base.Insert(set.data[cut*set.dim:], core.UpdateOptions{Jobs: jobs})
						if err != nil {
							b.Fatal(err)
						}
						evals = updateEvals(base, nt)
					}
					b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/update")
					b.ReportMetric(float64(evals)/float64(n-cut), "evals/point")
				})
				b.Run(fmt.Sprintf("delete10%%/jobs=%d", jobs), func(b *testing.B) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(jobs))
					var evals int64
					for b.Loop() {
						nt, err := full.Delete(gone, core.UpdateOptions{Jobs: jobs})
						if err != nil {
							b.Fatal(err)
						}
						evals = updateEvals(full, nt)
					}
					b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/update")
					b.ReportMetric(float64(evals)/float64(len(gone)), "evals/point")
				})
			}
		})
	}
}

// updateEvals returns the distance evaluations spent making version nt
// from old.
func updateEvals(old, nt *core.Tree[float64]) int64 {
	a, _ := old.DistanceEvals()
	b, _ := nt.DistanceEvals()
	return b - a
}
