package core

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
)

// How a BruteForce answers Euclidean queries. A query q and a point x, both
// minus the index's centre c and rounded to float32 (q', x'), give
//
//	s = |q'|^2 + |x'|^2 - 2 q'.x'
//
// with q'.x' from a vector kernel (float32 products and sums) and the rest
// in float64. Rounding makes s differ from the squared distance, but by a
// bounded amount: with u = 2^-24 and U = 2^-53, gamma(n) = nu/(1-nu) and
// the same for U,
//
//   - a dot product of d terms, however its sums are ordered, errs by at
//     most gamma(d+2)|q'||x'| (products and sums rounded separately);
//   - the norms and the combination in float64 by gamma_U(d+3)(|q'|+|x'|)^2;
//   - centring and rounding to float32 move each row by at most
//     (u+2U)|q-c| (and |x-c|), so |q'-x'| is within (u+2U)(|q-c|+|x-c|)
//     of |q-x|; values below float32's range lose at most 2^-149 each.
//
// So, with R bounding |x'| over the index and Q = |q'|, s is within
//
//	E = 2 gamma(d+2) Q R + gamma_U(d+3)(Q + R)^2 + e0
//
// of |q'-x'|^2, and |q'-x'| is within delta = 1.001(u+2U)(Q + R) + b of
// the distance |q-x|, where e0 and b cover the values below float32's
// range; both are taken 1% larger. A relative slack eps covers the tree
// kernel's own rounding (the answers are the kernel's distances) and the
// arithmetic of the thresholds below. Every point then lies in [L, U] =
// [(sqrt(max(s-E, 0)) - delta)(1-eps), (sqrt(max(s+E, 0)) + delta)(1+eps)]
// around its kernel distance. The bound is kept on s itself: the error of
// the dot product is a few units of float32's precision of |q'||x'|, and
// taking it through the square root as sqrt(E) (an earlier form of the
// bound) widened it by a factor of the distance over sqrt(E), about 40 in
// 784 dimensions, so that hundreds of points a query passed the screen
// instead of a few.
//
// The k nearest neighbours are among the points whose L is at most the
// k-th smallest U (k points lie within it): the screen keeps, per query,
// the k smallest values of s seen so far and every point whose s passes
// the threshold they imply, then measures only those exactly with the
// tree's kernel and keeps the k best by (distance, index). Ties at the
// k-th distance are all measured, so the answer is exact. Radius queries
// keep the points with L <= r and measure them.
//
// A query or an index whose centred norms exceed maxScreenNorm would
// overflow float32, and is answered by measuring every point exactly.

// maxScreenNorm bounds |q'| + R for a screened query: (1e19)^2 stays below
// float32's largest value.
const maxScreenNorm = 1e19

// screenQuery is one query's screening state.
type screenQuery struct {
	qn      float64 // |q'|^2
	e       float64 // E: the bound on s's error
	delta   float64 // the bound on |q'-x'|'s error
	eps     float64 // the relative slack
	exact   bool    // measure every point exactly instead
	worst   []float64
	k       int
	cands   []int32   // caller indices that passed the screen ...
	candS   []float64 // ... and their s
	limit   float64   // the current threshold on s
	exclude int32
}

// gamma returns n*u/(1-n*u), the classic bound on the relative error of a
// sum of n rounded terms.
func gamma(n int, u float64) float64 {
	nu := float64(n) * u
	return nu / (1 - nu)
}

// screenConst is the part of the screen's error bound fixed by the
// dimension d (see the comment at the top of this file): E = 1.01(dot Q R +
// sum (Q+R)^2) + e0 and delta = 1.01 shift (Q+R) + b.
type screenConst struct {
	dot, sum, e0 float64 // 2 gamma(d+2), gamma_U(d+3) and e0
	shift, b     float64 // 1.001(u+2U) and b
	eps          float64
}

// screenConstants returns the constants of the error bound for dimension d.
func screenConstants(d int) screenConst {
	const u, U = 0x1p-24, 0x1p-53
	return screenConst{
		dot: 2 * gamma(d+2, u),
		sum: gamma(d+3, U),
		// Each of the d+2 roundings of the dot product below float32's
		// normal range loses at most 2^-150, doubled in s, taken twice.
		e0:    float64(d+2) * 0x1p-148,
		shift: 1.001 * (u + 2*U),
		// A coordinate below float32's normal range loses at most 2^-150
		// in each row: sqrt(d) 2^-150 a row, two rows, taken twice.
		b:   math.Sqrt(float64(d)) * 0x1p-148,
		eps: float64(d+64) * 0x1p-52,
	}
}

