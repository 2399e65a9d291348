package core_test

import (
	"fmt"

	"github.com/pcct-dev/pcct/core"
)

// Build a tree over a few points in the plane and ask for the two points
// nearest to a query.
func Example() {
	points := []float64{
		0, 0,
		1, 0,
		0, 1,
		5, 5,
		1, 1,
	}
	tree, err := core.Build(points, 2, core.Options{})
	if err != nil {
		panic(err)
	}
	nn, err := tree.KNearest([]float64{0.9, 0.2}, 2)
	if err != nil {
		panic(err)
	}
	for _, n := range nn {
		fmt.Printf("point %d at distance %.4f\n", n.Index, n.Dist)
	}
	// Output:
	// point 1 at distance 0.2236
	// point 4 at distance 0.8062
}

// Build takes row-major data, the dimension and options; identical rows
// share one node but keep their own indices.
func ExampleBuild() {
	data := []float32{
		1, 2, 3,
		4, 5, 6,
		1, 2, 3, // a duplicate of row 0
		7, 8, 9,
	}
	metric, err := core.ParseMetric("cityblock", 0) // scikit-learn's name for L1
	if err != nil {
		panic(err)
	}
	tree, err := core.Build(data, 3, core.Options{Metric: metric, Seed: 42})
	if err != nil {
		panic(err)
	}
	fmt.Println("metric:", tree.Metric())
	fmt.Println("points:", tree.Len(), "distinct:", tree.Nodes(), "dim:", tree.Dim())
	fmt.Println("row 2:", tree.Point(2))
	fmt.Println("invariants:", tree.Check())

	_, err = core.Build([]float64{1, 2, 3}, 2, core.Options{})
	fmt.Println("error:", err != nil)
	// Output:
	// metric: manhattan
	// points: 4 distinct: 3 dim: 3
	// row 2: [1 2 3]
	// invariants: <nil>
	// error: true
}

// KNearest returns neighbours nearest first; points at equal distances come
// in order of their index.
func ExampleTree_KNearest() {
	// Points on a line at 0, 1, 2, ..., 9.
	var data []float64
	for i := range 10 {
		data = append(data, float64(i))
	}
	tree, err := core.Build(data, 1, core.Options{})
	if err != nil {
		panic(err)
	}
	// 4.5 is equidistant from 4 and 5, and from 3 and 6.
	nn, err := tree.KNearest([]float64{4.5}, 4)
	if err != nil {
		panic(err)
	}
	fmt.Println(nn)
	// Output:
	// [{4 0.5} {5 0.5} {3 1.5} {6 1.5}]
}

// Within returns every point at distance r or less, sorted by distance,
// then index.
func ExampleTree_Within() {
	data := []float64{
		0, 0,
		3, 4,
		-3, -4,
		6, 8,
		1, 1,
	}
	tree, err := core.Build(data, 2, core.Options{})
	if err != nil {
		panic(err)
	}
	in, err := tree.Within([]float64{0, 0}, 5) // d <= 5: the boundary counts
	if err != nil {
		panic(err)
	}
	for _, n := range in {
		fmt.Printf("point %d at %.4g\n", n.Index, n.Dist)
	}
	// Output:
	// point 0 at 0
	// point 4 at 1.414
	// point 1 at 5
	// point 2 at 5
}

// With Points nil, a batch queries the tree's own points, each leaving out
// its own index (scikit-learn's kneighbors(X=None)); its duplicates still
// count, at distance zero.
func ExampleTree_KNearestBatch() {
	data := []float64{0, 0, 10, 0, 0, 0, 11, 0} // rows 0 and 2 are the same point
	tree, err := core.Build(data, 2, core.Options{})
	if err != nil {
		panic(err)
	}
	const k = 2
	n := tree.Len()
	dist := make([]float64, n*k)
	idx := make([]int64, n*k)
	err = tree.KNearestBatch(core.Batch[float64]{First: 0, Count: n, Jobs: 2}, k, dist, idx)
	if err != nil {
		panic(err)
	}
	for i := range n {
		fmt.Println(i, idx[i*k:(i+1)*k], dist[i*k:(i+1)*k])
	}
	// Output:
	// 0 [2 1] [0 10]
	// 1 [3 0] [1 10]
	// 2 [0 1] [0 10]
	// 3 [1 0] [1 11]
}

// Radius queries in a batch are two-phase: count, allocate, fill.
func ExampleTree_WithinBatch() {
	data := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	tree, err := core.Build(data, 1, core.Options{})
	if err != nil {
		panic(err)
	}
	queries := []float64{0, 4.5, 20}
	res, err := tree.WithinBatch(core.Batch[float64]{Points: queries}, 1.5, true)
	if err != nil {
		panic(err)
	}
	dist := make([]float64, res.Total())
	idx := make([]int64, res.Total())
	if err := res.Fill(dist, idx); err != nil {
		panic(err)
	}
	o := 0
	for i, c := range res.Counts() {
		fmt.Println(queries[i], idx[o:o+int(c)], dist[o:o+int(c)])
		o += int(c)
	}
	// Output:
	// 0 [0 1] [0 1]
	// 4.5 [4 5 3 6] [0.5 0.5 1.5 1.5]
	// 20 [] []
}
