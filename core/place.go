package core

import "fmt"

// An item is a point placed by a batch update: a new point, or an orphan
// (a node whose parent is being deleted) that must find a new parent.
type item struct {
	floor int32 // lowest level it may take: its old level, or levelNegInf
	slot  int32 // its node slot (orphans), or -1 (new points)
	loc   located
	prio  uint64 // priority in the independent sets; unique per batch

	// Results. A reference to a parent or duplicate is a node slot >= 0,
	// or itemRef(k) for item k of the batch.
	level  int32
	parent int32
	pdist  float64
	dupOf  int32 // noRef unless the point duplicates another
	state  int8

	nbr  []neighbor // other items it may conflict with, by distance
	wide bool       // no counted node covered it: it may conflict with any item
}

const (
	pending = iota
	placed
	merged // a duplicate of dupOf
)

const noRef = int32(-1)

// itemRef encodes item k as a reference distinct from every node slot.
func itemRef(k int) int32 { return -2 - int32(k) }

// refItem decodes an item reference; ok is false for a node slot.
func refItem(r int32) (k int, ok bool) { return int(-2 - r), r <= -2 }

type neighbor struct {
	k int32
	d float64
}

// place decides the level and parent of every item, as the batch insertion
// of Gu, Napier, Sun and Wang does on each level, top down. Each item starts
// at the level it would take if inserted alone (its located bound). At
// level k the items whose bound has come down to k are examined: an item
// within b^k of an item already placed cannot sit at level k (separation)
// and moves down to the highest level that keeps it apart from every
// placed neighbour, the nearest of which will cover it; the rest form a
// conflict graph with an edge wherever two are within b^k, and a maximal
// independent set of it (Luby's, by priority) is placed at level k, the
// others moving down. An orphan at its old level (its floor) is placed
// unconditionally: the old separation keeps such orphans apart, and the
// located bounds keep every other item away from them.
//
// Two items can only conflict if one's located parent was measured by the
// other's traversal (one of them lies within the other's conflict scope),
// so only those pairs are measured. Items that no counted node covers (the
// root is being deleted) compete for the root: the one of highest floor
// wins, every other item is measured against it, and the other uncovered
// items, whose scopes say nothing, against every item.
//
// pt returns item k's coordinates. place returns the distance evaluations
// it spent.
func (t *Tree[T]) place(items []item, pt func(k int) []T, jobs int) (int64, error) {
	var evals int64
	for k := range items {
		it := &items[k]
		it.dupOf, it.parent, it.state = noRef, noRef, pending
		if it.loc.dup >= 0 {
			it.dupOf, it.state = it.loc.dup, merged
		}
	}
	// A new root, if no counted node covers some items.
	rootItem := -1
	for k := range items {
		it := &items[k]
		if it.state != pending || it.loc.bound != levelInf {
			continue
		}
		if rootItem < 0 || it.floor > items[rootItem].floor ||
			(it.floor == items[rootItem].floor && it.prio > items[rootItem].prio) {
			rootItem = k
		}
	}
	if rootItem >= 0 {
		r := &items[rootItem]
		r.state, r.level, r.parent = placed, levelInf, noRef
		ds := make([]float64, len(items))
		evals += t.parallelDist(len(items), jobs, func(k int) ([]T, []T, bool) {
			return pt(k), pt(rootItem), k != rootItem && items[k].state == pending
		}, ds)
		for k := range items {
			it := &items[k]
			if k == rootItem || it.state != pending {
				continue
			}
			it.nbr = append(it.nbr, neighbor{k: int32(rootItem), d: ds[k]})
			r.nbr = append(r.nbr, neighbor{k: int32(k), d: ds[k]})
			if it.loc.bound == levelInf {
				if ds[k] == 0 {
					it.dupOf, it.state = itemRef(rootItem), merged
					continue
				}
				it.loc.bound = max(t.scale.ceilLog(ds[k]), it.floor+1) - 1
				it.loc.parent, it.loc.pdist = itemRef(rootItem), ds[k]
				it.wide = true
			}
		}
	}
	evals += t.measureConflicts(items, pt, jobs)

	// Levels, top down.
	var queue levelQueue
	for k := range items {
		if items[k].state == pending {
			queue.push(levelEntry{level: items[k].loc.bound, k: int32(k)})
		}
	}
	var examined, forced, open []int
	var mis misScratch
	for queue.Len() > 0 {
		level := queue.entries[0].level
		examined = examined[:0]
		for queue.Len() > 0 && queue.entries[0].level == level {
			examined = append(examined, int(queue.pop().k))
		}
		forced, open = forced[:0], open[:0]
		for _, k := range examined {
			if items[k].floor == level {
				forced = append(forced, k)
			}
		}
		for _, k := range forced {
			t.settle(items, k, level)
		}
		for _, k := range examined {
			if items[k].state == pending && !t.excluded(items, k, level, &queue) {
				open = append(open, k)
			}
		}
		chosen := mis.run(items, open, t.scale.pow(level))
		for _, k := range chosen {
			t.settle(items, k, level)
		}
		for _, k := range open {
			if items[k].state == pending {
				t.excluded(items, k, level, &queue)
			}
		}
	}
	for k := range items {
		it := &items[k]
		if it.state == placed && it.parent == noRef && k != rootItem {
			return evals, fmt.Errorf("core: internal error: item %d placed at level %d without a parent", k, it.level)
		}
		if it.state == pending {
			return evals, fmt.Errorf("core: internal error: item %d was never placed", k)
		}
	}
	return evals, nil
}

