package core

import "math"

// kthGuess guesses a query's k-th neighbour distance from the previous
// query's, for the layout's search to try first (see flatTree.knn). The
// queries of a batch are answered in an order that puts each near the one
// before (see plan), and there the k-th distance changes little where the
// data's density does: on bunny's held-out rows (k = 10), 1.25 times the
// previous one's was too small for 3% of the queries, and the guess cut a
// query's time by 10% to 15%. Where the density changes abruptly, on zip
// codes (21% too small), a failed guess costs more than the good ones
// save, so a worker guesses only while fewer than guessMaxMisses of its
// recent guesses, made or not, would have failed. It starts afresh with
// each block of queries it takes (forget), so that the work done does not
// depend on the scheduler.
type kthGuess struct {
	next   float64 // the guess for the query at place for1-1 of the order
	for1   int     // 0: no guess
	misses float64 // the failed share of recent guesses, decayed
	tries  int64   // searches run again after a failed guess (flatTree.knn)
}

// forget starts the guesses afresh, as if every recent one had failed at
// the rate that stops them: the first that would have been right starts
// them again.
func (g *kthGuess) forget() {
	g.for1, g.misses = 0, guessMaxMisses
}

// at returns the guess for the query at place seq of the batch's order,
// +Inf for none.
func (g *kthGuess) at(seq int) float64 {
	if g.for1 != seq+1 || g.misses >= guessMaxMisses {
		return math.Inf(1)
	}
	return g.next
}

// learn records the k-th distance w of the query at place seq, found
// after a guess at(seq) or without one, and makes the guess for the next.
func (g *kthGuess) learn(seq int, w float64) {
	if g.for1 == seq+1 {
		miss := 0.0
		if w > g.next {
			miss = 1
		}
		g.misses += (miss - g.misses) / guessMemory
	}
	g.for1 = 0
	if w > 0 && w < math.Inf(1) {
		g.next, g.for1 = guessFactor*w, seq+2
	}
}

// guesses reports whether the layout's batches guess each query's k-th
// distance: in Euclidean (and cosine) layouts of at most boxDims
// dimensions, where it paid. In 10 and 16 dimensions (magic, pendigits,
// letter; k = 10) the k-th distances of neighbouring queries differ more
// (on magic's held-out rows the next one's was over 1.25 times the last
// one's for a fifth of them), and guessing, gated as above, made 1% to 4%
// more distance evaluations than not guessing, for no gain in time.
func (f *flatTree[T]) guesses() bool {
	return f.euclid && f.dim <= boxDims
}

// guessFactor times the k-th neighbour distance of the previous query is
// the guess at a query's own (see kthGuess); guessRetry times a guess that
// failed is the next, and then none.
const (
	guessFactor    = 1.25
	guessRetry     = 4
	guessMaxMisses = 0.1 // the share of failed guesses above which a worker stops guessing
	guessMemory    = 16  // about the number of recent guesses whose failures count
)
