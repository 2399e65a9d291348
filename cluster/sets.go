package cluster

// disjointSets is a union-find over 0..n-1 for one goroutine (atomicSets
// is the concurrent one): each set's root is its smallest member, and
// find halves the paths it walks.
type disjointSets []int32

// newDisjointSets returns n sets of one element each.
func newDisjointSets(n int) disjointSets {
	u := make(disjointSets, n)
	for i := range u {
		u[i] = int32(i)
	}
	return u
}

// find returns the root of x's set.
func (u disjointSets) find(x int32) int32 {
	for u[x] != x {
		u[x] = u[u[x]]
		x = u[x]
	}
	return x
}

// link joins the sets of the distinct roots a and b, under the smaller.
func (u disjointSets) link(a, b int32) {
	u[max(a, b)] = min(a, b)
}
