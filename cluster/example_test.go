package cluster_test

import (
	"fmt"

	"github.com/pcct-dev/pcct/cluster"
	"github.com/pcct-dev/pcct/core"
)

// The minimum spanning tree of five points on a line, one of them twice.
func ExampleMinimumSpanningTree() {
	tree, err := core.Build([]float64{0, 1, 3, 3, 7}, 1, core.Options{})
	if err != nil {
		panic(err)
	}
	edges, err := cluster.MinimumSpanningTree(tree, cluster.Options{Jobs: 2})
	if err != nil {
		panic(err)
	}
	for _, e := range edges {
		fmt.Printf("%d-%d %.0f\n", e.I, e.J, e.Dist)
	}
	// Output:
	// 2-3 0
	// 0-1 1
	// 1-2 2
	// 2-4 4
}

// Single linkage in scipy's format: row j joins clusters A and B into
// cluster n+j.
func ExampleSingleLinkage() {
	tree, err := core.Build([]float64{0, 0.5, 5, 5.2}, 1, core.Options{})
	if err != nil {
		panic(err)
	}
	merges, err := cluster.SingleLinkage(tree, cluster.Options{})
	if err != nil {
		panic(err)
	}
	for _, m := range merges {
		fmt.Printf("%d %d %.1f %d\n", m.A, m.B, m.Dist, m.Size)
	}
	// Output:
	// 2 3 0.2 2
	// 0 1 0.5 2
	// 4 5 4.5 4
}

// DBSCAN on two groups and an outlier.
func ExampleDBSCAN() {
	points := []float64{
		1, 2, 2, 2, 2, 3,
		8, 7, 8, 8,
		25, 80,
	}
	tree, err := core.Build(points, 2, core.Options{})
	if err != nil {
		panic(err)
	}
	res, err := cluster.DBSCAN(tree, 3, 2, nil, cluster.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Labels, res.Core)
	// Output:
	// [0 0 0 1 1 -1] [true true true true true false]
}

// HDBSCAN finds the two groups and leaves the far point out.
func ExampleHDBSCAN() {
	var points []float64
	for i := range 10 {
		points = append(points, float64(i)*0.1, 10+float64(i)*0.1)
	}
	points = append(points, 100)
	tree, err := core.Build(points, 1, core.Options{})
	if err != nil {
		panic(err)
	}
	res, err := cluster.HDBSCAN(tree, cluster.HDBSCANOptions{MinClusterSize: 5})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Labels)
	// Output:
	// [0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 -1]
}
