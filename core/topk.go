package core

// topK keeps the k smallest (distance, index) pairs seen, ordered first by
// distance, then by caller index. For k up to sortedK they are kept in an
// array sorted ascending, where a pair entering moves the farther ones up
// by one (a few entries, in a loop whose branches predict well); for
// larger k in a binary max-heap, where it costs O(log k) (a depth-first
// search finds ever nearer points, each of which would shift nearly the
// whole array).
type topK struct {
	k      int
	sorted bool
	e      []entry
}

// sortedK is the largest k a topK keeps in a sorted array. Inserting into
// the array costs about k/2 moves against log2(k) sift steps of the heap,
// each a mispredicted branch: on the real data sets (k = 10, every point
// queried) the array made the low-dimensional searches faster.
const sortedK = 32

type entry struct {
	d  float64
	id int32
}

func (h *topK) reset(k int) {
	h.k = k
	h.sorted = k <= sortedK
	h.e = h.e[:0]
}

func (h *topK) full() bool { return len(h.e) == h.k }

// worst returns the largest kept distance; the heap must be full.
func (h *topK) worst() float64 {
	if h.sorted {
		return h.e[len(h.e)-1].d
	}
	return h.e[0].d
}

// less reports whether (d1, i1) orders before (d2, i2).
func less(d1 float64, i1 int32, d2 float64, i2 int32) bool {
	return d1 < d2 || (d1 == d2 && i1 < i2)
}

// offer adds (d, id) if it is among the k smallest so far. It returns false
// when the heap is full and (d, id) orders after its worst pair, so callers
// offering ascending indices at one distance can stop.
func (h *topK) offer(d float64, id int32) bool {
	if h.sorted {
		return h.insert(d, id)
	}
	if len(h.e) < h.k {
		h.e = append(h.e, entry{d: d, id: id})
		h.up(len(h.e) - 1)
		return true
	}
	if !less(d, id, h.e[0].d, h.e[0].id) {
		return false
	}
	h.e[0] = entry{d: d, id: id}
	h.down(0)
	return true
}

// insert is offer for a sorted array.
func (h *topK) insert(d float64, id int32) bool {
	e := h.e
	j := len(e)
	if j == h.k {
		if j == 0 || !less(d, id, e[j-1].d, e[j-1].id) {
			return false
		}
		j-- // the last pair leaves
	} else {
		e = append(e, entry{})
		h.e = e
	}
	for ; j > 0 && less(d, id, e[j-1].d, e[j-1].id); j-- {
		e[j] = e[j-1]
	}
	e[j] = entry{d: d, id: id}
	return true
}

func (h *topK) up(j int) {
	e := h.e
	x := e[j]
	for j > 0 {
		p := (j - 1) / 2
		if !less(e[p].d, e[p].id, x.d, x.id) {
			break
		}
		e[j] = e[p]
		j = p
	}
	e[j] = x
}

// down sifts entry j down to its place, moving the hole rather than
// swapping.
func (h *topK) down(j int) {
	e := h.e
	n := len(e)
	if j >= n {
		return
	}
	x := e[j]
	for {
		c := 2*j + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && less(e[c].d, e[c].id, e[r].d, e[r].id) {
			c = r
		}
		if !less(x.d, x.id, e[c].d, e[c].id) {
			break
		}
		e[j] = e[c]
		j = c
	}
	e[j] = x
}

// drain empties the heap into d and id in ascending order; both must have
// room for every kept pair. It returns the number written.
func (h *topK) drain(d []float64, id []int32) int {
	n := len(h.e)
	if h.sorted {
		for i, x := range h.e {
			d[i], id[i] = x.d, x.id
		}
		h.e = h.e[:0]
		return n
	}
	for i := n - 1; i >= 0; i-- {
		d[i], id[i] = h.e[0].d, h.e[0].id
		last := len(h.e) - 1
		h.e[0] = h.e[last]
		h.e = h.e[:last]
		h.down(0)
	}
	return n
}
