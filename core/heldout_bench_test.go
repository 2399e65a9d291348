package core

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkHeldOut measures the layout's k-nearest batches (k = 10, one
// goroutine) on bunny (3-D), zipcodes (2-D) and magic (10-D): "heldout"
// answers every tenth row from a tree of the others, "all" every fitted
// point left out of its own answer. It reports the time, the process's CPU time
// and the distance evaluations a query. Data sets that are absent are skipped. Run it with
//
//	go test ./core -run '^$' -bench HeldOut
func BenchmarkHeldOut(b *testing.B) {
	for _, ds := range []struct {
		name string
		dim  int
		read func() ([]float64, error)
	}{{"bunny", 3, readBunny}, {"zipcodes", 2, readZipcodes}, {"magic", 10, readMagic}} {
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
			for _, mode := range []string{"heldout", "all"} {
				batch := Batch[float64]{Points: held}
				nq := len(held) / ds.dim
				if mode == "all" {
					batch = Batch[float64]{First: 0, Count: tr.Len()}
					nq = tr.Len()
				}
				b.Run(mode, func(b *testing.B) {
					dist, idx := make([]float64, nq*k), make([]int64, nq*k)
					if err := tr.KNearestBatch(batch, k, dist, idx); err != nil {
						b.Fatal(err) // and the layout is made
					}
					_, evals0 := tr.DistanceEvals()
					cpu0 := cpuTime()
					for b.Loop() {
						if err := tr.KNearestBatch(batch, k, dist, idx); err != nil {
							b.Fatal(err)
						}
					}
					cpu := cpuTime() - cpu0
					_, evals := tr.DistanceEvals()
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*nq), "cpu-ns/query")
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nq), "ns/query")
					b.ReportMetric(float64(evals-evals0)/float64(b.N*nq), "evals/query")
				})
			}
		})
	}
}

// readMagic reads the ten features of magic04.data.
func readMagic() ([]float64, error) {
	return readRows(datasetPath("magic04.data"), func(line string) []string {
		f := strings.Split(line, ",")
		if len(f) != 11 {
			return nil
		}
		return f[:10]
	})
}

// cpuTime returns the CPU time (user and system) the process has used:
// on a machine shared with other work it varies less than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
