package core

import (
	"math"
	"strings"
	"testing"
)

// BenchmarkFlatTreeFloor measures how far the layout's k-nearest search
// (k = 10, one goroutine) is from its floor on the held-out rows (every
// tenth) of bunny and zipcodes: "search" answers them as a batch does
// (Z-order, the guessed bound, the layout's k-d split); "oracle" searches
// the split with the answer's k-th distance as its bound from the start,
// which visits only what any order must (the rest is the cost per node).
// Data sets that are absent are skipped. Run it with
//
//	go test ./core -run '^$' -bench FlatTreeFloor
func BenchmarkFlatTreeFloor(b *testing.B) {
	for _, ds := range []struct {
		name string
		dim  int
		read func() ([]float64, error)
	}{{"bunny", 3, readBunny}, {"zipcodes", 2, readZipcodes}} {
		b.Run(ds.name, func(b *testing.B) {
			data, err := ds.read()
			if err != nil {
				b.Skipf("data set %s: %v", ds.name, err)
			}
			var fit, held []float64
			for i := range len(data) / ds.dim {
				row := data[i*ds.dim : (i+1)*ds.dim]
				if i%10 == 3 {
					held = append(held, row...)
				} else {
					fit = append(fit, row...)
				}
			}
			tr, err := Build(fit, ds.dim, Options{Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			const k = 10
			nq := len(held) / ds.dim
			dist, idx := make([]float64, nq*k), make([]int64, nq*k)
			batch := Batch[float64]{Points: held}
			if err := tr.KNearestBatch(batch, k, dist, idx); err != nil {
				b.Fatal(err)
			}
			f := tr.layout(nq, 2)
			report := func(b *testing.B, evals0 int64) {
				_, evals := tr.DistanceEvals()
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nq), "ns/query")
				b.ReportMetric(float64(evals-evals0)/float64(b.N*nq), "evals/query")
			}
			b.Run("search", func(b *testing.B) {
				_, evals0 := tr.DistanceEvals()
				for b.Loop() {
					if err := tr.KNearestBatch(batch, k, dist, idx); err != nil {
						b.Fatal(err)
					}
				}
				report(b, evals0)
			})
			b.Run("oracle", func(b *testing.B) {
				s := &scratch{exclude: -1}
				inf := math.Inf(1)
				for b.Loop() {
					for i := range nq {
						q := held[i*ds.dim : (i+1)*ds.dim]
						s.heap.reset(k)
						bd := bound{worst: inf, ub: inf, shrink: 1, sq: inf, usq: inf}
						bd.set(dist[i*k+k-1])
						f.kdSearch(s, q, &bd)
						if s.heap.worst() != dist[i*k+k-1] {
							b.Fatalf("query %d: the oracle's k-th distance %v, the batch's %v", i, s.heap.worst(), dist[i*k+k-1])
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nq), "ns/query")
				b.ReportMetric(float64(s.evals)/float64(b.N*nq), "evals/query")
			})
		})
	}
}

// readZipcodes reads the latitudes and longitudes of zipcodes.csv.
func readZipcodes() ([]float64, error) {
	header := true
	return readRows(datasetPath("zipcodes.csv"), func(line string) []string {
		f := strings.Split(line, ",")
		if header || len(f) < 3 {
			header = false
			return nil
		}
		return f[1:3]
	})
}
