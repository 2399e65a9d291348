package core

import (
	"fmt"
	"math"
	"slices"
)

// Per-query radii (Batch.Radii) and the order of unsorted radius answers.

// checkRadii checks the radius r of a batch of nq queries, or, when b has
// per-query radii, those (one per query, each >= 0), and returns the
// radius to use for queries without their own (0 when b has radii).
func (b Batch[T]) checkRadii(nq int, r float64) (float64, error) {
	if b.Radii == nil {
		if math.IsNaN(r) || r < 0 {
			return 0, fmt.Errorf("core: radius must be >= 0, got %v", r)
		}
		return r, nil
	}
	if len(b.Radii) != nq {
		return 0, fmt.Errorf("core: %d radii for %d queries", len(b.Radii), nq)
	}
	for i, ri := range b.Radii {
		if math.IsNaN(ri) || ri < 0 {
			return 0, fmt.Errorf("core: the radius of query %d must be >= 0, got %v", i, ri)
		}
	}
	return 0, nil
}

// searchRadius returns the search radius of query i: its own radius
// converted for a search under metric m, or sr, the batch's.
func (b Batch[T]) searchRadius(m Metric, i int, sr float64) float64 {
	if b.Radii == nil {
		return sr
	}
	return inRadius(m, b.Radii[i])
}

// sortByIndex sorts parallel slices by index (indices are distinct within
// one query's answers), in a's buffers.
func sortByIndex(d []float64, id []int32, a *answerArena) {
	if len(id) < 2 {
		return
	}
	sorted := true
	for j := 1; j < len(id) && sorted; j++ {
		sorted = id[j-1] < id[j]
	}
	if sorted {
		return
	}
	// Pack (index, position) into one key: a sort of plain integers.
	a.keys = resize(a.keys, len(id))
	keys := a.keys
	for j, x := range id {
		keys[j] = uint64(uint32(x))<<32 | uint64(j)
	}
	slices.Sort(keys)
	a.d2 = append(a.d2[:0], d...)
	for j, k := range keys {
		id[j] = int32(k >> 32)
		d[j] = a.d2[uint32(k)]
	}
}

// answerArena hands out a worker's radius answers from chunks shared by
// many queries, and holds the buffers their sorts use, where each query
// had made two copies and its sort two more (BenchmarkWithinReal's
// held-out lists: bunny 18,084 -> 196 allocations, letter 9,953 -> 286).
type answerArena struct {
	d    []float64 // the free part of the current chunks
	id   []int32
	size int // the current chunks' size: from 256, doubling up to answerChunk
	// The sorts' buffers.
	keys []uint64
	perm []int
	d2   []float64
	id2  []int32
}

// answerChunk is the largest size of an answerArena's chunks (their
// first is 256, so that a batch of one small answer takes little more).
// Neither size was tuned: they bound what a worker holds unused.
const answerChunk = 4096

// take returns slices holding copies of d and id (of equal length), cut
// from the arena's chunks; no other call returns the same memory.
func (a *answerArena) take(d []float64, id []int32) ([]float64, []int32) {
	n := len(d)
	if len(a.d) < n {
		a.size = min(max(2*a.size, 256), answerChunk)
		c := max(n, a.size)
		a.d, a.id = make([]float64, c), make([]int32, c)
	}
	ds, ids := a.d[:n:n], a.id[:n:n]
	a.d, a.id = a.d[n:], a.id[n:]
	copy(ds, d)
	copy(ids, id)
	return ds, ids
}
