package core_test

import (
	"math/rand/v2"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// TestQuerySeconds: a tree's cost of a query is measured once per version,
// is not counted among its query evaluations, grows with k above 10, works
// on a version with deleted points, and in 3-D is far below the brute-force
// index's cost over the same points.
func TestQuerySeconds(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n, dim = 20000, 3
	data := make([]float64, n*dim)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	tr, err := core.Build(data, dim, core.Options{Seed: 1, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, q0 := tr.DistanceEvals()
	s10, err := tr.QuerySeconds(10, 2)
	if err != nil || s10 <= 0 {
		t.Fatalf("QuerySeconds(10) = %v, %v; want > 0", s10, err)
	}
	if _, q := tr.DistanceEvals(); q != q0 {
		t.Fatalf("the sample's evaluations were counted: query evals %d -> %d", q0, q)
	}
	if s, _ := tr.QuerySeconds(10, 2); s != s10 {
		t.Fatalf("a second QuerySeconds(10) = %v, want the first's %v (measured once)", s, s10)
	}
	if s, _ := tr.QuerySeconds(100, 2); s != 10*s10 {
		t.Fatalf("QuerySeconds(100) = %v, want 10 x QuerySeconds(10) = %v", s, 10*s10)
	}
	if s, _ := tr.QuerySeconds(1, 2); s != s10 {
		t.Fatalf("QuerySeconds(1) = %v, want QuerySeconds(10)'s %v", s, s10)
	}
	bf, err := core.BuildBruteForce(data, dim, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Far below, measured: 11.7 times without the SIMD experiment, 6.8
	// under it with the AVX2 screen's price (2.2 ns a point in 3-D), 6.4
	// with the AVX-512 screen's.
	sb, _ := bf.QuerySeconds(10, 2)
	if sb < 5*s10 {
		t.Fatalf("brute force's cost a query %v is not 5x the 3-D tree's %v", sb, s10)
	}
	gone := make([]int64, 0, n/2)
	for i := 0; i < n; i += 2 {
		gone = append(gone, int64(i))
	}
	del, err := tr.Delete(gone, core.UpdateOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := del.QuerySeconds(10, 2); err != nil || s <= 0 {
		t.Fatalf("after deleting every even index, QuerySeconds = %v, %v; want > 0", s, err)
	}
}
