package core

// topK keeps the k smallest (distance, index) pairs seen, ordered first by
// distance, then by caller index, as a binary max-heap.
type topK struct {
	k  int
	d  []float64
	id []int32
}

func (h *topK) reset(k int) {
	h.k = k
	h.d = h.d[:0]
	h.id = h.id[:0]
}

func (h *topK) full() bool { return len(h.d) == h.k }

// worst returns the largest kept distance; the heap must be full.
func (h *topK) worst() float64 { return h.d[0] }

// less reports whether (d1, i1) orders before (d2, i2).
func less(d1 float64, i1 int32, d2 float64, i2 int32) bool {
	return d1 < d2 || (d1 == d2 && i1 < i2)
}

// offer adds (d, id) if it is among the k smallest so far. It returns false
// when the heap is full and (d, id) orders after its worst pair, so callers
// offering ascending indices at one distance can stop.
func (h *topK) offer(d float64, id int32) bool {
	if len(h.d) < h.k {
		h.d = append(h.d, d)
		h.id = append(h.id, id)
		h.up(len(h.d) - 1)
		return true
	}
	if !less(d, id, h.d[0], h.id[0]) {
		return false
	}
	h.d[0], h.id[0] = d, id
	h.down(0)
	return true
}

func (h *topK) up(j int) {
	for j > 0 {
		p := (j - 1) / 2
		if !less(h.d[p], h.id[p], h.d[j], h.id[j]) {
			return
		}
		h.d[p], h.d[j] = h.d[j], h.d[p]
		h.id[p], h.id[j] = h.id[j], h.id[p]
		j = p
	}
}

func (h *topK) down(j int) {
	n := len(h.d)
	for {
		l := 2*j + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && less(h.d[l], h.id[l], h.d[r], h.id[r]) {
			c = r
		}
		if !less(h.d[j], h.id[j], h.d[c], h.id[c]) {
			return
		}
		h.d[j], h.d[c] = h.d[c], h.d[j]
		h.id[j], h.id[c] = h.id[c], h.id[j]
		j = c
	}
}

// drain empties the heap into d and id in ascending order; both must have
// room for every kept pair. It returns the number written.
func (h *topK) drain(d []float64, id []int32) int {
	n := len(h.d)
	for i := n - 1; i >= 0; i-- {
		d[i], id[i] = h.d[0], h.id[0]
		last := len(h.d) - 1
		h.d[0], h.id[0] = h.d[last], h.id[last]
		h.d, h.id = h.d[:last], h.id[:last]
		h.down(0)
	}
	return n
}
