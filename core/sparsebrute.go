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
	// maxnnz is the most stored values of a row.
	maxnnz int
}

// newSparseSeg builds a segment of the rows at positions pos with caller
// indices ids (ascending).
func newSparseSeg[T Float](store *rowStore[T], ids, pos []int32) *sparseSeg {
	n := len(ids)
	g := &sparseSeg{ids: ids, pos: pos, live: make([]uint64, (n+63)/64), nlive: n,
		sq: make([]float64, n), nrm: make([]float64, n), l1: make([]float64, n)}
	for i := range n {
		g.live[i/64] |= 1 << (i % 64)
	}
	counts := map[int32]int32{}
	for i, p := range pos {
		r := store.row(p)
		g.sq[i], g.nrm[i], g.l1[i] = r.sq, r.nrm, r.l1
		g.maxnnz = max(g.maxnnz, len(r.idx))
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
	acc  []float64
	heap []float64 // max-heap of the k smallest upper bounds
	cand []sparseCand
	top  topK
	rd   []float64
	rid  []int32
	ans  answerArena // where the radius answers are kept and sorted
}

// sparseCand is a row that may be among a query's answers: its segment,
// row and the lower bound of its sum.
type sparseCand struct {
	seg, row int32
	lo       float64
}

// candSlack widens the comparisons of lower bounds with the k-th upper
// bound or the radius: a search distance is the rounded root of the
// kernel's sum (or, near float64's limits, a rescaled computation of it),
// within a few ulps of the root of any bound on the sum.
const candSlack = 1 + 0x1p-46

// sparseBound returns the factor c and the term a of the bound c*s + a on
// the difference between the screened value of a row (|q|^2 + |x|^2 -
// 2 q.x with s = (|q| + |x|)^2, or for Manhattan |q|_1 + |x|_1 less the
// shared columns' corrections, with s = |q|_1 + |x|_1) and the sum the
// exact kernel computes (sparseSums), for rows of at most nnz stored
// values together: every sum of n rounded terms is within gamma(n) of its
// terms' absolute sum, the exact kernel's included; the factors cover the
// few roundings of combining them, and a the underflow of products.
func sparseBound(nnz int) (c, a float64) {
	g := 2 * gamma(nnz+8, 0x1p-53)
	return 4 * g, float64(nnz+8) * 0x1p-1000
}

// screenSegment computes into s.acc, for every row of segment g, the
// correction of q's shared columns: their dot product (Euclidean) or the
// sum of |q_c| + |x_c| - |q_c - x_c| (Manhattan), from the postings of q's
// columns.
func screenSegment[T Float](kind MetricKind, g *sparseSeg, q *sparseRow[T], s *sparseScratch) []float64 {
	m := len(g.ids)
	acc := slices.Grow(s.acc[:0], m)[:m]
	clear(acc)
	s.acc = acc
	j := 0
	for e, c := range q.idx {
		k, ok := slices.BinarySearch(g.cols[j:], c)
		j += k
		if !ok {
			continue
		}
		v := float64(q.val[e])
		ps, pe := g.cptr[j], g.cptr[j+1]
		rows, vals := g.prow[ps:pe], g.pval[ps:pe]
		if kind == Manhattan {
			av := math.Abs(v)
			for p, r := range rows {
				x := vals[p]
				acc[r] += av + math.Abs(x) - math.Abs(v-x)
			}
		} else {
			for p, r := range rows {
				acc[r] += v * vals[p]
			}
		}
	}
	return acc
}

// screenRows screens every row of the segments against q (leaving out
// deleted rows and caller index exclude), passing each row's bounds lo
// and up on the kernel's sum to see, which returns the largest lower bound
// still wanted; rows above it are not kept. It appends the kept rows to
// s.cand.
func screenRows[T Float](kind MetricKind, segs []*sparseSeg, q *sparseRow[T], exclude int32, s *sparseScratch, see func(up float64) float64) {
	s.cand = s.cand[:0]
	limit := math.Inf(1)
	cut := limit
	for si, g := range segs {
		acc := screenSegment(kind, g, q, s)
		c, a := sparseBound(len(q.idx) + g.maxnnz)
		m := len(acc)
		ids, live := g.ids[:m], g.live
		// The row's screened value v and its bound e: for Manhattan from
		// the sums of absolute values, else from the squared norms.
		qs, qn, sq, nrm := q.sq, q.nrm, g.sq[:m], g.nrm[:m]
		if kind == Manhattan {
			qs, qn, sq, nrm = q.l1, q.l1, g.l1[:m], g.l1[:m]
		}
		for i, corr := range acc {
			if live[i>>6]&(1<<(i&63)) == 0 || ids[i] == exclude {
				continue
			}
			var v, e float64
			if kind == Manhattan {
				l1 := qs + sq[i]
				v, e = l1-corr, c*l1+a
			} else {
				n := qn + nrm[i]
				v, e = qs+sq[i]-2*corr, c*n*n+a
			}
			up := v + e
			lo := v - e
			if up < limit {
				limit = see(up)
				cut = limit * candSlack
			} else if !(up <= math.MaxFloat64) {
				lo = 0 // overflow (or NaN): measure it
			}
			if lo <= cut {
				s.cand = append(s.cand, sparseCand{seg: int32(si), row: int32(i), lo: lo})
			}
		}
	}
}

// bruteKNearest keeps in s.top the k nearest rows of q (by exact search
// distance, then caller index), leaving out exclude, and returns the exact
// distances it measured. The k-th smallest upper bound U bounds the sum of
// the k-th nearest row; a row whose lower bound exceeds it (with the
// slack of the root) cannot be among the k.
func bruteKNearest[T Float](x *SparseIndex[T], q *sparseRow[T], exclude int32, k int, s *sparseScratch) int64 {
	kind := x.space.kind
	h := s.heap[:0]
	see := func(up float64) float64 {
		if len(h) < k {
			h = append(h, up)
			siftUpMax(h, len(h)-1)
		} else if up < h[0] {
			h[0] = up
			siftDownMax(h, 0)
		}
		if len(h) < k {
			return math.Inf(1)
		}
		return h[0]
	}
	screenRows(kind, x.segs, q, exclude, s, see)
	s.heap = h
	u := math.Inf(1)
	if len(h) == k {
		u = h[0]
	}
	s.top.reset(k)
	var evals int64
	for _, c := range s.cand {
		if c.lo > u*candSlack {
			continue
		}
		g := x.segs[c.seg]
		d := sparseDistance(kind, q, x.space.store.row(g.pos[c.row]), x.space.cols)
		evals++
		s.top.offer(d, g.ids[c.row])
	}
	return evals
}

// bruteWithin sets s.rd and s.rid to the rows within search distance r of
// q (by caller index), leaving out exclude; it returns their number and
// the exact distances it measured.
func bruteWithin[T Float](x *SparseIndex[T], q *sparseRow[T], exclude int32, r float64, s *sparseScratch) (int64, int64) {
	kind := x.space.kind
	sum := r
	if kind != Manhattan {
		sum = r * r
	}
	screenRows(kind, x.segs, q, exclude, s, func(float64) float64 { return sum })
	s.rd, s.rid = s.rd[:0], s.rid[:0]
	var evals int64
	for _, c := range s.cand {
		g := x.segs[c.seg]
		d := sparseDistance(kind, q, x.space.store.row(g.pos[c.row]), x.space.cols)
		evals++
		if d <= r {
			s.rd = append(s.rd, d)
			s.rid = append(s.rid, g.ids[c.row])
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
