package core

import "math"

// QuerySeconds returns the seconds one query for k nearest neighbours is
// expected to take on one CPU thread, by the cost model Auto chooses
// indexes with: the distance evaluations of a query on this version
// (measured the first time on k = 10 queries of a sample of its own
// points, on up to jobs threads, and kept with the version; they are not
// counted in DistanceEvals) priced as the cost model prices a query
// (queryFixed and a cost per evaluation), times k/10 above k = 10. It lets
// a caller weigh the tree's search against another device's.
func (t *Tree[T]) QuerySeconds(k, jobs int) (float64, error) {
	evals := math.Float64frombits(t.sampled.Load())
	if evals == 0 {
		_, before := t.DistanceEvals()
		e, _, err := sampleEvals(t, jobs)
		if err != nil {
			return 0, err
		}
		_, after := t.DistanceEvals()
		t.queryEvals.Add(before - after)
		evals = max(e, math.SmallestNonzeroFloat64)
		t.sampled.Store(math.Float64bits(evals))
	}
	return denseModel{t.Dim(), t.Metric()}.treeQuery(evals) * max(1, float64(k)/10), nil
}

// QuerySeconds returns the seconds one query for k nearest neighbours is
// expected to take on one CPU thread, by the cost model Auto chooses
// indexes with: a query's own cost and every point screened or measured
// (k and jobs do not change it; they match Tree.QuerySeconds).
func (f *BruteForce[T]) QuerySeconds(k, jobs int) (float64, error) {
	return denseModel{f.dim, f.metric}.bruteQuery(f.Len()), nil
}