// bound sets sq's E and delta for a query of centred norm qnorm against
// points of centred norm at most norm.
func (c screenConst) bound(sq *screenQuery, qnorm, norm float64) {
	sq.e = 1.01*(c.dot*qnorm*norm+c.sum*(qnorm+norm)*(qnorm+norm)) + c.e0
	sq.delta = 1.01*c.shift*(qnorm+norm) + c.b
	sq.eps = c.eps
}

// setThreshold sets the screen's threshold on s from the k-th smallest s
// seen, sk: k points have U at most uk = (sqrt(sk+E) + delta)(1+eps), and a
// point with L <= uk has sqrt(max(s-E, 0)) <= uk/(1-eps) + delta.
func (sq *screenQuery) setThreshold(sk float64) {
	r := (math.Sqrt(max(sk+sq.e, 0))+sq.delta)*(1+sq.eps)/(1-sq.eps) + sq.delta
	sq.limit = (r*r + sq.e) * (1 + sq.eps)
}

// radiusThreshold returns the threshold on s for points that may lie within
// distance r: L <= r.
func (sq *screenQuery) radiusThreshold(r float64) float64 {
	x := r/(1-sq.eps) + sq.delta
	return (x*x + sq.e) * (1 + sq.eps)
}

// see records a screened point with value s at most the threshold: it
// keeps the point, and updates the k smallest values and the threshold.
func (sq *screenQuery) see(id int32, s float64) {
	sq.cands = append(sq.cands, id)
	sq.candS = append(sq.candS, s)
	w := sq.worst
	if len(w) < sq.k {
		w = append(w, s)
		siftUpMax(w, len(w)-1)
		sq.worst = w
		if len(w) == sq.k {
			sq.setThreshold(w[0])
		}
		return
	}
	if s < w[0] {
		w[0] = s
		siftDownMax(w, 0)
		sq.setThreshold(w[0])
		// Drop the candidates the tighter threshold excludes when they
		// have piled up, so that the list stays proportional to k.
		if len(sq.cands) > 8*sq.k+64 {
			sq.compact()
		}
	}
}

// compact keeps the candidates that pass the current threshold.
func (sq *screenQuery) compact() {
	j := 0
	for i, s := range sq.candS {
		if s <= sq.limit {
			sq.cands[j], sq.candS[j] = sq.cands[i], s
			j++
		}
	}
	sq.cands, sq.candS = sq.cands[:j], sq.candS[:j]
}

func siftUpMax(h []float64, j int) {
	for j > 0 {
		p := (j - 1) / 2
		if h[p] >= h[j] {
			return
		}
		h[p], h[j] = h[j], h[p]
		j = p
	}
}

func siftDownMax(h []float64, j int) {
	for {
		c := 2*j + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h[c+1] > h[c] {
			c++
		}
		if h[j] >= h[c] {
			return
		}
		h[j], h[c] = h[c], h[j]
		j = c
	}
}

// bruteScratch is a worker's buffers for BruteForce queries.
type bruteScratch struct {
	q   []float32 // the block's centred float32 queries, padded to quads
	out []float32 // kernel output: a block of queries by a chunk's points
	sq  []screenQuery
}

// bruteBlock is the number of queries a worker screens together: each
// chunk of points is read once per block.
const bruteBlock = 64

// bruteBlockFor returns the number of queries a worker screens together in
// a batch of nq queries on jobs workers: bruteBlock, or fewer (a multiple
// of quad) so that each worker gets at least two blocks. Whole blocks of
// bruteBlock left a worker idle on small batches: 180 queries made blocks
// of 64, 64 and 52, and one of two workers did two of them.
func bruteBlockFor(nq, jobs int) int {
	per := (nq + 2*workers(jobs) - 1) / (2 * workers(jobs))
	return min(bruteBlock, max(quad, (per+quad-1)/quad*quad))
}