// excluded reports whether item k, examined at level, lies within b^level
// of a placed item, which forbids it that level. If so it becomes a
// duplicate (distance zero) or is queued at the highest lower level that
// keeps it apart from every placed neighbour.
func (t *Tree[T]) excluded(items []item, k int, level int32, queue *levelQueue) bool {
	it := &items[k]
	lim := t.scale.pow(level)
	next := level
	hit := false
	for _, nb := range it.nbr {
		z := &items[nb.k]
		if z.state != placed {
			continue
		}
		if nb.d == 0 {
			it.dupOf, it.state = itemRef(int(nb.k)), merged
			return true
		}
		if nb.d <= lim {
			hit = true
		}
		next = min(next, t.scale.ceilLog(nb.d)-1)
	}
	if !hit {
		return false
	}
	next = min(next, level-1)
	if next < it.floor {
		// Cannot happen: placed items keep clear of every floor.
		next = it.floor
	}
	queue.push(levelEntry{level: next, k: int32(k)})
	return true
}

// settle places item k at level with the nearest valid parent: a node or
// placed item of higher level within b^(level+1).
func (t *Tree[T]) settle(items []item, k int, level int32) {
	it := &items[k]
	it.state, it.level = placed, level
	lim := t.scale.pow(level + 1)
	it.parent, it.pdist = noRef, 0
	best := -1.0
	if p := it.loc.parent; p != noRef && within(it.loc.pdist, lim) {
		if j, ok := refItem(p); !ok || items[j].level > level {
			it.parent, best = p, it.loc.pdist
		}
	}
	for _, nb := range it.nbr {
		z := &items[nb.k]
		if z.state == placed && z.level > level && within(nb.d, lim) && (best < 0 || nb.d < best) {
			it.parent, best = itemRef(int(nb.k)), nb.d
		}
	}
	it.pdist = best
}

// appendPair appends v to nb, whose pairs from at on belong to the item
// being measured, and returns nb and at again. Where nb is full, the
// item's pairs move to a new buffer twice as large and the earlier items'
// pairs stay where they are: appending to one buffer per worker had
// copied every pair found so far at each doubling (8% of a 10% deletion
// from letter's tree).
func appendPair(nb []neighbor, at int, v neighbor) ([]neighbor, int) {
	if len(nb) == cap(nb) {
		grown := make([]neighbor, len(nb)-at, max(2*cap(nb), 1024))
		copy(grown, nb[at:])
		nb, at = grown, 0
	}
	return append(nb, v), at
}

// byParent lists the pending items of a batch by located parent: a linked
// list per parent slot, the items of one parent from the last to the
// first. A batch small against the tree keeps the lists' heads in a map
// instead of an array over every slot, which an insertion of a few points
// into a tree of a million had spent most of its time filling.
type byParent struct {
	head  []int32         // slot -> first item, or -1
	small map[int32]int32 // slot -> first item, where head is nil
	next  []int32         // item -> next item of the same parent, or -1
}

// byParentMap is the tree size, in items of the batch, above which
// byParent keeps its heads in a map.
const byParentMap = 256

// newByParent lists items by parent, for a tree of the given slots, in a
// map if small.
func newByParent(items []item, slots int32, small bool) *byParent {
	b := &byParent{next: make([]int32, len(items))}
	if small {
		b.small = make(map[int32]int32)
	} else {
		b.head = make([]int32, slots)
		for i := range b.head {
			b.head[i] = -1
		}
	}
	for k := range items {
		it := &items[k]
		b.next[k] = -1
		if it.state == pending && !it.wide && it.loc.parent >= 0 {
			b.next[k] = b.first(it.loc.parent)
			if b.head != nil {
				b.head[it.loc.parent] = int32(k)
			} else {
				b.small[it.loc.parent] = int32(k)
			}
		}
	}
	return b
}

