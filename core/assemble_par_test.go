package core

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// teamSizes are the goroutine counts the assembly's helpers are tested
// with; withProcs lets a test on a small machine start that many.
var teamSizes = []int{1, 2, 3, 8}

// withProcs raises GOMAXPROCS to at least n for the rest of the test, so
// that a team of n goroutines has n (the build caps it at GOMAXPROCS).
func withProcs(t *testing.T, n int) {
	if old := runtime.GOMAXPROCS(0); old < n {
		runtime.GOMAXPROCS(n)
		t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
}

// TestGroupOn checks the parallel grouping by owner against groupBy's
// counting sort: the same owners' ranges and values in item order, for
// few and many owners, items skipped, and every team size.
func TestGroupOn(t *testing.T) {
	withProcs(t, 8)
	cases := []struct {
		owners, items int
		skip          float64
	}{
		{1, 0, 0},
		{1, 100, 0},
		{5, 3 * assembleMin, 0.1},
		{40, 2*assembleMin + 17, 0.5},
		{70000, 100000, 0},
		{100000, 2 * assembleMin, 0.95},
		{3000, 500, 0.2},
	}
	for _, c := range cases {
		rng := rand.New(rand.NewPCG(uint64(c.owners), uint64(c.items)))
		owner := make([]int32, c.items)
		for i := range owner {
			owner[i] = rng.Int32N(int32(c.owners))
			if rng.Float64() < c.skip {
				owner[i] = -1
			}
		}
		pair := func(i int) (int32, int32) { return owner[i], int32(i)*7 + 1 }
		wantFirst, wantVals := groupBy(c.owners, func(emit func(o, v int32)) {
			for i := range c.items {
				if o, v := pair(i); o >= 0 {
					emit(o, v)
				}
			}
		})
		for _, size := range teamSizes {
			tm := newTeam(size)
			for name, group := range map[string]func(*team, int, int, func(int) (int32, int32)) ([]int32, []int32){
				"groupOn": groupOn, "groupSorted": groupSorted, "groupCounted": groupCounted,
			} {
				first, vals := group(tm, c.owners, c.items, pair)
				if !slices.Equal(first, wantFirst) || !slices.Equal(vals, wantVals) {
					t.Errorf("%s, %d owners, %d items, team of %d: another grouping than groupBy's", name, c.owners, c.items, size)
				}
			}
			tm.stop()
		}
	}
}

// TestRadixPairs checks the parallel radix sort against a stable sort,
// for keys of 1 to 63 bits, many equal keys, and 1 to 8 runs.
func TestRadixPairs(t *testing.T) {
	withProcs(t, 8)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, width := range []uint{1, 7, 11, 12, 22, 40, 63} {
		for _, n := range []int{0, 1, 2, 37, radixMin - 1, radixMin, 5000} {
			keys := make([]uint64, n)
			vals := make([]int32, n)
			for i := range keys {
				keys[i] = rng.Uint64() >> (64 - width)
				if i%3 == 0 {
					keys[i] = keys[i] >> (width / 2) // many repeats
				}
				vals[i] = int32(i)
			}
			type kv struct {
				k uint64
				v int32
			}
			want := make([]kv, n)
			for i := range want {
				want[i] = kv{keys[i], vals[i]}
			}
			slices.SortStableFunc(want, func(a, b kv) int { return cmp.Compare(a.k, b.k) })
			for _, parts := range []int{1, 3, 8} {
				tm := newTeam(parts)
				sv, sk, _, _ := radixPairs(tm, parts, slices.Clone(vals), slices.Clone(keys), width, nil, nil)
				tm.stop()
				for i := range want {
					if sk[i] != want[i].k || sv[i] != want[i].v {
						t.Fatalf("width %d, n %d, %d runs: position %d holds (%d, %d), a stable sort (%d, %d)",
							width, n, parts, i, sk[i], sv[i], want[i].k, want[i].v)
					}
				}
			}
		}
	}
}

// TestAccumulate checks the parallel running sums against a loop.
func TestAccumulate(t *testing.T) {
	withProcs(t, 8)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 1000, 5*assembleMin + 3} {
		a := make([]int32, n)
		for i := range a {
			a[i] = rng.Int32N(5)
		}
		want := slices.Clone(a)
		for i := 1; i < n; i++ {
			want[i] += want[i-1]
		}
		for _, size := range teamSizes {
			tm := newTeam(size)
			got := slices.Clone(a)
			accumulate(tm, got)
			tm.stop()
			if !slices.Equal(got, want) {
				t.Errorf("n %d, team of %d: other running sums than a loop's", n, size)
			}
		}
	}
}

