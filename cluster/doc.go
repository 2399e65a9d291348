// Package cluster runs the classic applications of nearest-neighbour trees
// on a compressed cover tree of package core: the exact minimum spanning
// tree, single-linkage clustering, DBSCAN and HDBSCAN.
//
// It is a client of core's public API: it reads a tree version through
// core's read-only node view (Tree.Root, Node.Child, Node.Radius,
// Tree.Dist, ...) and its batch queries (KNearestBatch, WithinBatch), and
// never changes a tree. Any version works, a snapshot or the current
// version after Insert and Delete; results name points by their caller
// indices, or by their positions among the tree's live caller indices in
// ascending order (Tree.LiveIDs), which are 0..n-1 for a tree made by Build.
//
// The minimum spanning tree is Boruvka's algorithm with a tree search per
// node (March, Ram and Gray, KDD 2010, run it on kd-trees and cover
// trees): in each round every component finds its lightest edge to
// another component, searching the tree from each of its nodes, skipping
// subtrees that lie wholly inside the component or beyond the component's
// best edge so far, and not searching at all from a node whose nearest
// other component is known from the previous round or provably farther.
// Before the first round, in which every node would search, each node's
// nearest nodes come from the tree's k-nearest-neighbour search (for
// HDBSCAN the same search that finds the core distances), so that only
// the nodes whose lightest edge they cannot vouch for search. In a round
// where many nodes must search (late, when few large components remain),
// the searches run from the query side of the tree down, as a dual-tree
// Boruvka does: a subtree of one component that cannot reach another
// component by an edge as light as its component's best so far is passed
// over whole.
// Identical points share a node and are joined by zero-weight edges. Ties
// are broken by the points' caller indices, so results do not depend on
// the number of goroutines.
//
// On arrays, with no tree kept, MinimumSpanningTreePoints and
// DBSCANPoints build what suits the rows: for Euclidean rows of one to
// three features a k-d tree (the spanning tree, by the same Boruvka
// search with the same tie order, so the same edges) or a grid (DBSCAN),
// for four to 64 features a k-d tree for DBSCAN, whose distance kernels
// measure a point against a whole leaf at once (in vectors under Go's
// SIMD experiment); otherwise a cover tree built for the call.
//
// Single linkage is the minimum spanning tree sorted, in the linkage
// matrix format of scipy.cluster.hierarchy. DBSCAN counts neighbours by a
// tree search that adds whole subtrees within eps and stops at
// min_samples, keeping what it met within eps; it connects core points by
// what their counts kept and a spanning forest of edges no longer than
// eps, and gives each border point, from what its count kept, the cluster
// that scikit-learn gives it. HDBSCAN takes core distances from the tree's
// k-nearest-neighbour search, the minimum spanning tree of the mutual
// reachability distance from the same Boruvka search; it then replays
// the choices that scikit-learn's Prim's algorithm makes among edges of
// equal weight, over the edges that can be in a minimum spanning tree, and
// condenses the hierarchy and selects clusters as scikit-learn's HDBSCAN
// does, so that labels and probabilities agree with it.
package cluster
