package coretest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// BenchmarkBuildReal builds a tree of each whole real data set in float64
// with each thread count of PCCT_BENCH_JOBS (default "1,2"; each sets
// GOMAXPROCS and the build's Jobs), and reports the distance evaluations a
// point, the CPU time a point and the bytes the tree refers to a point
// (Tree.Memory). Data sets that are absent are skipped.
// Run it with
//
//	go test ./tests_go -run '^$' -bench BuildReal -benchtime 5x
func BenchmarkBuildReal(b *testing.B) {
	for _, ds := range datasets {
		b.Run(ds.name, func(b *testing.B) {
			data := ds.load(b)
			n := len(data) / ds.dim
			for _, jobs := range realBenchJobs(b) {
				b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(jobs))
					var tr *core.Tree[float64]
					cpu0 := cpuTime()
					for b.Loop() {
						var err error
						if tr, err = core.Build(data, ds.dim, core.Options{Seed: 1, Jobs: jobs}); err != nil {
							b.Fatal(err)
						}
					}
					cpu := cpuTime() - cpu0
					// The last tree's counts, read outside the timed loop
					// (Memory walks every node).
					evals, _ := tr.DistanceEvals()
					b.ReportMetric(float64(evals)/float64(n), "evals/pt")
					b.ReportMetric(float64(tr.Memory().Total())/float64(n), "tree-B/pt")
					b.ReportMetric(float64(cpu)/float64(n)/float64(b.N), "cpu-ns/pt")
				})
			}
		})
	}
}

// BenchmarkUpdateReal measures, on each whole real data set in float64 with
// each thread count of PCCT_BENCH_JOBS (as BenchmarkBuildReal), inserting
// a random 10% of the rows into the tree of the other 90% ("insert"),
// inserting the last 10% of the rows in the file's order into the tree of
// the first 90% ("insertlast": points that crowd a region the tree holds
// few of, where a file is sorted by place), and deleting a random 10% from
// the tree of all rows, and reports the distance evaluations a point
// inserted or deleted and the CPU time a point; compare with
// BenchmarkBuildReal's whole build. Run it with
//
//	go test ./tests_go -run '^$' -bench UpdateReal -benchtime 5x
func BenchmarkUpdateReal(b *testing.B) {
	for _, ds := range datasets {
		b.Run(ds.name, func(b *testing.B) {
			data := ds.load(b)
			n := len(data) / ds.dim
			base, extra := holdOut(data, ds.dim, 0.1, 11)
			m := len(extra) / ds.dim
			for _, jobs := range realBenchJobs(b) {
				opts := core.Options{Seed: 1, Jobs: jobs}
				up := core.UpdateOptions{Jobs: jobs}
				insert := func(base, extra []float64) func(b *testing.B) {
					return func(b *testing.B) {
						defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(jobs))
						tr, err := core.Build(base, ds.dim, opts)
						if err != nil {
							b.Fatal(err)
						}
						built, _ := tr.DistanceEvals()
						var evals int64
						cpu0 := cpuTime()
						for b.Loop() {
							nt, _, err := tr.Insert(extra, up)
							if err != nil {
								b.Fatal(err)
							}
							evals, _ = nt.DistanceEvals()
						}
						b.ReportMetric(float64(evals-built)/float64(m), "evals/pt")
						b.ReportMetric(float64(cpuTime()-cpu0)/float64(m)/float64(b.N), "cpu-ns/pt")
					}
				}
				b.Run(fmt.Sprintf("insert/jobs=%d", jobs), insert(base, extra))
				b.Run(fmt.Sprintf("insertlast/jobs=%d", jobs), insert(data[:(n-m)*ds.dim], data[(n-m)*ds.dim:]))
				b.Run(fmt.Sprintf("delete/jobs=%d", jobs), func(b *testing.B) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(jobs))
					tr, err := core.Build(data, ds.dim, opts)
					if err != nil {
						b.Fatal(err)
					}
					built, _ := tr.DistanceEvals()
					ids := make([]int64, 0, m)
					for _, i := range rand.New(rand.NewPCG(11, 2)).Perm(n)[:m] {
						ids = append(ids, int64(i))
					}
					var evals int64
					cpu0 := cpuTime()
					for b.Loop() {
						nt, err := tr.Delete(ids, up)
						if err != nil {
							b.Fatal(err)
						}
						evals, _ = nt.DistanceEvals()
					}
					b.ReportMetric(float64(evals-built)/float64(m), "evals/pt")
					b.ReportMetric(float64(cpuTime()-cpu0)/float64(m)/float64(b.N), "cpu-ns/pt")
				})
			}
		})
	}
}

// realBenchJobs returns the thread counts of PCCT_BENCH_JOBS (default
// "1,2").
func realBenchJobs(b *testing.B) []int {
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
