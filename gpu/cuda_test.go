//go:build cuda

package gpu

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pcct-dev/pcct/core"
)

// The tests below run the kernels on a real GPU and compare every answer
// with core's brute force on the CPU (Flat with every row a candidate),
// which a tree's searches equal bit for bit. Without a usable GPU they
// skip, saying why. PCCT_GPU_TEST_SCALE (default 1) multiplies the sizes:
// `make gpu-check` runs them at full size on the GPU machine.

var (
	devOnce sync.Once
	testDev *Device
	openErr error
)

func gpuOrSkip(t testing.TB) *Device {
	t.Helper()
	devOnce.Do(func() { testDev, openErr = Open(0) })
	if openErr != nil {
		t.Skipf("no usable GPU: %v", openErr)
	}
	return testDev
}

func scale() float64 {
	if s, err := strconv.ParseFloat(os.Getenv("PCCT_GPU_TEST_SCALE"), 64); err == nil && s > 0 {
		return s
	}
	return 1
}

// cpuKNN is the reference: exact brute force on the CPU.
func cpuKNN[T core.Float](t *testing.T, f *core.Flat[T], q core.Query[T], k int) ([]T, []int64) {
	nq := len(q.Points) / f.Dim()
	q.Jobs = runtime.NumCPU()
	dist, idx := make([]T, nq*k), make([]int64, nq*k)
	if err := f.KNearestAmong(q, k, f.AllRows(nq), dist, idx); err != nil {
		t.Fatal(err)
	}
	return dist, idx
}

func compareKNN[T core.Float](t *testing.T, label string, dev *Device, f *core.Flat[T], q core.Query[T], ks []int, budget int64) {
	t.Helper()
	ix, err := NewIndex(dev, f)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	defer ix.Close()
	ix.memBudget = budget
	for _, k := range ks {
		avail := f.Len()
		if q.Exclude != nil {
			avail--
		}
		if k > avail {
			continue
		}
		want, wantIdx := cpuKNN(t, f, q, k)
		got, gotIdx := make([]T, len(want)), make([]int64, len(want))
		start := time.Now()
		if err := ix.KNearest(q, k, got, gotIdx); err != nil {
			t.Fatalf("%s k=%d: %v", label, k, err)
		}
		el := time.Since(start)
		if !slices.Equal(gotIdx, wantIdx) || !slices.Equal(got, want) {
			for i := range gotIdx {
				if gotIdx[i] != wantIdx[i] || got[i] != want[i] {
					t.Fatalf("%s k=%d: first difference at query %d rank %d: GPU (%d, %v), CPU (%d, %v)",
						label, k, i/k, i%k, gotIdx[i], got[i], wantIdx[i], want[i])
				}
			}
		}
		t.Logf("%s k=%d: %d queries equal to the CPU's in %v", label, k, len(q.Points)/f.Dim(), el)
	}
}

func compareRadius[T core.Float](t *testing.T, label string, dev *Device, f *core.Flat[T], q core.Query[T], r float64) {
	t.Helper()
	ix, err := NewIndex(dev, f)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	defer ix.Close()
	nq := len(q.Points) / f.Dim()
	q.Jobs = runtime.NumCPU()
	want, err := f.WithinAmong(q, r, true, f.AllRows(nq))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.Within(q, r, true)
	if err != nil {
		t.Fatalf("%s r=%v: %v", label, r, err)
	}
	if !sameRadius(got, want) {
		t.Fatalf("%s r=%v: GPU radius answer differs from the CPU's (%d answers, want %d)", label, r, got.Total(), want.Total())
	}
	t.Logf("%s r=%v: %d answers equal to the CPU's", label, r, got.Total())
}

func gpuData[T core.Float](kind string, n, dim int, rng *rand.Rand) []T {
	return dataset[T](kind, n, dim, rng)
}

