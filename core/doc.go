// Package core implements a compressed cover tree for exact nearest-neighbour
// search in metric spaces.
//
// A compressed cover tree (Elkin and Kurlin, arXiv 2111.15478) stores each
// distinct point once, as a node with an integer level l(p). With base 2 it
// satisfies three conditions:
//
//   - root: the root's level exceeds every other node's level;
//   - cover: a child c of p has l(c) < l(p) and d(c, p) <= 2^(l(c)+1);
//   - separation: nodes whose levels are >= i are more than 2^i apart.
//
// Identical points (distance zero) share one node, which keeps every caller
// index. Points are stored in the input precision (float32 or float64) in one
// contiguous row-major slice, reordered into depth-first tree order, so that
// the distinctive descendant set S_i(p) of a node is the node itself plus one
// contiguous run of nodes.
//
// k-nearest-neighbour queries run one of two exact strategies. The
// corrected algorithm of Elkin and Kurlin goes level by level: the
// lambda-point bounds the k-th neighbour distance, candidates farther than
// that bound plus the radius of their descendants are pruned, and when
// d(q, lambda) > 2^(i+2) the search stops descending and scans the
// distinctive descendants of the remaining candidates. The default,
// depth-first branch and bound, opens the nearest children first and prunes
// with exact subtree radii; it measures fewer distances on real data.
// Results are ordered by distance, then by caller index, so they are
// deterministic.
//
// Build constructs a tree top down, one level at a time, as nested nets:
// the points farther than b^i from every node so far are settled at level
// i by a maximal set of them pairwise farther than b^i apart, chosen in
// parallel over the cells of the nodes above (each point knows its nearest
// node) and reconciled across neighbouring cells by a maximal independent
// set; friend lists tie each cell to its neighbours. Where those lists
// would outgrow their memory (data of high intrinsic dimension) the build
// inserts its remaining points in batches. BuildIncremental builds by batch
// insertion alone and is the reference in tests.
//
// Insert and Delete update a tree by the parallel batch insertion and
// deletion of Gu, Napier, Sun and Wang: each batch is located in the tree
// concurrently and its conflicts are settled level by level with maximal
// independent sets. They return new versions of a tree; every version
// stays valid and queryable, and versions share the storage an update did
// not touch. Trees are safe for concurrent use. Batch queries, like the
// builds' loops, run in parallel on goroutines, the caller's among them.
package core
