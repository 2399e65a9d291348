package core

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"sort"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// Dual-tree traversals (joins): the pairs of points, one from each of two
// trees or two from one tree, within a distance of each other, found by
// walking both trees at once. A task is a pair of subtrees whose anchor
// points are a known distance d apart; every pair of points they hold is
// then between d - ra - rb and d + ra + rb apart, ra and rb the subtrees'
// radii. A task wholly beyond the radius is dropped, one wholly within it
// is counted (or listed) without a distance evaluation per pair, and any
// other is split: the subtree of larger radius is replaced by its node's
// own points and by its children, each child's subtree bounded through its
// reach before its distance is measured. A counting join carries the
// radii still undecided for a task, so one traversal counts every radius.
//
// The bounds are the tree's own (rad and reach are exact maxima of
// computed distances), with the rounding slack of every other search; a
// pair of single points is decided by its measured distance, d <= r, as a
// radius query decides it.

// JoinOptions configures a join.
type JoinOptions struct {
	// Jobs is the number of goroutines; values below 1 mean 1 and values
	// above GOMAXPROCS mean GOMAXPROCS. The answers do not depend on it.
	Jobs int
	// Monitor, if not nil, can stop the join, which then returns
	// ErrStopped. Joins do not advance its Done count.
	Monitor *Monitor
	// MaxPairs, if positive, bounds the pairs a listing join may hold: past
	// it the join stops and returns a *TooManyAnswersError. Counting joins
	// hold no pairs and ignore it.
	MaxPairs int64
}

// PairList holds pairs of caller indices (i, j), i from the first tree
// and j from the second, ordered by i, then j, with their distances when
// the join measured them.
type PairList struct {
	keys  []uint64  // i<<32 | j
	dists []float64 // nil unless measured
}

// Len returns the number of pairs.
func (p *PairList) Len() int { return len(p.keys) }

// At returns the k-th pair.
func (p *PairList) At(k int) (i, j int64) {
	return int64(p.keys[k] >> 32), int64(uint32(p.keys[k]))
}

// HasDists reports whether the pairs' distances were measured.
func (p *PairList) HasDists() bool { return p.dists != nil }

// Dist returns the distance of the k-th pair, or NaN if the join did not
// measure distances.
func (p *PairList) Dist(k int) float64 {
	if p.dists == nil {
		return math.NaN()
	}
	return p.dists[k]
}

// CountPairs returns, for each radius r of radii, the number of pairs (a,
// b) with a a point of t, b a point of o and d(a, b) <= r: scipy's
// cKDTree.count_neighbors with cumulative counts. Every caller point
// counts, duplicates included. The radii may come in any order; a negative
// radius counts nothing and +Inf counts every pair. o may be t itself
// (every ordered pair then counts, a point with itself included), and the
// join then visits each unordered pair once. No pair is ever listed: a
// pair of subtrees wholly within a radius adds the product of their sizes.
func (t *Tree[T]) CountPairs(o *Tree[T], radii []float64, opts JoinOptions) (counts []int64, err error) {
	defer catch(&err)
	if err := t.checkJoin(o); err != nil {
		return nil, err
	}
	order := make([]int, len(radii))
	for i, r := range radii {
		if math.IsNaN(r) {
			return nil, fmt.Errorf("core: radius %d is NaN", i)
		}
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(radii[a], radii[b]) })
	neg := sort.Search(len(order), func(i int) bool { return radii[order[i]] >= 0 })
	sr := make([]float64, 0, len(order)-neg)
	for _, i := range order[neg:] {
		sr = append(sr, t.inRadius(radii[i]))
	}
	counts = make([]int64, len(radii))
	if len(sr) == 0 || t.root < 0 || o.root < 0 {
		return counts, nil
	}
	sym := o == t
	sinks, err := t.join(o, sr, joinCount, sym, opts)
	if err != nil {
		return nil, err
	}
	cum := make([]int64, len(sr)+1)
	for _, s := range sinks {
		for i, v := range s.diff {
			cum[i] += v
		}
	}
	var c int64
	for i, oi := range order[neg:] {
		c += cum[i]
		if sym {
			// Unordered pairs of distinct points, both ways, and each point
			// with itself (distance 0, within every radius >= 0).
			counts[oi] = 2*c + int64(t.n)
		} else {
			counts[oi] = c
		}
	}
	return counts, nil
}

