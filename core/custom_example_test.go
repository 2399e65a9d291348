package core_test

import (
	"fmt"
	"math"

	"github.com/pcct-dev/pcct/core"
)

// A metric of your own: the L1 distance between points of float64, given
// as a function. Any type with a Distance(a, b []T) float64 method will do.
func ExampleNewCustom() {
	l1 := core.DistancerFunc[float64](func(a, b []float64) float64 {
		var s float64
		for i := range a {
			s += math.Abs(a[i] - b[i])
		}
		return s
	})
	points := []float64{0, 0, 1, 0, 0, 2, 3, 3}
	tree, err := core.Build(points, 2, core.Options{Metric: core.NewCustom("l1", l1)})
	if err != nil {
		panic(err)
	}
	nn, err := tree.KNearest([]float64{0.9, 0.2}, 2)
	if err != nil {
		panic(err)
	}
	fmt.Println(tree.Metric(), nn)
	// Output: l1 [{1 0.3} {0 1.1}]
}
