package core

import (
	"math"
	"slices"
	"sort"
)

// The brute-force side of a SparseIndex: its rows in segments, each with
// an inverted index (for each column, the rows that store it), so that a
// query's dot products (or, for Manhattan, the corrections of its shared
// columns) with every row cost only the postings of its own columns.
// Every row then gets an approximate distance with a proven error bound;
// the rows whose bounds reach the k-th smallest upper bound (or the
// radius) are measured exactly with the kernel a tree uses, so the answers
// are those of the exact distances, ties by caller index.

// sparseSeg is an immutable block of rows of a brute-force SparseIndex,
// but for live, which an update copies before changing.
type sparseSeg struct {
	ids  []int32 // caller index of each row, ascending
	pos  []int32 // store position of each row
	live []uint64
	// nlive is the number of live rows.
	nlive int
	// cols lists the columns stored by some row, ascending; the rows that
	// store cols[c] are prow[cptr[c]:cptr[c+1]], with their values pval.
	cols []int32
	cptr []int32
	prow []int32
	pval []float64
	// Per row: sum of squares, its root, the sum of absolute values and
	// the number of stored values.
	sq, nrm, l1 []float64
	nnz         []int32
}

// newSparseSeg builds a segment of the rows at positions pos with caller
// indices ids (ascending).
func newSparseSeg[T Float](store *rowStore[T], ids, pos []int32) *sparseSeg {
	n := len(ids)
	g := &sparseSeg{ids: ids, pos: pos, live: make([]uint64, (n+63)/64), nlive: n,
		sq: make([]float64, n), nrm: make([]float64, n), l1: make([]float64, n),
		nnz: make([]int32, n)}
	for i := range n {
		g.live[i/64] |= 1 << (i % 64)
	}
	counts := map[int32]int32{}
	for i, p := range pos {
		r := store.row(p)
		g.sq[i], g.nrm[i], g.l1[i], g.nnz[i] = r.sq, r.nrm, r.l1, int32(len(r.idx))
		for _, c := range r.idx {
			counts[c]++
		}
	}
	g.cols = make([]int32, 0, len(counts))
	for c := range counts {
		g.cols = append(g.cols, c)
	}
	slices.Sort(g.cols)
	g.cptr = make([]int32, len(g.cols)+1)
	for j, c := range g.cols {
		g.cptr[j+1] = g.cptr[j] + counts[c]
	}
	fill := slices.Clone(g.cptr[:len(g.cols)])
	total := g.cptr[len(g.cols)]
	g.prow, g.pval = make([]int32, total), make([]float64, total)
	for i, p := range pos {
		r := store.row(p)
		for e, c := range r.idx {
			j, _ := slices.BinarySearch(g.cols, c)
			g.prow[fill[j]], g.pval[fill[j]] = int32(i), float64(r.val[e])
			fill[j]++
		}
	}
	return g
}

func (g *sparseSeg) isLive(i int) bool { return g.live[i/64]&(1<<(i%64)) != 0 }

// find returns the row of caller index id in g, or -1.
func (g *sparseSeg) find(id int32) int {
	i, ok := slices.BinarySearch(g.ids, id)
	if !ok || !g.isLive(i) {
		return -1
	}
	return i
}

// sparseScratch is a worker's memory for brute-force queries.
type sparseScratch struct {
	acc    []float64
	lo, up []float64 // per row of all segments: bounds of the approximate value
	heap   []float64 // max-heap of the k smallest upper bounds
	top    topK
	rd     []float64
	rid    []int32
}

// sparseBound returns the bound on the difference between the screened
// value of a row (|q|^2 + |x|^2 - 2 q.x, or for Manhattan |q|_1 + |x|_1
// minus the shared columns' corrections) and the sum the exact kernel
// computes (sparseSums), for rows of nq and nx stored values: every sum
// of n rounded terms is within gamma(n) of its terms' absolute sum, the
// exact kernel's included; a factor of 2 covers the few roundings of
// combining them, and the absolute term the underflow of products.
func sparseBound(kind MetricKind, nnz int, qn, xn, ql1, xl1 float64) float64 {
	g := 2 * gamma(nnz+8, 0x1p-53)
	if kind == Manhattan {
		return 4*g*(ql1+xl1) + float64(nnz+8)*0x1p-1000
	}
	s := qn + xn
	return 4*g*s*s + float64(nnz+8)*0x1p-1000
}