// Pairs returns every pair of distinct caller points (i, j), i < j, of t
// within distance r of each other (d <= r), ordered by i, then j: scipy's
// cKDTree.query_pairs. Duplicates of one point pair with each other at
// distance 0.
func (t *Tree[T]) Pairs(r float64, opts JoinOptions) (p *PairList, err error) {
	defer catch(&err)
	return t.listPairs(t, r, false, true, opts)
}

// PairsWith returns every pair (i, j), i a caller point of t and j one of
// o, within distance r of each other (d <= r), ordered by i, then j, with
// their distances if dists is set: scipy's cKDTree.query_ball_tree and
// sparse_distance_matrix. o may be t itself (every ordered pair then
// counts, (i, i) included).
func (t *Tree[T]) PairsWith(o *Tree[T], r float64, dists bool, opts JoinOptions) (p *PairList, err error) {
	defer catch(&err)
	return t.listPairs(o, r, dists, false, opts)
}

func (t *Tree[T]) listPairs(o *Tree[T], r float64, dists, sym bool, opts JoinOptions) (*PairList, error) {
	if err := t.checkJoin(o); err != nil {
		return nil, err
	}
	if math.IsNaN(r) {
		return nil, errors.New("core: radius is NaN")
	}
	p := &PairList{}
	if dists {
		p.dists = []float64{}
	}
	if r < 0 || t.root < 0 || o.root < 0 {
		return p, nil
	}
	mode := joinList
	if dists {
		mode = joinDist
	}
	sinks, err := t.join(o, []float64{t.inRadius(r)}, mode, sym, opts)
	if err != nil {
		return nil, err
	}
	// Each worker's pairs sorted on its own goroutine, then merged.
	forParts(len(sinks), opts.Jobs, func(w int) { sinks[w].sortPairs() })
	n := 0
	for _, s := range sinks {
		n += len(s.keys)
	}
	p.keys = make([]uint64, 0, n)
	if dists {
		p.dists = make([]float64, 0, n)
	}
	pos := make([]int, len(sinks))
	for len(p.keys) < n {
		w := -1
		for x, s := range sinks {
			if pos[x] < len(s.keys) && (w < 0 || s.keys[pos[x]] < sinks[w].keys[pos[w]]) {
				w = x
			}
		}
		s := sinks[w]
		p.keys = append(p.keys, s.keys[pos[w]])
		if dists {
			p.dists = append(p.dists, t.outDist(s.dists[pos[w]]))
		}
		pos[w]++
	}
	return p, nil
}

// sortPairs orders the sink's listed pairs (and their distances) by key.
func (s *joinSink) sortPairs() {
	if s.dists == nil {
		slices.Sort(s.keys)
		return
	}
	type kd struct {
		k uint64
		d float64
	}
	all := make([]kd, len(s.keys))
	for i, k := range s.keys {
		all[i] = kd{k, s.dists[i]}
	}
	slices.SortFunc(all, func(a, b kd) int { return cmp.Compare(a.k, b.k) })
	for i, x := range all {
		s.keys[i], s.dists[i] = x.k, x.d
	}
}

// join runs a join of t and o (both not empty) over the search radii sr,
// ascending, and returns the workers' sinks; sym makes it a self join of t.
func (t *Tree[T]) join(o *Tree[T], sr []float64, mode joinMode, sym bool, opts JoinOptions) ([]*joinSink, error) {
	j := &joiner[T]{ta: t, tb: o, radii: sr, mode: mode, sym: sym}
	root := joinTask{a: t.root, b: o.root, sym: sym, hi: int32(len(sr))}
	if !sym {
		root.d = t.dist(t.point(t.root), o.point(o.root))
		t.queryEvals.Add(1)
	}
	return j.run(root, opts)
}

