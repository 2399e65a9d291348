package core_test

import (
	"fmt"

	"github.com/pcct-dev/pcct/core"
)

// The cover of a tree at a level: nodes more than 2^level apart, each
// standing for the points nearest to it in the tree.
func ExampleTree_Cover() {
	tree, err := core.Build([]float64{0, 0.1, 4, 4.2, 9}, 1, core.Options{})
	if err != nil {
		panic(err)
	}
	total := 0
	for _, c := range tree.Cover(1) {
		total += c.Count
	}
	fmt.Println("centers:", len(tree.Cover(1)), "points:", total)
	near, err := tree.CentersNear([]float64{8}, 1, 2)
	if err != nil {
		panic(err)
	}
	fmt.Println("near 8:", near[0].Node.Point(), near[0].Dist)
	// Output:
	// centers: 3 points: 5
	// near 8: [9] 1
}

// A depth-first walk of the read-only node view.
func ExampleNode() {
	tree, err := core.Build([]float64{0, 1, 1, 5}, 1, core.Options{})
	if err != nil {
		panic(err)
	}
	root, _ := tree.Root()
	var walk func(n core.Node[float64], depth int)
	walk = func(n core.Node[float64], depth int) {
		fmt.Printf("%*slevel %d point %v ids %v weight %d\n", 2*depth, "", n.Level(), n.Point(), n.IDs(), n.Weight())
		for i := range n.NumChildren() {
			walk(n.Child(i), depth+1)
		}
	}
	walk(root, 0)
	// Output:
	// level 2 point [5] ids [3] weight 4
	//   level 1 point [1] ids [1 2] weight 3
	//     level -1 point [0] ids [0] weight 1
}