// screen computes, for every row of the segments, bounds lo and up on the
// sum the exact kernel computes between q and it, and returns them in the
// scratch, the rows of segment s starting at offs[s]. Deleted rows and the
// row of caller index exclude get lo = +Inf.
func screenSparse[T Float](kind MetricKind, segs []*sparseSeg, offs []int, q *sparseRow[T], exclude int32, s *sparseScratch) {
	total := offs[len(offs)-1]
	s.lo = slices.Grow(s.lo[:0], total)[:total]
	s.up = slices.Grow(s.up[:0], total)[:total]
	nq := len(q.idx)
	for si, g := range segs {
		m := len(g.ids)
		acc := slices.Grow(s.acc[:0], m)[:m]
		clear(acc)
		s.acc = acc
		// The postings of the query's columns.
		j := 0
		for e, c := range q.idx {
			k, ok := slices.BinarySearch(g.cols[j:], c)
			j += k
			if !ok {
				continue
			}
			v := float64(q.val[e])
			ps, pe := g.cptr[j], g.cptr[j+1]
			if kind == Manhattan {
				av := math.Abs(v)
				for p := ps; p < pe; p++ {
					x := g.pval[p]
					acc[g.prow[p]] += av + math.Abs(x) - math.Abs(v-x)
				}
			} else {
				for p := ps; p < pe; p++ {
					acc[g.prow[p]] += v * g.pval[p]
				}
			}
		}
		lo, up := s.lo[offs[si]:offs[si]+m], s.up[offs[si]:offs[si]+m]
		for i := range m {
			if !g.isLive(i) || g.ids[i] == exclude {
				lo[i], up[i] = math.Inf(1), math.Inf(1)
				continue
			}
			var v, e float64
			n := nq + int(g.nnz[i])
			if kind == Manhattan {
				v = q.l1 + g.l1[i] - acc[i]
				e = sparseBound(kind, n, 0, 0, q.l1, g.l1[i])
			} else {
				v = q.sq + g.sq[i] - 2*acc[i]
				e = sparseBound(kind, n, q.nrm, g.nrm[i], 0, 0)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) || math.IsInf(e, 0) {
				lo[i], up[i] = 0, math.Inf(1) // overflow: measure it
				continue
			}
			lo[i], up[i] = max(v-e, 0), v+e
		}
	}
}

// kthSmallest returns the k-th smallest finite value of up (k >= 1), or
// +Inf if there are fewer, with a bounded max-heap.
func kthSmallest(up []float64, k int, heap []float64) (float64, []float64) {
	h := heap[:0]
	for _, u := range up {
		if len(h) < k {
			h = append(h, u)
			siftUpMax(h, len(h)-1)
		} else if u < h[0] {
			h[0] = u
			siftDownMax(h, 0)
		}
	}
	if len(h) < k {
		return math.Inf(1), h
	}
	return h[0], h
}

// sparseWithin reports whether a row whose exact search distance is at least
// the search distance of lower bound lo on its sum may be at most bound
// (a search distance): for Euclidean sums the distance is a root, and the
// comparison is made after it, which rounding keeps monotone.
func sparseWithin(kind MetricKind, lo, bound float64) bool {
	if kind == Manhattan {
		return lo <= bound
	}
	return lo <= bound*bound || math.Sqrt(lo) <= bound
}

// searchBound returns the search distance whose sum is up (the inverse of
// sparseWithin's conversion).
func searchBound(kind MetricKind, up float64) float64 {
	if kind == Manhattan {
		return up
	}
	return math.Sqrt(up)
}

// segmentsOffsets returns the start of each segment's rows in the scratch,
// and the total.
func segmentsOffsets(segs []*sparseSeg) []int {
	offs := make([]int, len(segs)+1)
	for i, g := range segs {
		offs[i+1] = offs[i] + len(g.ids)
	}
	return offs
}

// bruteKNearest keeps in s.top the k nearest rows of q (by exact search
// distance, then caller index), leaving out exclude.
func bruteKNearest[T Float](x *SparseIndex[T], offs []int, q *sparseRow[T], exclude int32, k int, s *sparseScratch) int64 {
	kind := x.space.kind
	screenSparse(kind, x.segs, offs, q, exclude, s)
	var u float64
	u, s.heap = kthSmallest(s.up, k, s.heap)
	bound := searchBound(kind, u)
	s.top.reset(k)
	var evals int64
	for si, g := range x.segs {
		lo := s.lo[offs[si] : offs[si]+len(g.ids)]
		for i, l := range lo {
			if math.IsInf(l, 1) || !sparseWithin(kind, l, bound) {
				continue
			}
			d := sparseDistance(kind, q, x.space.store.row(g.pos[i]), x.space.cols)
			evals++
			s.top.offer(d, g.ids[i])
		}
	}
	return evals
}

// bruteWithin appends to s.rd and s.rid the rows within search distance r
// of q (by caller index), leaving out exclude; with countOnly it only
// counts them.
func bruteWithin[T Float](x *SparseIndex[T], offs []int, q *sparseRow[T], exclude int32, r float64, s *sparseScratch) (int64, int64) {
	kind := x.space.kind
	screenSparse(kind, x.segs, offs, q, exclude, s)
	s.rd, s.rid = s.rd[:0], s.rid[:0]
	var evals int64
	for si, g := range x.segs {
		lo := s.lo[offs[si] : offs[si]+len(g.ids)]
		for i, l := range lo {
			if math.IsInf(l, 1) || !sparseWithin(kind, l, r) {
				continue
			}
			d := sparseDistance(kind, q, x.space.store.row(g.pos[i]), x.space.cols)
			evals++
			if d <= r {
				s.rd = append(s.rd, d)
				s.rid = append(s.rid, g.ids[i])
			}
		}
	}
	return int64(len(s.rd)), evals
}

// locate returns the segment and row of caller index id, or (-1, -1).
func locate(segs []*sparseSeg, id int32) (int, int) {
	si := sort.Search(len(segs), func(i int) bool {
		g := segs[i]
		return len(g.ids) > 0 && g.ids[len(g.ids)-1] >= id
	})
	if si == len(segs) {
		return -1, -1
	}
	if i := segs[si].find(id); i >= 0 {
		return si, i
	}
	return -1, -1
}
