package core

import (
	"cmp"
	"math/bits"
	"slices"
)

// The parallel steps that the constructions' assembly shares: grouping
// values by owner (a stable sort by owner), running sums, and the
// depth-first layout of the nodes computed from subtree sizes. Each gives
// the same result on any number of goroutines.

// assembleMin is the fewest items a loop of these steps splits over the
// team (fewer run on one goroutine: the same result either way).
const assembleMin = 1 << 14

// assembleParts returns the number of runs a loop over n items takes on
// tm: one per goroutine, each of at least assembleMin items.
func assembleParts(tm *team, n int) int {
	return min(tm.size(), max(1, n/assembleMin))
}

// makeTogether runs fns, allocations, on tm, one part each: the runtime
// zeroes a large slice on the goroutine that makes it, serially, so
// slices made together are zeroed in parallel.
func makeTogether(tm *team, fns ...func()) {
	tm.forParts(len(fns), func(p int) { fns[p]() })
}

// accumulate replaces a by its running sums (a[i] += a[i-1], in order),
// on tm: each run sums its own items, then adds the total of the runs
// before it.
func accumulate(tm *team, a []int32) {
	n := len(a)
	parts := assembleParts(tm, n)
	if parts == 1 {
		for i := 1; i < n; i++ {
			a[i] += a[i-1]
		}
		return
	}
	ends := make([]int32, parts)
	tm.forParts(parts, func(p int) {
		lo, hi := n*p/parts, n*(p+1)/parts
		for i := lo + 1; i < hi; i++ {
			a[i] += a[i-1]
		}
		ends[p] = a[hi-1]
	})
	for p := 1; p < parts; p++ {
		ends[p] += ends[p-1]
	}
	tm.forParts(parts, func(p int) {
		if p == 0 {
			return
		}
		base := ends[p-1]
		for i := n * p / parts; i < n*(p+1)/parts; i++ {
			a[i] += base
		}
	})
}

// groupOn groups values by owner as groupBy does, on tm: item i of
// 0..items-1 gives pair(i), an owner 0 <= o < owners and a value, or an
// owner below 0 for none; the values of owner o are vals[first[o]:
// first[o+1]], in item order. pair is called twice for each item. Small
// inputs take groupBy's counting sort, and so do those of a team of one
// whose owners' counts fit in cache (groupOwnersCached): the result is
// the same.
func groupOn(tm *team, owners, items int, pair func(i int) (owner, val int32)) (first, vals []int32) {
	switch {
	case items < assembleMin || (tm.size() == 1 && owners <= groupOwnersCached):
		return groupBy(owners, func(emit func(owner, val int32)) {
			for i := range items {
				if o, v := pair(i); o >= 0 {
					emit(o, v)
				}
			}
		})
	case owners <= groupOwnersCached:
		return groupCounted(tm, owners, items, pair)
	}
	return groupSorted(tm, owners, items, pair)
}

// groupCounted is groupOn by a counting sort on tm: each run of items
// counts its owners in a table of its own, the tables' counts become
// offsets owner by owner, run by run (prefixDigits, so each owner's values
// stay in item order), and each run writes its values at its offsets. Two
// passes over the items where the radix sort (groupSorted) takes seven or
// more; for owners few enough that a run's table stays in cache. On two
// threads, bunny's and the zip codes' assembly grouped their nodes no
// faster than on one by the radix sort.
func groupCounted(tm *team, owners, items int, pair func(i int) (owner, val int32)) (first, vals []int32) {
	parts := assembleParts(tm, items)
	counts := make([][]int32, parts)
	held := make([]int, parts)
	tm.forParts(parts, func(p int) {
		c := make([]int32, owners)
		h := 0
		for i := items * p / parts; i < items*(p+1)/parts; i++ {
			if o, _ := pair(i); o >= 0 {
				c[o]++
				h++
			}
		}
		counts[p], held[p] = c, h
	})
	total := 0
	for _, h := range held {
		total += h
	}
	prefixDigits(tm, counts)
	// The first run's offsets are the owners' first positions.
	first = make([]int32, owners+1)
	copy(first, counts[0])
	first[owners] = int32(total)
	vals = make([]int32, total)
	tm.forParts(parts, func(p int) {
		c := counts[p]
		for i := items * p / parts; i < items*(p+1)/parts; i++ {
			if o, v := pair(i); o >= 0 {
				vals[c[o]] = v
				c[o]++
			}
		}
	})
	return first, vals
}

// groupOwnersCached is the most owners for which one goroutine groups by
// a counting sort rather than a radix sort: beyond, its scattered writes
// to the owners' counters miss the cache (a million owners: slower than
// the radix sort's passes, where 36,000 were faster).
const groupOwnersCached = 1 << 18