// randomForest returns a random tree of n nodes for preorderSlots: node
// 0 the root of level 40, every other node's parent one of a higher level
// (levels 0 to 39), nodes created level by level, highest first, children
// in creation order; some nodes are left out (duplicates).
func randomForest(rng *rand.Rand, n int) (created, level, first, kids []int32) {
	level = make([]int32, n)
	level[0] = 40
	parent := make([]int32, n)
	parent[0] = -1
	for k := 1; k < n; k++ {
		level[k] = rng.Int32N(40)
		if rng.IntN(10) == 0 {
			level[k] = netDup
		}
	}
	// Parents among the nodes of higher level: shallow or deep trees.
	byLevel := make([][]int32, 41)
	byLevel[40] = []int32{0}
	for k := 1; k < n; k++ {
		if level[k] != netDup {
			byLevel[level[k]] = append(byLevel[level[k]], int32(k))
		}
	}
	for l := 39; l >= 0; l-- {
		for _, k := range byLevel[l] {
			h := min(40, l+1+rng.IntN(3))
			for len(byLevel[h]) == 0 {
				h++
			}
			parent[k] = byLevel[h][rng.IntN(len(byLevel[h]))]
		}
	}
	for l := 40; l >= 0; l-- {
		created = append(created, byLevel[l]...)
	}
	first, kids = groupBy(n, func(emit func(o, v int32)) {
		for _, x := range created[1:] {
			emit(parent[x], x)
		}
	})
	return created, level, first, kids
}

// depthFirstSlots is the layout preorderSlots computes, by the walk it
// describes: a stack, each node's children placed when it is popped.
func depthFirstSlots(n int, first, kids []int32) []int32 {
	slot := make([]int32, n)
	next := int32(1)
	stack := []int32{0}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ks := kids[first[u]:first[u+1]]
		for _, c := range ks {
			slot[c] = next
			next++
		}
		for q := len(ks) - 1; q >= 0; q-- {
			stack = append(stack, ks[q])
		}
	}
	return slot
}

// TestPreorderSlots checks the parallel layout from subtree sizes against
// the depth-first walk, slot by slot, and that each node's children take
// the slots after its kidAt.
func TestPreorderSlots(t *testing.T) {
	withProcs(t, 8)
	for _, n := range []int{1, 2, 50, 20000} {
		rng := rand.New(rand.NewPCG(uint64(n), 3))
		created, level, first, kids := randomForest(rng, n)
		want := depthFirstSlots(n, first, kids)
		for _, size := range teamSizes {
			tm := newTeam(size)
			slot, kidAt := preorderSlots(tm, created, levelRuns(tm, created, level), first, kids)
			tm.stop()
			for _, k := range created {
				if slot[k] != want[k] {
					t.Fatalf("n %d, team of %d: node %d in slot %d, the depth-first walk puts it in %d", n, size, k, slot[k], want[k])
				}
				for i, c := range kids[first[k]:first[k+1]] {
					if slot[c] != kidAt[k]+1+int32(i) {
						t.Fatalf("n %d, team of %d: child %d of node %d in slot %d, not %d", n, size, i, k, slot[c], kidAt[k]+1+int32(i))
					}
				}
			}
		}
	}
}

// TestLevelRuns checks the runs of equal level, and that a level rising
// is refused.
func TestLevelRuns(t *testing.T) {
	withProcs(t, 8)
	rng := rand.New(rand.NewPCG(8, 9))
	created, level, _, _ := randomForest(rng, 3*assembleMin)
	var want []int
	for j := range created {
		if j == 0 || level[created[j]] != level[created[j-1]] {
			want = append(want, j)
		}
	}
	want = append(want, len(created))
	for _, size := range teamSizes {
		tm := newTeam(size)
		if got := levelRuns(tm, created, level); !slices.Equal(got, want) {
			t.Errorf("team of %d: runs %v, want %v", size, got, want)
		}
		tm.stop()
	}
	bad := slices.Clone(created)
	bad[len(bad)-1], bad[1] = bad[1], bad[len(bad)-1]
	defer func() {
		if recover() == nil {
			t.Error("levelRuns accepted nodes whose level rises")
		}
	}()
	tm := newTeam(2)
	defer tm.stop()
	levelRuns(tm, bad, level)
}

// sameNodes returns an error unless trees a and b hold the same nodes in
// the same slots: level, parent, distances, radii, weight, children,
// groups, caller indices and point.
func sameNodes[T Float](a, b *Tree[T]) error {
	if a.s.slots != b.s.slots || a.root != b.root || a.n != b.n {
		return fmt.Errorf("%d and %d slots, roots %d and %d", a.s.slots, b.s.slots, a.root, b.root)
	}
	bits := func(x float64) uint64 { return math.Float64bits(x) }
	for u := range a.s.slots {
		x, y := a.node(u), b.node(u)
		if x.level != y.level || x.parent != y.parent || bits(x.pdist) != bits(y.pdist) ||
			bits(x.reach) != bits(y.reach) || bits(x.rad) != bits(y.rad) || x.weight != y.weight ||
			!slices.Equal(x.children(), y.children()) || !slices.Equal(x.groups(), y.groups()) || !slices.Equal(x.idList(), y.idList()) ||
			!slices.Equal(a.point(u), b.point(u)) {
			return fmt.Errorf("slot %d: %+v and %+v", u, *x, *y)
		}
	}
	return nil
}

