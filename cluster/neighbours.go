package cluster

import "math"

// neighbours records, per node, what DBSCAN's count of its neighbourhood
// met within eps: other nodes within eps and subtrees counted whole
// (every point of them within eps), up to a fixed number of entries.
//
// The count of a node that is not a core point runs to the end, so its
// record holds its whole neighbourhood unless it overflowed: its border
// label then comes from the record, without a second search. The record
// of a core point holds the part its count met before it stopped: every
// core point in it is joined to the node's cluster at once, so that the
// spanning forest's search starts from few components.
type neighbours struct {
	width int
	ent   []int32 // width entries per node: a node k, or wholeSubtree(k)
	cnt   []int32 // entries recorded per node
	over  []bool  // the node met more than width entries, or was not counted
}

// neighbourWidth is the most entries recorded per node: a count that
// stops below min_samples meets fewer than min_samples nodes and
// subtrees (each holds a point, unless weights are fractional), so
// min_samples entries make the records of the points that are not core
// points complete, within a bound on memory.
const neighbourWidth = 32

func newNeighbours(n, minSamples int) *neighbours {
	w := min(max(minSamples, 4), neighbourWidth)
	nb := &neighbours{width: w, ent: make([]int32, n*w), cnt: make([]int32, n), over: make([]bool, n)}
	for k := range nb.over {
		nb.over[k] = true // not counted yet
	}
	return nb
}

// wholeSubtree encodes node k's subtree as an entry (nodes are >= 0).
func wholeSubtree(k int32) int32 { return -1 - k }

// entries returns node q's record.
func (nb *neighbours) entries(q int32) []int32 {
	o := int(q) * nb.width
	return nb.ent[o : o+int(nb.cnt[q])]
}

// recordLabel returns the label a point that is not a core point takes
// from its record q when the record holds its whole neighbourhood: the
// lowest label among the core points and whole core subtrees recorded
// (an entry e < 0 is subtree -1-e, labelled by minLab), or false when it
// records no core point (noise).
func (nb *neighbours) recordLabel(q int32, isCore []bool, label, minLab []int32) (int32, bool) {
	best := int32(math.MaxInt32)
	for _, e := range nb.entries(q) {
		switch {
		case e < 0:
			best = min(best, minLab[-1-e])
		case isCore[e]:
			best = min(best, label[e])
		}
	}
	return best, best != math.MaxInt32
}

// recorder fills one node's record during its count.
type recorder struct {
	out  []int32
	m    int
	over bool
	nb   *neighbours
	q    int32
}

func (nb *neighbours) start(q int32) recorder {
	o := int(q) * nb.width
	return recorder{out: nb.ent[o : o+nb.width], nb: nb, q: q}
}

// add records an entry.
func (r *recorder) add(e int32) {
	if r.m < len(r.out) {
		r.out[r.m] = e
		r.m++
	} else {
		r.over = true
	}
}

// reset replaces the record by one entry that holds everything recorded
// so far (an ancestor's subtree, counted whole).
func (r *recorder) reset(e int32) {
	r.out[0], r.m, r.over = e, 1, false
}

// finish stores the record; stopped tells that the count may have
// stopped before it met everything within eps.
func (r *recorder) finish(stopped bool) {
	r.nb.cnt[r.q], r.nb.over[r.q] = int32(r.m), r.over || stopped
}

// joinRecorded unites each core node with the core nodes its record holds:
// all are within eps of it. A subtree in a record is walked once: then its
// core nodes are in one component (joined[k] for each node k of it), and
// a later record of it or of a subtree below joins one of its core nodes.
func (f *flatTree[T]) joinRecorded(b *boruvka[T], nb *neighbours, isCore []bool) {
	firstCore := make([]int32, f.n) // a core node of each subtree, -1 for none
	for k := f.n - 1; k >= 0; k-- {
		fc := int32(-1)
		if isCore[k] {
			fc = int32(k)
		}
		for c := f.kidLo[k]; c < f.kidHi[k] && fc < 0; c++ {
			fc = firstCore[c]
		}
		firstCore[k] = fc
	}
	joined := make([]bool, f.n)
	var stack []int32
	for q := range int32(f.n) {
		if !isCore[q] {
			continue
		}
		for _, e := range nb.entries(q) {
			if e >= 0 {
				if isCore[e] {
					b.union(q, e)
				}
				continue
			}
			s := -1 - e
			if firstCore[s] < 0 {
				continue
			}
			stack = append(stack[:0], s)
			for len(stack) > 0 {
				y := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if joined[y] {
					if firstCore[y] >= 0 {
						b.union(q, firstCore[y])
					}
					continue
				}
				joined[y] = true
				if firstCore[y] < 0 {
					continue
				}
				if isCore[y] {
					b.union(q, y)
				}
				for c := f.kidLo[y]; c < f.kidHi[y]; c++ {
					stack = append(stack, c)
				}
			}
		}
	}
}