// first returns the first item of parent p's list, or -1.
func (b *byParent) first(p int32) int32 {
	if b.head != nil {
		return b.head[p]
	}
	if y, ok := b.small[p]; ok {
		return y
	}
	return -1
}

// measureConflicts finds the pairs of pending items that may conflict and
// records their distances as neighbours of both. Items x and y can only
// conflict at a level k <= min(bound(x), bound(y)), within b^k; then, if
// bound(x) <= bound(y), y's located parent p (of level > bound(y), within
// b^(bound(y)+1) <= b^level(p) of y) lies within b^bound(x) + b^level(p)
// of x, inside the keep radius of x's traversal at p's level, so x
// measured it. So the pairs are: y whose parent was measured by x, with
// bound(y) >= bound(x) (ties counted once), and not already ruled out by
// the triangle inequality through p, |d(x,p) - d(y,p)| > b^bound(x).
func (t *Tree[T]) measureConflicts(items []item, pt func(k int) []T, jobs int) int64 {
	// Items by located parent: a linked list per parent slot.
	byp := newByParent(items, t.s.slots, int64(len(items))*byParentMap < int64(t.s.slots))
	// Each item finds and measures its pairs in parallel; the lists are
	// merged in item order, so the outcome does not depend on scheduling.
	// Each worker appends its items' pairs to one buffer of its own.
	found := make([][]neighbor, len(items))
	counts := make([]int64, max(jobs, 1))
	bufs := make([][]neighbor, max(jobs, 1))
	forRange(len(items), jobs, func(w, lo, hi int) {
		for k := lo; k < hi; k++ {
			it := &items[k]
			if it.state != pending {
				continue
			}
			at := len(bufs[w])
			nb := bufs[w]
			if it.wide {
				// Its scope says nothing: it was located without a parent.
				for y := range items {
					if y != k && items[y].state == pending && (!items[y].wide || y > k) {
						nb, at = appendPair(nb, at, neighbor{k: int32(y), d: t.dist(pt(k), pt(y))})
					}
				}
			} else {
				t.candidates(items, byp, k, func(y int32) {
					nb, at = appendPair(nb, at, neighbor{k: y, d: t.dist(pt(k), pt(int(y)))})
				})
			}
			bufs[w] = nb
			found[k] = nb[at:len(nb):len(nb)]
			counts[w] += int64(len(found[k]))
		}
	})
	evals := sum(counts)
	// Each item's neighbours in one block of a shared array, sized first,
	// so that the appends below, in the same order as ever, allocate
	// nothing.
	size := make([]int, len(items))
	total := 0
	for k, nb := range found {
		size[k] += len(items[k].nbr) + len(nb)
		total += len(items[k].nbr) + 2*len(nb)
		for _, x := range nb {
			size[x.k]++
		}
	}
	all := make([]neighbor, total)
	for k := range items {
		at := copy(all, items[k].nbr)
		items[k].nbr, all = all[:at:size[k]], all[size[k]:]
	}
	for k, nb := range found {
		for _, x := range nb {
			items[k].nbr = append(items[k].nbr, x)
			items[x.k].nbr = append(items[x.k].nbr, neighbor{k: int32(k), d: x.d})
		}
	}
	return evals
}

// candidates calls pair(y) for every item y that item k, pending and
// located under a parent, is measured against for conflicts (see
// measureConflicts): each item y listed under a node of k's scope (byp),
// of bound at least k's (ties counted once, from the lower item), and not
// ruled out by the triangle inequality through that node.
func (t *Tree[T]) candidates(items []item, byp *byParent, k int, pair func(y int32)) {
	it := &items[k]
	lim := t.scale.pow(it.loc.bound) * (1 + slack)
	for i, p := range it.loc.seen {
		// The scope holds the nodes that can be parents of conflicting
		// items (trimScope); this asks which are.
		first := byp.first(p)
		if first < 0 {
			continue
		}
		dxp := it.loc.seenD[i]
		for y := first; y >= 0; y = byp.next[y] {
			yt := &items[y]
			if int(y) == k || yt.loc.bound < it.loc.bound || (yt.loc.bound == it.loc.bound && int(y) < k) {
				continue
			}
			if dxp-yt.loc.pdist > lim || yt.loc.pdist-dxp > lim {
				continue
			}
			pair(y)
		}
	}
}

