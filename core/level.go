package core

import "math"

// Levels use base 2: a node at level i covers its children within 2^(i+1),
// and nodes at levels >= i are more than 2^i apart.

// slack is the relative margin added to every geometric bound before it is
// used to discard a point. Distances are computed in float64 from exact
// coordinate differences, so their relative error is a few ulps times the
// dimension; 1e-9 keeps every comparison on the safe side (a discarded point
// is provably not an answer) at the price of rarely examining a few more.
const slack = 1e-9

// pow2 returns 2^i.
func pow2(i int32) float64 { return math.Ldexp(1, int(i)) }

// ceilLog2 returns the smallest integer j with d <= 2^j, for finite d > 0.
func ceilLog2(d float64) int32 {
	frac, exp := math.Frexp(d) // d = frac * 2^exp, frac in [0.5, 1)
	if frac == 0.5 {
		return int32(exp - 1)
	}
	return int32(exp)
}

// within reports whether d <= bound up to the rounding slack.
func within(d, bound float64) bool { return d <= bound*(1+slack) }

// prunable reports whether every point of a set whose distances from the
// query are bounded below by d - rad lies beyond ub, with rounding slack.
func prunable(d, rad, ub float64) bool {
	return d-rad > ub+slack*(d+rad+ub)
}

const (
	levelInf    int32 = math.MaxInt32 // the root's level while building
	levelNegInf int32 = math.MinInt32 // "no level": Next of a node without lower children
)