// KNearestBatch writes the k nearest neighbours of every query in b to dist
// and idx, as Tree.KNearestBatch does, with the same answers. b.Strategy
// and b.Eps do not apply: a BruteForce always measures every point, and its
// answers are exact (which an Eps allows).
func (f *BruteForce[T]) KNearestBatch(b Batch[T], k int, dist []T, idx []int64) error {
	nq, err := b.count(f)
	if err != nil {
		return err
	}
	if !(b.Eps >= 0) {
		return fmt.Errorf("core: eps must be >= 0, got %v", b.Eps)
	}
	if err := checkK(b, f.n, k); err != nil {
		return err
	}
	if len(dist) < nq*k || len(idx) < nq*k {
		return fmt.Errorf("core: output of %d distances and %d indices is too small for %d queries of k=%d", len(dist), len(idx), nq, k)
	}
	if b, err = b.prepared(f.metric, f.dim); err != nil {
		return err
	}
	return runBlocks(b, nq, bruteBlockFor(nq, b.Jobs), &f.queryEvals, func(s *scratch, lo, hi int) error {
		sqs := f.screenBlock(s, b, lo, hi, k, -1)
		for i, sq := range sqs {
			q, _ := b.query(f, lo+i)
			s.exclude = sq.exclude
			h := &s.heap
			h.reset(k)
			if sq.exact {
				f.scanExact(s, q, math.Inf(1), func(d float64, id int32) { h.offer(d, id) })
			} else {
				for j, id := range sq.cands {
					if sq.candS[j] <= sq.limit {
						h.offer(f.dist(q, f.Point(int(id))), id)
						s.evals++
					}
				}
			}
			n := len(h.e)
			ds := slices.Grow(s.rd[:0], n)[:n]
			ids := slices.Grow(s.rid[:0], n)[:n]
			h.drain(ds, ids)
			s.rd, s.rid = ds[:0], ids[:0]
			o := (lo + i) * k
			for j := range n {
				dist[o+j] = T(outDist(f.metric, ds[j]))
				idx[o+j] = int64(ids[j])
			}
			orderRounded(dist[o:o+n], idx[o:o+n])
		}
		return nil
	})
}

