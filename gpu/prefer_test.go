package gpu

import (
	"errors"
	"runtime"
	"testing"
)

// TestPrefer checks the GPU's cost model against the choices the H200's
// crossover table (gpu/check/crossover.py) showed to be right: the CPU's
// cost a query is the tree's as measured there in 3-D (0.44 s for 100,000
// queries on 16 threads: 70 us a query on one) and core's model's for
// brute force in 16 and more dimensions.
func TestPrefer(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 16 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(16))
	}
	tree3 := 0.44 * 16 / 100_000
	brute := func(n, dim int) float64 { return float64(n) * (2 + 0.07*float64(dim)) * 1e-9 }
	cases := []struct {
		name          string
		n, nq, dim, k int
		cpu           float64
		jobs          int
		want          bool
	}{
		{"tree 1M x 3, 100k queries", 1_000_000, 100_000, 3, 10, tree3, 16, false},
		{"tree 200k x 3, 20k queries", 200_000, 20_000, 3, 10, tree3, 16, false},
		{"brute 100k x 16, 10k queries", 100_000, 10_000, 16, 10, brute(100_000, 16), 16, true},
		{"brute 50k x 128, 5k queries", 50_000, 5_000, 128, 10, brute(50_000, 128), 16, true},
		{"brute 60k x 784, 10k queries", 60_000, 10_000, 784, 10, brute(60_000, 784), 16, true},
		{"brute 60k x 784, 10 queries", 60_000, 10, 784, 10, brute(60_000, 784), 16, false},
		{"brute 1M x 16, one thread", 1_000_000, 1_000, 16, 10, brute(1_000_000, 16), 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Prefer(c.n, c.nq, c.dim, c.k, c.jobs, func() (float64, error) { return c.cpu, nil })
			if err != nil || got != c.want {
				t.Fatalf("Prefer = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

// TestPreferAsksTheCPUOnlyWhenTheGPUCouldWin: a search too small for the
// GPU to win even against a CPU measuring every point does not ask for the
// CPU's cost (a tree's first answer measures a sample of queries), and the
// CPU's error is returned.
func TestPreferAsksTheCPUOnlyWhenTheGPUCouldWin(t *testing.T) {
	asked := false
	cpu := func() (float64, error) { asked = true; return 1, nil }
	if ok, err := Prefer(1000, 10, 3, 10, 1, cpu); ok || err != nil || asked {
		t.Fatalf("10 queries against 1,000 points: Prefer = %v, %v, CPU cost asked %v; want false, nil, false", ok, err, asked)
	}
	if ok, err := Prefer(1_000_000, 100_000, 3, 10, 1, cpu); !ok || err != nil || !asked {
		t.Fatalf("a CPU second a query: Prefer = %v, %v, asked %v; want true, nil, true", ok, err, asked)
	}
	boom := errors.New("boom")
	if _, err := Prefer(1_000_000, 100_000, 3, 10, 1, func() (float64, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("Prefer's error = %v, want the CPU cost's", err)
	}
}
