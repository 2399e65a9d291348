package core

import (
	"fmt"
	"math"
	"slices"
)

// KNearestBoundBatch writes, for every query in b, its k nearest
// neighbours nearer than bound (d < bound, as scipy's cKDTree takes
// distance_upper_bound) to dist and idx, nearest first, ties ordered by
// caller index. A query with fewer than k such neighbours gets distance
// +Inf and index -1 in the remaining slots, so k may exceed the number of
// points. The depth-first search prunes with bound from its first step.
// dist and idx must have room for k values per query.
//
// b.Eps > 0 makes the search approximate as in KNearestBatch and as
// scipy's cKDTree takes eps with distance_upper_bound: subtrees are pruned
// against the bound and the k-th distance so far divided by 1+Eps, so the
// j-th neighbour returned is at most 1+Eps times as far as the true j-th
// one, and a slot may stay empty when the true neighbour lies within a
// factor 1+Eps of the bound. Every search strategy runs depth first here.
func (t *Tree[T]) KNearestBoundBatch(b Batch[T], k int, bound float64, dist []T, idx []int64) error {
	nq, err := b.count(t)
	if err != nil {
		return err
	}
	if k < 1 {
		return fmt.Errorf("core: k must be >= 1, got %d", k)
	}
	if !(b.Eps >= 0) {
		return fmt.Errorf("core: eps must be >= 0, got %v", b.Eps)
	}
	shrink := 1 / (1 + b.Eps)
	if math.IsNaN(bound) {
		return fmt.Errorf("core: the distance bound is NaN")
	}
	if nq > 0 && (len(dist)/nq < k || len(idx)/nq < k) {
		return fmt.Errorf("core: output of %d distances and %d indices is too small for %d queries of k=%d", len(dist), len(idx), nq, k)
	}
	if b, err = b.prepared(t.metric, t.s.dim); err != nil {
		return err
	}
	avail := t.n
	if b.Points == nil {
		avail-- // each point is left out of its own answer
	}
	kk := min(k, max(avail, 0)) // neighbours a query can have
	sb := math.Inf(-1)
	if bound > 0 {
		sb = t.inRadius(bound)
	}
	return t.run(b, nq, func(s *scratch, i int, q []T) error {
		o := i * k
		n := 0
		if kk > 0 && sb > 0 && t.root >= 0 {
			t.knnBelow(s, q, kk, sb, shrink)
			n = len(s.heap.e)
			ds := slices.Grow(s.rd[:0], n)[:n]
			ids := slices.Grow(s.rid[:0], n)[:n]
			s.heap.drain(ds, ids)
			s.rd, s.rid = ds[:0], ids[:0]
			for n > 0 && ids[n-1] < 0 {
				n-- // placeholders: fewer than kk neighbours below the bound
			}
			for j := range n {
				dist[o+j] = T(t.outDist(ds[j]))
				idx[o+j] = int64(ids[j])
			}
			orderRounded(dist[o:o+n], idx[o:o+n])
		}
		for j := n; j < k; j++ {
			dist[o+j] = T(math.Inf(1))
			idx[o+j] = -1
		}
		return nil
	})
}

// knnBelow leaves in s.heap the k nearest neighbours of q nearer than sb
// (a search distance), skipping s.exclude, with placeholders (sb, -1)
// where there are fewer: the heap starts full of placeholders, which
// every point nearer than sb displaces (ties order by caller index, and
// -1 before every index, so a point at sb itself does not), and the
// depth-first search prunes against its worst entry, sb, times shrink
// (1/(1+eps); 1 for an exact search) from the start.
func (t *Tree[T]) knnBelow(s *scratch, q []T, k int, sb, shrink float64) {
	h := &s.heap
	h.reset(k)
	for range k {
		h.e = append(h.e, entry{d: sb, id: -1}) // equal keys: a valid heap
	}
	d0 := t.dist(q, t.point(t.root))
	s.evals++
	t.offerNode(s, t.root, d0)
	s.stack = t.descend(s, q, append(s.stack[:0], cand{node: t.root, d: d0}), sb, shrink)
}