// groupSorted is groupOn by a parallel radix sort: the pairs are written
// out in item order (counted, then written, run by run), sorted stably by
// owner, and each owner's first position found by a walk over the sorted
// owners, in parallel over runs of owners.
func groupSorted(tm *team, owners, items int, pair func(i int) (owner, val int32)) (first, vals []int32) {
	parts := min(tm.size(), max(1, items))
	at := make([]int, parts+1)
	tm.forParts(parts, func(p int) {
		c := 0
		for i := items * p / parts; i < items*(p+1)/parts; i++ {
			if o, _ := pair(i); o >= 0 {
				c++
			}
		}
		at[p+1] = c
	})
	for p := range parts {
		at[p+1] += at[p]
	}
	m := at[parts]
	var keys, keys2 []uint32
	var vals2 []int32
	first = make([]int32, owners+1)
	makeTogether(tm,
		func() { keys = make([]uint32, m) },
		func() { vals = make([]int32, m) },
		func() { keys2 = make([]uint32, m) },
		func() { vals2 = make([]int32, m) },
		func() { first = make([]int32, owners+1) })
	tm.forParts(parts, func(p int) {
		q := at[p]
		for i := items * p / parts; i < items*(p+1)/parts; i++ {
			if o, v := pair(i); o >= 0 {
				keys[q], vals[q] = uint32(o), v
				q++
			}
		}
	})
	width := uint(bits.Len(uint(max(owners-1, 0))))
	vals, keys, _, _ = radixPairs(tm, min(tm.size(), max(1, m/assembleMin)), vals, keys, width, vals2, keys2)
	runs := min(tm.size(), max(1, (owners+1)/assembleMin))
	tm.forParts(runs, func(p int) {
		lo, hi := (owners+1)*p/runs, (owners+1)*(p+1)/runs
		q, _ := slices.BinarySearch(keys, uint32(lo))
		for o := lo; o < hi; o++ {
			for q < m && keys[q] < uint32(o) {
				q++
			}
			first[o] = int32(q)
		}
	})
	return first, vals
}

// radixPairs sorts vals by keys (of width bits), stably, in passes of up
// to 11 bits, each counting and scattering in parallel over parts runs of
// the input, the runs' counts laid out digit by digit, run by run, so the
// order is that of one pass on one goroutine. vals2 and keys2 are buffers
// (nil or too short: allocated); it returns the sorted values and keys,
// then the buffers (the slices given, in some order).
func radixPairs[K uint32 | uint64](tm *team, parts int, vals []int32, keys []K, width uint, vals2 []int32, keys2 []K) ([]int32, []K, []int32, []K) {
	n := len(vals)
	vals2, keys2 = resize(vals2, n), resize(keys2, n)
	if n == 0 || width == 0 {
		return vals, keys, vals2, keys2
	}
	if n < radixMin {
		sortKeyed(vals, keys)
		return vals, keys, vals2, keys2
	}
	passes := (width + 10) / 11
	digit := (width + passes - 1) / passes
	mask := K(1)<<digit - 1
	counts := make([][]int, parts)
	for w := range counts {
		counts[w] = make([]int, 1<<digit)
	}
	for s := uint(0); s < width; s += digit {
		tm.forParts(parts, func(w int) {
			c := counts[w]
			clear(c)
			for _, k := range keys[n*w/parts : n*(w+1)/parts] {
				c[(k>>s)&mask]++
			}
		})
		d0 := (keys[0] >> s) & mask
		total := 0
		for w := range parts {
			total += counts[w][d0]
		}
		if total == n {
			continue // one digit value: already in order
		}
		prefixDigits(tm, counts)
		tm.forParts(parts, func(w int) {
			c := counts[w]
			lo := n * w / parts
			for p, k := range keys[lo : n*(w+1)/parts] {
				d := (k >> s) & mask
				q := c[d]
				c[d]++
				keys2[q], vals2[q] = k, vals[lo+p]
			}
		})
		keys, keys2 = keys2, keys
		vals, vals2 = vals2, vals
	}
	return vals, keys, vals2, keys2
}

// radixMin is the fewest pairs radixPairs sorts by digits. Each pass
// clears and sums up to 2,048 counters a run, more than the pairs below
// it: a 100-point grid build spent a quarter of its time in the sorts of
// its levels' few points (BenchmarkBuildSmall, 100 x 2 and 100 x 3).
const radixMin = 256