// WithinBatch finds, for every query in b, every point within distance r
// (or b.Radii[i] for query i), as Tree.WithinBatch does, with the same
// answers in the same order.
func (f *BruteForce[T]) WithinBatch(b Batch[T], r float64, sorted bool) (*RadiusResult[T], error) {
	nq, r, b, err := radiusBatch(b, f, f.metric, r, nil)
	if err != nil {
		return nil, err
	}
	sr := inRadius(f.metric, r)
	res := newRadiusResult[T](nq, sorted)
	var found atomic.Int64
	err = runBlocks(b, nq, bruteBlockFor(nq, b.Jobs), &f.queryEvals, func(s *scratch, lo, hi int) error {
		sqs := f.screenBlock(s, b, lo, hi, 0, sr)
		for i, sq := range sqs {
			q, _ := b.query(f, lo+i)
			qr := b.searchRadius(f.metric, lo+i, sr)
			var ds []float64
			var ids []int32
			keep := func(d float64, id int32) {
				if d <= qr {
					ds = append(ds, outDist(f.metric, d))
					ids = append(ids, id)
				}
			}
			if sq.exact {
				s.exclude = sq.exclude
				f.scanExact(s, q, qr, keep)
			} else {
				for _, id := range sq.cands {
					keep(f.dist(q, f.Point(int(id))), id)
				}
				s.evals += int64(len(sq.cands))
			}
			if b.MaxAnswers > 0 {
				if n := found.Add(int64(len(ds))); n > b.MaxAnswers {
					return &TooManyAnswersError{Limit: b.MaxAnswers, Found: n}
				}
			}
			if sorted {
				sortPairs(ds, ids, &s.ans)
			} else {
				sortByIndex(ds, ids, &s.ans)
			}
			res.dist[lo+i], res.idx[lo+i], res.counts[lo+i] = ds, ids, int64(len(ds))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res.summed(), nil
}

// CountWithinBatch writes to counts[i] the number of points within distance
// r (d <= r, or b.Radii[i]) of query i of b, as Tree.CountWithinBatch does: what
// WithinBatch would find, without keeping it.
func (f *BruteForce[T]) CountWithinBatch(b Batch[T], r float64, counts []int64) error {
	nq, r, b, err := radiusBatch(b, f, f.metric, r, counts)
	if err != nil {
		return err
	}
	sr := inRadius(f.metric, r)
	return runBlocks(b, nq, bruteBlockFor(nq, b.Jobs), &f.queryEvals, func(s *scratch, lo, hi int) error {
		sqs := f.screenBlock(s, b, lo, hi, 0, sr)
		for i, sq := range sqs {
			q, _ := b.query(f, lo+i)
			qr := b.searchRadius(f.metric, lo+i, sr)
			var c int64
			if sq.exact {
				s.exclude = sq.exclude
				f.scanExact(s, q, qr, func(float64, int32) { c++ })
			} else {
				for _, id := range sq.cands {
					if f.dist(q, f.Point(int(id))) <= qr {
						c++
					}
				}
				s.evals += int64(len(sq.cands))
			}
			counts[lo+i] = c
		}
		return nil
	})
}

// screenBlock screens queries lo..hi-1 of b against every live point and
// returns their states: for k > 0 the candidates for the k nearest, for
// k = 0 those that may lie within search distance r (or the query's own,
// b.Radii). A query marked exact
// was not screened (its caller measures every point).
func (f *BruteForce[T]) screenBlock(s *scratch, b Batch[T], lo, hi, k int, r float64) []screenQuery {
	if s.flat == nil {
		s.flat = &bruteScratch{}
	}
	fs := s.flat
	nb := hi - lo
	if cap(fs.sq) < nb {
		fs.sq = append(fs.sq[:cap(fs.sq)], make([]screenQuery, nb-cap(fs.sq))...)
	}
	sqs := fs.sq[:nb]
	for i := range sqs {
		sq := &sqs[i]
		_, ex := b.query(f, lo+i)
		*sq = screenQuery{
			k: k, exclude: ex, exact: f.screen == nil, limit: math.Inf(1),
			worst: sq.worst[:0], cands: sq.cands[:0], candS: sq.candS[:0],
		}
	}
	if f.screen == nil {
		return sqs
	}
	dim := f.dim
	var norm float64 // R: the largest centred norm of any point
	for _, c := range f.chunks {
		if c != nil {
			norm = max(norm, c.norm)
		}
	}
	sc := screenConstants(dim)
	pad := (nb + quad - 1) / quad * quad
	fs.q = slices.Grow(fs.q[:0], pad*dim)[:pad*dim]
	clear(fs.q[nb*dim:])
	screened := false
	for i := range nb {
		q, _ := b.query(f, lo+i)
		row := fs.q[i*dim : (i+1)*dim]
		var qn float64
		for j, v := range q {
			x := float32(float64(v) - f.screen[j])
			row[j] = x
			qn += float64(x) * float64(x)
		}
		sq := &sqs[i]
		sq.qn = qn
		sc.bound(sq, math.Sqrt(qn), norm)
		if !(math.Sqrt(qn)+norm <= maxScreenNorm) {
			sq.exact = true
			continue
		}
		screened = true
		if k == 0 {
			sq.limit = sq.radiusThreshold(b.searchRadius(f.metric, lo+i, r))
		}
	}
	if !screened {
		return sqs
	}
	for ci, c := range f.chunks {
		if c == nil {
			continue
		}
		np := (c.used + panelWidth - 1) / panelWidth
		w := np * panelWidth
		fs.out = slices.Grow(fs.out[:0], pad*w)[:pad*w]
		panelDots(fs.q, pad, dim, c.panels, np, fs.out)
		base := int32(ci * bruteRows)
		for i := range nb {
			sq := &sqs[i]
			if sq.exact {
				continue
			}
			// Only the points that pass the threshold are looked at
			// further: whether they are live or excluded, and the update
			// of the threshold.
			out := fs.out[i*w : i*w+c.used]
			norms := c.norms[:len(out)]
			qn := sq.qn
			for j, dot := range out {
				sv := qn + norms[j] - 2*float64(dot)
				if sv > sq.limit {
					continue
				}
				id := base + int32(j)
				if c.live[j/64]&(1<<(j%64)) == 0 || id == sq.exclude {
					continue
				}
				if k == 0 {
					sq.cands = append(sq.cands, id)
				} else {
					sq.see(id, sv)
				}
			}
			s.evals += int64(c.nlive)
		}
	}
	return sqs
}

// scanExact measures every live point except s.exclude and calls keep with
// each distance below or at bound (search units) and the point's caller
// index.
func (f *BruteForce[T]) scanExact(s *scratch, q []T, bound float64, keep func(d float64, id int32)) {
	dim := f.dim
	for ci, c := range f.chunks {
		if c == nil {
			continue
		}
		base := int32(ci * bruteRows)
		for j := range c.used {
			if c.live[j/64]&(1<<(j%64)) == 0 || base+int32(j) == s.exclude {
				continue
			}
			if d := f.dist(q, c.rows[j*dim:(j+1)*dim:(j+1)*dim]); d <= bound {
				keep(d, base+int32(j))
			}
			s.evals++
		}
	}
}