// checkJoin reports whether o can be joined with t: the same dimension and
// metric.
func (t *Tree[T]) checkJoin(o *Tree[T]) error {
	if o == nil {
		return errors.New("core: join with a nil tree")
	}
	if o.s.dim != t.s.dim {
		return fmt.Errorf("core: the trees have %d and %d dimensions", t.s.dim, o.s.dim)
	}
	if !sameMetric(t.metric, o.metric) {
		return fmt.Errorf("core: the trees have different metrics (%v and %v, or their parameters differ)", t.metric, o.metric)
	}
	return nil
}

type joinMode int

const (
	joinCount joinMode = iota // count the pairs within each radius
	joinList                  // list the pairs of caller indices
	joinDist                  // list them with their distances
)

// joinTask is a pair of views, a of the first tree and b of the second:
// a node's subtree, or (own) its own caller points alone. A symmetric task
// stands for the pairs within a's view (b is unused). d is the distance
// between the two nodes' points, and radii[lo:hi] the radii for which the
// task's pairs are still undecided (those below lo are beyond every pair,
// those from hi on have counted them all already).
type joinTask struct {
	a, b       int32
	aOwn, bOwn bool
	sym        bool
	d          float64
	lo, hi     int32
}

// joiner is one join: the two trees, the search radii (ascending), what
// to collect, and whether it is a self join whose pairs are unordered.
type joiner[T Float] struct {
	ta, tb *Tree[T]
	radii  []float64
	mode   joinMode
	sym    bool
	held   atomic.Int64 // pairs listed so far, for JoinOptions.MaxPairs
}

// joinSink is one worker's results and scratch.
type joinSink struct {
	diff   []int64   // counting: diff[j] adds to the counts of radii j, j+1, ...
	keys   []uint64  // listed pairs, i<<32 | j
	dists  []float64 // their search distances (joinDist)
	stack  []joinTask
	va, vb []int32 // scratch: the nodes of two views
	ia, ib []int32 // scratch: their caller indices
	evals  int64
}