// sortKeyed sorts vals by keys, stably, in place: the order radixPairs
// gives.
func sortKeyed[K uint32 | uint64](vals []int32, keys []K) {
	type pair struct {
		k    K
		i, v int32 // the pair's place in the input, its value
	}
	ps := make([]pair, len(vals))
	for i := range ps {
		ps[i] = pair{keys[i], int32(i), vals[i]}
	}
	// Unstable, but no two pairs compare equal: the places break ties.
	slices.SortFunc(ps, func(a, b pair) int {
		if c := cmp.Compare(a.k, b.k); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	for i, p := range ps {
		keys[i], vals[i] = p.k, p.v
	}
}

// prefixDigits replaces the runs' counts of each digit (or owner),
// counts[w][d], by the number of keys before them in the order digit by
// digit, run by run: each goroutine sums a range of digits, then writes
// its offsets.
func prefixDigits[C int | int32](tm *team, counts [][]C) {
	runs, digits := len(counts), len(counts[0])
	parts := 1
	if runs > 1 {
		parts = min(tm.size(), max(1, digits*runs/(assembleMin/4)))
	}
	base := make([]C, parts+1)
	tm.forParts(parts, func(q int) {
		var s C
		for d := digits * q / parts; d < digits*(q+1)/parts; d++ {
			for w := range runs {
				s += counts[w][d]
			}
		}
		base[q+1] = s
	})
	for q := range parts {
		base[q+1] += base[q]
	}
	tm.forParts(parts, func(q int) {
		sum := base[q]
		for d := digits * q / parts; d < digits*(q+1)/parts; d++ {
			for w := range runs {
				c := counts[w][d]
				counts[w][d] = sum
				sum += c
			}
		}
	})
}

// levelRuns returns where the runs of equal level begin in created (nodes
// whose levels, level[created[j]], never rise), and len(created) last:
// run r is created[runs[r]:runs[r+1]]. A parent is of a higher level than
// its children, so it lies in an earlier run. The boundaries are found in
// parallel over runs of created.
func levelRuns(tm *team, created, level []int32) []int {
	n := len(created)
	parts := assembleParts(tm, n)
	found := make([][]int, parts)
	tm.forParts(parts, func(p int) {
		var at []int
		for j := max(1, n*p/parts); j < n*(p+1)/parts; j++ {
			l, prev := level[created[j]], level[created[j-1]]
			if l > prev {
				panic("core: assembly: the nodes were not made level by level, highest first")
			}
			if l != prev {
				at = append(at, j)
			}
		}
		found[p] = at
	})
	runs := []int{0}
	for _, at := range found {
		runs = append(runs, at...)
	}
	return append(runs, n)
}

// preorderSlots lays out the nodes created (node created[0] the root;
// parents in earlier runs of runs, see levelRuns) as the depth-first walk
// that places each node's children together when it reaches the node: the
// root in slot 0, its children after it, then the children of its first
// child, of that one's first child and so on. Node k's children are
// kids[first[k]:first[k+1]], in order. It returns slot (node -> slot;
// len(first)-1 entries, nodes only) and kidAt, where node k's children
// take slots kidAt[k]+1 to kidAt[k]+their number.
//
// The walk reaches a node after its ancestors and the subtrees of the
// siblings before each, so the slots before its children's are the root's
// and one for every child of those nodes: a child's offset is its
// parent's plus the parent's children and the sizes (less one) of the
// subtrees of its siblings before it. The sizes are summed run by run
// bottom up, the offsets written top down, each run in parallel.
func preorderSlots(tm *team, created []int32, runs []int, first, kids []int32) (slot, kidAt []int32) {
	n := len(first) - 1
	// kidAt holds each node's subtree size until its parent replaces it
	// by the node's offset (the parent is its only reader).
	makeTogether(tm, func() { slot = make([]int32, n) }, func() { kidAt = make([]int32, n) })
	for r := len(runs) - 2; r >= 0; r-- {
		tm.forRange(runs[r+1]-runs[r], func(_, lo, hi int) {
			for _, x := range created[runs[r]+lo : runs[r]+hi] {
				s := int32(1)
				for _, c := range kids[first[x]:first[x+1]] {
					s += kidAt[c]
				}
				kidAt[x] = s
			}
		})
	}
	root := created[0]
	slot[root], kidAt[root] = 0, 0
	for r := range len(runs) - 1 {
		tm.forRange(runs[r+1]-runs[r], func(_, lo, hi int) {
			for _, x := range created[runs[r]+lo : runs[r]+hi] {
				ks := kids[first[x]:first[x+1]]
				start := kidAt[x] + 1
				at := kidAt[x] + int32(len(ks))
				for i, c := range ks {
					size := kidAt[c]
					slot[c], kidAt[c] = start+int32(i), at
					at += size - 1
				}
			}
		})
	}
	return slot, kidAt
}