func TestGPUKNearest(t *testing.T) {
	dev := gpuOrSkip(t)
	t.Logf("device: %s", dev.Info())
	s := scale()
	rng := rand.New(rand.NewPCG(1, 2))
	type shape struct{ n, dim, nq int }
	shapes := []shape{{int(20000 * s), 2, 300}, {int(20000 * s), 3, 300}, {int(50000 * s), 16, 200}, {int(20000 * s), 128, 100}, {int(6000 * s), 784, 50}}
	for _, sh := range shapes {
		for _, kind := range []string{"random", "ties", "sphere", "offset"} {
			metrics := []core.Metric{{Kind: core.Euclidean}}
			if kind == "random" {
				metrics = append(metrics, core.Metric{Kind: core.Manhattan}, core.Metric{Kind: core.Chebyshev}, core.Metric{Kind: core.Cosine})
			}
			for _, m := range metrics {
				for _, f32 := range []bool{true, false} {
					label := fmt.Sprintf("%s %v n=%d dim=%d f32=%v", kind, m, sh.n, sh.dim, f32)
					ks := []int{1, 10, 100}
					if sh.dim <= 16 && kind == "random" {
						ks = append(ks, 1000, 4096)
					}
					if f32 {
						runKNN[float32](t, label, dev, kind, m, sh.n, sh.dim, sh.nq, ks, rng)
					} else {
						runKNN[float64](t, label, dev, kind, m, sh.n, sh.dim, sh.nq, ks, rng)
					}
				}
			}
		}
	}
}

