package core

// topK keeps the k smallest (distance, index) pairs seen, ordered first by
// distance, then by caller index, in a binary max-heap. (A sorted array
// looks cheaper for small k, but a depth-first search finds ever nearer
// points, each of which would shift nearly the whole array.)
type topK struct {
	k int
	e []entry
}

type entry struct {
	d  float64
	id int32
}

func (h *topK) reset(k int) {
	h.k = k
	h.e = h.e[:0]
}

func (h *topK) full() bool { return len(h.e) == h.k }

// worst returns the largest kept distance; the heap must be full.
func (h *topK) worst() float64 { return h.e[0].d }

// less reports whether (d1, i1) orders before (d2, i2).
func less(d1 float64, i1 int32, d2 float64, i2 int32) bool {
	return d1 < d2 || (d1 == d2 && i1 < i2)
}

// offer adds (d, id) if it is among the k smallest so far. It returns false
// when the heap is full and (d, id) orders after its worst pair, so callers
// offering ascending indices at one distance can stop.
func (h *topK) offer(d float64, id int32) bool {
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
	for i := n - 1; i >= 0; i-- {
		d[i], id[i] = h.e[0].d, h.e[0].id
		last := len(h.e) - 1
		h.e[0] = h.e[last]
		h.e = h.e[:last]
		h.down(0)
	}
	return n
}