// batchCut returns how many of a batch's located items, in the batch's
// random order, to insert at once: all of them, unless the pairs
// measureConflicts would measure exceed both conflictBudget an item and
// the distances the location measured (located). A batch
// no larger than an eighth of the tree is sparse in it where its points
// are spread like the tree's (a tenth of a real set held out at random:
// 0.15 and 0.4 pairs an item in the zip codes and bunny, 4.3 in letter),
// but points that fill a region the tree barely covers (the last rows of
// a file sorted by place, a new scan) conflict with most of each other:
// the last 10% of the zip codes had 391 pairs an item, and their
// insertion took 10 to 20 times as long as a random tenth's. Counting a
// random tenth's sample costs 40-100 µs, under 0.5% of its insertion. A random part of
// the batch holds fewer pairs by the square of its share, so the part
// inserted now is sized to the budget; the rest goes into the grown tree
// in the following batches (prefix doubling within the region), located
// again. Where locating costs more than the pairs (crowded points in
// eight dimensions and more), cutting would only trade the pairs for
// locations, and the batch goes in whole.
func (t *Tree[T]) batchCut(items []item, located int64, jobs int) int {
	m := len(items)
	if m <= cutMin {
		return m
	}
	// Items without a covering node pair with every other (place's wide
	// items); the others with the candidates under their scopes.
	live, wide := 0, 0
	for k := range items {
		if items[k].loc.dup < 0 {
			live++
			if items[k].loc.bound == levelInf {
				wide++
			}
		}
	}
	// The others' pairs, estimated from a sample: the first cutSample
	// items (a random sample: the batch is in random order) count their
	// candidates, each pair once from one of its items, so the mean count
	// times m estimates the batch's. Counting every item's had taken the
	// zip codes' last tenth half its insertion time.
	byp := newByParent(items, t.s.slots, int64(m)*byParentMap < int64(t.s.slots))
	s := min(m, cutSample)
	counts := make([]int64, max(jobs, 1))
	forRange(s, jobs, func(w, lo, hi int) {
		c := int64(0)
		for k := lo; k < hi; k++ {
			if it := &items[k]; it.loc.dup < 0 && it.loc.bound != levelInf {
				t.candidates(items, byp, k, func(int32) { c++ })
			}
		}
		counts[w] += c
	})
	load := int64(wide)*int64(live) + sum(counts)*int64(m)/int64(s)
	budget := conflictBudget * int64(m)
	if load <= budget || load <= located {
		// Few pairs, or fewer than the distances the location took,
		// which the items left for later batches would take again.
		return m
	}
	// A random part of k items holds about load (k/m)^2 pairs, within its
	// own budget (budget k/m) for k <= budget m / load.
	return min(max(int(budget*int64(m)/load), cutMin), m)
}

const (
	// conflictBudget is the conflict pairs an item a batch may hold
	// before batchCut inserts only part of it.
	conflictBudget = 32
	// cutMin is the fewest items batchCut leaves in a batch.
	cutMin = 64
	// cutSample is the items whose candidates batchCut counts.
	cutSample = 512
)

// levelEntry queues item k for examination at level.
type levelEntry struct {
	level int32
	k     int32
}

// levelQueue is a max-heap of levels (ties by item, for determinism),
// typed so that pushing and popping box nothing.
type levelQueue struct{ entries []levelEntry }

func (q *levelQueue) Len() int { return len(q.entries) }

// before reports whether entry i comes out before entry j.
func (q *levelQueue) before(i, j int) bool {
	a, b := q.entries[i], q.entries[j]
	return a.level > b.level || (a.level == b.level && a.k < b.k)
}

// push adds e.
func (q *levelQueue) push(e levelEntry) {
	q.entries = append(q.entries, e)
	for i := len(q.entries) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.before(i, p) {
			break
		}
		q.entries[i], q.entries[p] = q.entries[p], q.entries[i]
		i = p
	}
}

// pop removes and returns the first entry; q must not be empty.
func (q *levelQueue) pop() levelEntry {
	e := q.entries[0]
	n := len(q.entries) - 1
	q.entries[0] = q.entries[n]
	q.entries = q.entries[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && q.before(c+1, c) {
			c++
		}
		if !q.before(c, i) {
			break
		}
		q.entries[i], q.entries[c] = q.entries[c], q.entries[i]
		i = c
	}
	return e
}

// parallelDist sets out[i] to the distance between the two points pair(i)
// returns, for each i < n it marks to measure, on jobs goroutines. It
// returns the number measured.
func (t *Tree[T]) parallelDist(n, jobs int, pair func(i int) ([]T, []T, bool), out []float64) int64 {
	counts := make([]int64, max(jobs, 1))
	forRange(n, jobs, func(w, lo, hi int) {
		for i := lo; i < hi; i++ {
			if a, b, ok := pair(i); ok {
				out[i] = t.dist(a, b)
				counts[w]++
			}
		}
	})
	return sum(counts)
}