// TestAssembleSameTree builds sets large enough for the assembly's and
// the grid construction's parallel steps to split (duplicates and signed
// zeros among them, a set whose points lie in one slab of cells, and the
// batch and level-by-level constructions, which share the assembly) with
// teams of 1, 2, 3 and 8 goroutines: the same tree slot by slot, whose
// invariants hold (checkLinks; Check's quadratic separation test is left
// to the smaller sets of TestGridBuild and the others) and whose answers
// are brute force's, in both precisions. Under the race detector it
// builds two sets, in float64, just past the size where the assembly's
// loops split, with 1 and 3 goroutines.
func TestAssembleSameTree(t *testing.T) {
	withProcs(t, 8)
	rng := rand.New(rand.NewPCG(41, 42))
	n := 40000
	if raceEnabled {
		n = 2*assembleMin + 1000
	}
	slab := uniformRows(rng, n, 3)
	for i := 0; i < len(slab); i += 3 {
		slab[i] *= 1e-4 // every grid coarser than 1e-4 has one or two slabs
	}
	cases := []struct {
		name string
		dim  int
		data []float64
		opts Options
		want string
	}{
		{"grid-3-signed-zeros", 3, signedZeroCopies(rng, n), Options{}, "grid"},
		{"grid-2-clusters", 2, clusterRows(rng, n, 2), Options{}, "grid"},
		{"grid-3-one-slab", 3, slab, Options{}, "grid"},
		{"batch-5", 5, clusterRows(rng, n/2, 5), Options{}, "batch"},
		{"levels-3", 3, clusterRows(rng, n/2, 3), Options{netOnly: true}, "levels"},
	}
	jobs := teamSizes
	if raceEnabled {
		cases, jobs = []struct {
			name string
			dim  int
			data []float64
			opts Options
			want string
		}{cases[0], cases[2]}, []int{1, 3}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sameForJobs(t, c.data, c.dim, c.opts, c.want, jobs, rng)
			if raceEnabled {
				return
			}
			d32 := make([]float32, len(c.data))
			for i, x := range c.data {
				d32[i] = float32(x)
			}
			sameForJobs(t, d32, c.dim, c.opts, c.want, jobs, rng)
		})
	}
}

// sameForJobs builds data with each of jobCounts goroutines (the first
// 1) and compares the trees slot by slot; each is checked against the
// assembly's invariants, the last against brute force.
func sameForJobs[T Float](t *testing.T, data []T, dim int, opts Options, want string, jobCounts []int, rng *rand.Rand) {
	t.Helper()
	var ref, last *Tree[T]
	for _, jobs := range jobCounts {
		var built string
		o := opts
		o.Seed, o.Jobs, o.built = 9, jobs, &built
		tr, err := Build(data, dim, o)
		if err != nil {
			t.Fatal(err)
		}
		if built != want {
			t.Fatalf("built by %q, want %q", built, want)
		}
		if err := checkLinks(tr); err != nil {
			t.Fatalf("%T, jobs %d: %v", data[0], jobs, err)
		}
		if ref == nil {
			ref = tr
			continue
		}
		if err := sameNodes(ref, tr); err != nil {
			t.Fatalf("%T, jobs %d against jobs 1: %v", data[0], jobs, err)
		}
		last = tr
	}
	againstBrute(t, last, data, dim, rng)
}

// checkLinks checks the invariants of tr that the assembly makes, as
// Check does, leaving out Check's pairwise separation test (quadratic;
// the assembly lays out nodes it is given): links, order, groups and
// weights, caller indices, each node's level below its parent's and its
// cached distance to it, and the radii.
func checkLinks[T Float](tr *Tree[T]) error {
	live, err := tr.checkStructure()
	if err != nil {
		return err
	}
	if err := tr.checkIndices(live); err != nil {
		return err
	}
	for _, u := range live {
		n := tr.node(u)
		if u == tr.root {
			continue
		}
		if p := tr.node(n.parent); n.level >= p.level || tr.dist(tr.point(u), tr.point(n.parent)) != n.pdist {
			return fmt.Errorf("node %d: level %d under a parent of level %d, distance %v cached", u, n.level, p.level, n.pdist)
		}
	}
	return tr.checkRadii(live)
}