// run carries out the join from the root task on opts.Jobs goroutines and
// returns the workers' sinks.
func (j *joiner[T]) run(root joinTask, opts JoinOptions) ([]*joinSink, error) {
	jobs := workers(opts.Jobs)
	newSink := func() *joinSink {
		s := &joinSink{}
		if j.mode == joinCount {
			s.diff = make([]int64, len(j.radii)+1)
		}
		return s
	}
	sinks := make([]*joinSink, jobs)
	for w := range sinks {
		sinks[w] = newSink()
	}
	defer func() {
		for _, s := range sinks {
			j.ta.queryEvals.Add(s.evals)
		}
	}()
	tasks := []joinTask{root}
	if jobs > 1 {
		// Split breadth first until there are enough tasks to share out;
		// what the first rounds decide goes to the first sink.
		s := sinks[0]
		for round := 0; round < 64 && len(tasks) > 0 && len(tasks) < 64*jobs; round++ {
			var next []joinTask
			for _, x := range tasks {
				s.stack = s.stack[:0]
				j.step(s, x)
				next = append(next, s.stack...)
			}
			tasks = next
			if opts.Monitor.stopped() {
				return nil, ErrStopped
			}
		}
		s.stack = s.stack[:0]
	}
	var next atomic.Int64
	var g errgroup.Group
	for w := range jobs {
		s := sinks[w]
		g.Go(func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("core: join worker panicked: %v\n%s", r, debug.Stack())
				}
			}()
			steps, flushed := 0, 0
			for {
				k := int(next.Add(1) - 1)
				if k >= len(tasks) {
					return nil
				}
				s.stack = append(s.stack[:0], tasks[k])
				for len(s.stack) > 0 {
					x := s.stack[len(s.stack)-1]
					s.stack = s.stack[:len(s.stack)-1]
					j.step(s, x)
					if steps++; steps&1023 != 0 {
						continue
					}
					if opts.Monitor.stopped() {
						return ErrStopped
					}
					if opts.MaxPairs > 0 {
						if h := j.held.Add(int64(len(s.keys) - flushed)); h > opts.MaxPairs {
							return &TooManyAnswersError{Limit: opts.MaxPairs, Found: h}
						}
						flushed = len(s.keys)
					}
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if opts.MaxPairs > 0 {
		var h int64
		for _, s := range sinks {
			h += int64(len(s.keys))
		}
		if h > opts.MaxPairs {
			return nil, &TooManyAnswersError{Limit: opts.MaxPairs, Found: h}
		}
	}
	return sinks, nil
}

// step decides task x, or splits it onto s.stack.
func (j *joiner[T]) step(s *joinSink, x joinTask) {
	if x.sym {
		j.stepSym(s, x)
		return
	}
	ta, tb := j.ta, j.tb
	leafA, leafB := ta.atomic(x.a, x.aOwn), tb.atomic(x.b, x.bOwn)
	lo, hi := x.lo, x.hi
	if leafA && leafB {
		// Single points on both sides: d is every pair's distance.
		if k := j.firstWithin(lo, hi, x.d); k < hi {
			j.own(s, x.a, x.b, x.d, k, hi)
		}
		return
	}
	ra, rb := ta.viewRad(x.a, x.aOwn), tb.viewRad(x.b, x.bOwn)
	if lo = j.firstReached(lo, hi, x.d, ra+rb); lo == hi {
		return
	}
	if in := j.firstInside(lo, hi, x.d, ra+rb); in < hi {
		j.whole(s, x.a, x.aOwn, x.b, x.bOwn, in, hi)
		if hi = in; lo == hi {
			return
		}
	}
	j.split(s, x, lo, hi, leafA || (!leafB && rb > ra))
}

// split replaces the view of side a (or b, with onB) of task x by the
// node's own points and its children's subtrees, for the radii lo..hi-1.
// A child's subtree lies within its reach of the node: beyond every
// radius, it is dropped, and within some, it is taken whole for them,
// before its distance to the other side is measured.
func (j *joiner[T]) split(s *joinSink, x joinTask, lo, hi int32, onB bool) {
	t, u, ot, v, vOwn := j.ta, x.a, j.tb, x.b, x.bOwn
	if onB {
		t, u, ot, v, vOwn = j.tb, x.b, j.ta, x.a, x.aOwn
	}
	task := func(c int32, own bool, d float64, lo, hi int32) joinTask {
		if onB {
			return joinTask{a: v, aOwn: vOwn, b: c, bOwn: own, d: d, lo: lo, hi: hi}
		}
		return joinTask{a: c, aOwn: own, b: v, bOwn: vOwn, d: d, lo: lo, hi: hi}
	}
	s.stack = append(s.stack, task(u, true, x.d, lo, hi))
	rv := ot.viewRad(v, vOwn)
	pv := ot.point(v)
	for _, c := range t.node(u).children() {
		cn := t.node(c)
		clo := j.firstReached(lo, hi, x.d, cn.reach+rv)
		if clo == hi {
			continue
		}
		chi := hi
		if in := j.firstInside(clo, hi, x.d, cn.reach+rv); in < hi {
			if onB {
				j.whole(s, v, vOwn, c, false, in, hi)
			} else {
				j.whole(s, c, false, v, vOwn, in, hi)
			}
			if chi = in; clo == chi {
				continue
			}
		}
		var d float64
		if onB {
			d = t.dist(pv, t.point(c))
		} else {
			d = t.dist(t.point(c), pv)
		}
		s.evals++
		s.stack = append(s.stack, task(c, false, d, clo, chi))
	}
}

// stepSym decides the symmetric task x (the unordered pairs within one
// view of the first tree), or splits it: the node's own points among
// themselves, each child's subtree within itself, the own points against
// each child's subtree, and each two children's subtrees against each
// other, bounded through the children's distances to the node first.
func (j *joiner[T]) stepSym(s *joinSink, x joinTask) {
	t := j.ta
	lo, hi := x.lo, x.hi
	if t.atomic(x.a, x.aOwn) {
		j.ownSym(s, x.a, lo, hi) // all at distance 0, within every radius
		return
	}
	n := t.node(x.a)
	if in := j.firstInside(lo, hi, 0, 2*n.rad); in < hi {
		j.wholeSym(s, x.a, in, hi)
		if hi = in; lo == hi {
			return
		}
	}
	s.stack = append(s.stack, joinTask{a: x.a, aOwn: true, sym: true, lo: lo, hi: hi})
	pa := t.point(x.a)
	for ci, c := range n.children() {
		cn := t.node(c)
		s.stack = append(s.stack, joinTask{a: c, sym: true, lo: lo, hi: hi})
		d := t.dist(pa, t.point(c))
		s.evals++
		s.stack = append(s.stack, joinTask{a: x.a, aOwn: true, b: c, d: d, lo: lo, hi: hi})
		for _, e := range n.children()[ci+1:] {
			en := t.node(e)
			elo := j.firstReached(lo, hi, math.Abs(cn.pdist-en.pdist), cn.rad+en.rad)
			if elo == hi {
				continue
			}
			ehi := hi
			if in := j.firstInside(elo, hi, cn.reach, en.reach); in < hi {
				j.whole(s, c, false, e, false, in, hi)
				if ehi = in; elo == ehi {
					continue
				}
			}
			d := t.dist(t.point(c), t.point(e))
			s.evals++
			s.stack = append(s.stack, joinTask{a: c, b: e, d: d, lo: elo, hi: ehi})
		}
	}
}

// firstReached returns the first k in [lo, hi) whose radius some pair of
// a task with distance d and radii summing to rad may lie within, or hi.
// (Most tasks are decided at an end of the range: those are tried first.)
func (j *joiner[T]) firstReached(lo, hi int32, d, rad float64) int32 {
	if !prunable(d, rad, j.radii[lo]) {
		return lo
	}
	if prunable(d, rad, j.radii[hi-1]) {
		return hi
	}
	return lo + 1 + int32(sort.Search(int(hi-lo-1), func(i int) bool { return !prunable(d, rad, j.radii[lo+1+int32(i)]) }))
}

// firstInside returns the first k in [lo, hi) whose radius every pair of
// such a task lies within, or hi.
func (j *joiner[T]) firstInside(lo, hi int32, d, rad float64) int32 {
	if !inside(d, rad, j.radii[hi-1]) {
		return hi
	}
	if inside(d, rad, j.radii[lo]) {
		return lo
	}
	return lo + 1 + int32(sort.Search(int(hi-lo-1), func(i int) bool { return inside(d, rad, j.radii[lo+1+int32(i)]) }))
}

// firstWithin returns the first k in [lo, hi) with d <= radii[k], or hi.
func (j *joiner[T]) firstWithin(lo, hi int32, d float64) int32 {
	return lo + int32(sort.Search(int(hi-lo), func(i int) bool { return d <= j.radii[lo+int32(i)] }))
}

// add counts w pairs within the radii lo..hi-1.
func (s *joinSink) add(w int64, lo, hi int32) {
	s.diff[lo] += w
	s.diff[hi] -= w
}

// emit lists the pair (i, j), smaller index first in a self join.
func (j *joiner[T]) emit(s *joinSink, a, b int32, d float64) {
	if j.sym && b < a {
		a, b = b, a
	}
	s.keys = append(s.keys, uint64(uint32(a))<<32|uint64(uint32(b)))
	if j.mode == joinDist {
		s.dists = append(s.dists, d)
	}
}

// own takes the pairs of node a's own points with node b's, all at
// distance d, for the radii lo..hi-1.
func (j *joiner[T]) own(s *joinSink, a, b int32, d float64, lo, hi int32) {
	ia, ib := j.ta.node(a).idList(), j.tb.node(b).idList()
	if j.mode == joinCount {
		s.add(int64(len(ia))*int64(len(ib)), lo, hi)
		return
	}
	for _, x := range ia {
		for _, y := range ib {
			j.emit(s, x, y, d)
		}
	}
}

// ownSym takes the unordered pairs among node a's own points (duplicates,
// at distance 0).
func (j *joiner[T]) ownSym(s *joinSink, a int32, lo, hi int32) {
	ids := j.ta.node(a).idList()
	if j.mode == joinCount {
		m := int64(len(ids))
		s.add(m*(m-1)/2, lo, hi)
		return
	}
	for x, i := range ids {
		for _, k := range ids[x+1:] {
			j.emit(s, i, k, 0)
		}
	}
}

// whole takes every pair of the views a and b, all within the radii
// lo..hi-1 by the bounds. Listing them with distances measures each pair
// of nodes and keeps those within the radius, which the bounds promise
// are all of them.
func (j *joiner[T]) whole(s *joinSink, a int32, aOwn bool, b int32, bOwn bool, lo, hi int32) {
	ta, tb := j.ta, j.tb
	switch j.mode {
	case joinCount:
		s.add(ta.viewWeight(a, aOwn)*tb.viewWeight(b, bOwn), lo, hi)
	case joinList:
		s.ia = ta.viewIDs(a, aOwn, s.ia[:0])
		s.ib = tb.viewIDs(b, bOwn, s.ib[:0])
		for _, x := range s.ia {
			for _, y := range s.ib {
				j.emit(s, x, y, 0)
			}
		}
	case joinDist:
		s.va = ta.viewNodes(a, aOwn, s.va[:0])
		s.vb = tb.viewNodes(b, bOwn, s.vb[:0])
		r := j.radii[0]
		for _, u := range s.va {
			pu := ta.point(u)
			for _, v := range s.vb {
				d := ta.dist(pu, tb.point(v))
				s.evals++
				if d <= r {
					j.own(s, u, v, d, 0, 1)
				}
			}
		}
	}
}

// wholeSym takes every unordered pair of points within view a's subtree.
func (j *joiner[T]) wholeSym(s *joinSink, a int32, lo, hi int32) {
	t := j.ta
	if j.mode == joinCount {
		w := t.node(a).weight
		s.add(w*(w-1)/2, lo, hi)
		return
	}
	s.ia = t.viewIDs(a, false, s.ia[:0])
	for x, i := range s.ia {
		for _, k := range s.ia[x+1:] {
			j.emit(s, i, k, 0)
		}
	}
}

// atomic reports whether a view is a single point's caller indices: a
// node's own points, or a node without children.
func (t *Tree[T]) atomic(u int32, own bool) bool {
	return own || len(t.node(u).children()) == 0
}

// viewRad bounds the distance from node u to the points of its view.
func (t *Tree[T]) viewRad(u int32, own bool) float64 {
	if t.atomic(u, own) {
		return 0
	}
	return t.node(u).rad
}

// viewWeight returns the number of caller points in a view.
func (t *Tree[T]) viewWeight(u int32, own bool) int64 {
	if own {
		return int64(t.node(u).nid)
	}
	return t.node(u).weight
}

// viewNodes appends the nodes of a view to dst: u, and with !own every
// node of its subtree.
func (t *Tree[T]) viewNodes(u int32, own bool, dst []int32) []int32 {
	start := len(dst)
	dst = append(dst, u)
	if own {
		return dst
	}
	for i := start; i < len(dst); i++ {
		dst = append(dst, t.node(dst[i]).children()...)
	}
	return dst
}

// viewIDs appends the caller indices of a view to dst.
func (t *Tree[T]) viewIDs(u int32, own bool, dst []int32) []int32 {
	if own {
		return append(dst, t.node(u).idList()...)
	}
	stack := []int32{u}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := t.node(v)
		dst = append(dst, n.idList()...)
		stack = append(stack, n.children()...)
	}
	return dst
}