func runKNN[T core.Float](t *testing.T, label string, dev *Device, kind string, m core.Metric, n, dim, nq int, ks []int, rng *rand.Rand) {
	pts := gpuData[T](kind, n, dim, rng)
	f, err := core.NewFlat(pts, dim, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := f.Prepare(queries(kind, pts, nq, dim, rng))
	if err != nil {
		t.Fatal(err)
	}
	compareKNN(t, label, dev, f, core.Query[T]{Points: qs}, ks, 0)
	// Fitted points, each left out of its own answer.
	ex := make([]int32, nq)
	fq := make([]T, 0, nq*dim)
	for i := range ex {
		r := rng.IntN(n)
		ex[i] = int32(r)
		fq = append(fq, f.Points()[r*dim:(r+1)*dim]...)
	}
	compareKNN(t, label+" fitted", dev, f, core.Query[T]{Points: fq, Exclude: ex}, ks[:2], 0)
	compareRadius(t, label, dev, f, core.Query[T]{Points: qs}, 0)
}

func TestGPUChunks(t *testing.T) {
	dev := gpuOrSkip(t)
	rng := rand.New(rand.NewPCG(3, 4))
	n, dim, nq := int(100000*scale()), 16, 3000
	pts := gpuData[float32]("random", n, dim, rng)
	f, err := core.NewFlat(pts, dim, core.Metric{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	qs := queries("random", pts, nq, dim, rng)
	// Room for about 200 queries at a time: 15 chunks.
	compareKNN(t, "chunks", dev, f, core.Query[float32]{Points: qs}, []int{10}, int64(n)*4*200)
}

func TestGPUMillion(t *testing.T) {
	dev := gpuOrSkip(t)
	if scale() < 1 {
		t.Skip("PCCT_GPU_TEST_SCALE < 1")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	n, dim := 1000000, 16
	pts := gpuData[float32]("random", n, dim, rng)
	f, err := core.NewFlat(pts, dim, core.Metric{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	qs := queries("random", pts, 100, dim, rng)
	compareKNN(t, "1M x 16", dev, f, core.Query[float32]{Points: qs}, []int{1, 10, 4096}, 0)
	compareRadius(t, "1M x 16", dev, f, core.Query[float32]{Points: qs}, 0.5)
}

func TestGPUEngine(t *testing.T) {
	dev := gpuOrSkip(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, m := range []core.Metric{{Kind: core.Euclidean}, {Kind: core.Manhattan}, {Kind: core.Chebyshev}} {
		for _, dim := range []int{2, 16, 128} {
			testEngine[float32](t, dev.Engine(), m, dataset[float32]("random", 5000, dim, rng), dim, rng)
			testEngine[float64](t, dev.Engine(), m, dataset[float64]("offset", 5000, dim, rng), dim, rng)
		}
	}
}

func TestGPUConcurrent(t *testing.T) {
	dev := gpuOrSkip(t)
	rng := rand.New(rand.NewPCG(9, 10))
	n, dim, nq, k := 20000, 8, 100, 10
	pts := gpuData[float64]("random", n, dim, rng)
	f, err := core.NewFlat(pts, dim, core.Metric{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := NewIndex(dev, f)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	q := core.Query[float64]{Points: queries("random", pts, nq, dim, rng)}
	want, wantIdx := cpuKNN(t, f, q, k)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, gotIdx := make([]float64, nq*k), make([]int64, nq*k)
			if err := ix.KNearest(q, k, got, gotIdx); err != nil {
				errs <- err
				return
			}
			if !slices.Equal(got, want) || !slices.Equal(gotIdx, wantIdx) {
				errs <- fmt.Errorf("a concurrent search differs from the CPU's")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// BenchmarkGPUKNearest measures searches of 10,000 float32 queries on
// the shapes: k=10 on 1,000,000 x 16, 1,000,000 x 128 and 60,000
// x 784, and on 1,000,000 x 16 also k=1000 and a radius search whose
// radius is the median 100th-neighbour distance (reported as "radius").
// Times include copying the queries in and the answers out, and the CPU's
// re-ranking. gpu/check/bench.py measures torch beside it.
func BenchmarkGPUKNearest(b *testing.B) {
	dev := gpuOrSkip(b)
	const nq = 10000
	for _, sh := range []struct{ n, dim int }{{1000000, 16}, {1000000, 128}, {60000, 784}} {
		rng := rand.New(rand.NewPCG(11, 12))
		pts := gpuData[float32]("random", sh.n, sh.dim, rng)
		f, err := core.NewFlat(pts, sh.dim, core.Metric{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		ix, err := NewIndex(dev, f)
		if err != nil {
			b.Fatal(err)
		}
		q := core.Query[float32]{Points: queries("random", pts, nq, sh.dim, rng), Jobs: runtime.NumCPU()}
		ks := []int{10}
		if sh.dim == 16 {
			ks = append(ks, 1000)
		}
		for _, k := range ks {
			dist, idx := make([]float32, nq*k), make([]int64, nq*k)
			b.Run(fmt.Sprintf("n=%d/dim=%d/k=%d", sh.n, sh.dim, k), func(b *testing.B) {
				for b.Loop() {
					if err := ix.KNearest(q, k, dist, idx); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(nq*b.N)/b.Elapsed().Seconds(), "queries/s")
			})
		}
		if sh.dim == 16 {
			// The radius: the median 100th-neighbour distance of 100 queries.
			sample := core.Query[float32]{Points: q.Points[:100*sh.dim], Jobs: q.Jobs}
			d100, i100 := make([]float32, 100*100), make([]int64, 100*100)
			if err := ix.KNearest(sample, 100, d100, i100); err != nil {
				b.Fatal(err)
			}
			kth := make([]float64, 100)
			for i := range kth {
				kth[i] = float64(d100[i*100+99])
			}
			slices.Sort(kth)
			r := kth[50]
			b.Run(fmt.Sprintf("n=%d/dim=%d/radius", sh.n, sh.dim), func(b *testing.B) {
				var total int64
				for b.Loop() {
					res, err := ix.Within(q, r, true)
					if err != nil {
						b.Fatal(err)
					}
					total = res.Total()
				}
				b.ReportMetric(float64(nq*b.N)/b.Elapsed().Seconds(), "queries/s")
				b.ReportMetric(r, "radius")
				b.ReportMetric(float64(total)/nq, "answers/query")
			})
		}
		ix.Close()
	}
}
