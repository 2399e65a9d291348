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

// sortByIndex sorts one query's radius answers by caller index (every
// index appears once).
func sortByIndex(d []float64, id []int32) {
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
	keys := make([]uint64, len(id))
	for j, x := range id {
		keys[j] = uint64(uint32(x))<<32 | uint64(j)
	}
	slices.Sort(keys)
	d2 := slices.Clone(d)
	for j, k := range keys {
		id[j] = int32(k >> 32)
		d[j] = d2[uint32(k)]
	}
}
