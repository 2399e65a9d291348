package core_test

import (
	"math"
	"testing"

	"github.com/pcct-dev/pcct/core"
)

// BenchmarkJoins measures the dual-tree joins of a tree with itself on the
// synthetic 3-D set: counting 12 radii (doubling) at once, and listing the
// pairs within one radius; it reports the distance evaluations per point.
func BenchmarkJoins(b *testing.B) {
	const n, dim = 40000, 3
	data := synthetic(n, dim, 3)
	tr, err := core.Build(data, dim, core.Options{Jobs: 2})
	if err != nil {
		b.Fatal(err)
	}
	radii := make([]float64, 12)
	for i := range radii {
		radii[i] = 0.01 * math.Ldexp(1, i)
	}
	opts := core.JoinOptions{Jobs: 2}
	run := func(b *testing.B, fn func() error) {
		_, before := tr.DistanceEvals()
		for b.Loop() {
			if err := fn(); err != nil {
				b.Fatal(err)
			}
		}
		_, after := tr.DistanceEvals()
		b.ReportMetric(float64(after-before)/float64(b.N)/n, "evals/pt")
	}
	b.Run("CountPairs", func(b *testing.B) {
		run(b, func() error { _, err := tr.CountPairs(tr, radii, opts); return err })
	})
	b.Run("Pairs", func(b *testing.B) {
		run(b, func() error { _, err := tr.Pairs(0.05, opts); return err })
	})
	b.Run("PairsWith", func(b *testing.B) {
		run(b, func() error { _, err := tr.PairsWith(tr, 0.05, true, opts); return err })
	})
}
