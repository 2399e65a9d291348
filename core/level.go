package core

import "math"

// Levels use a base b > 1, 2 by default as in the papers: a child c is
// within b^(l(c)+1) of its parent, and nodes at levels >= i are more than
// b^i apart. The subtree of a node at level i then lies within
// rho*b^(i+1) of it, where rho = 1/(b-1).

// slack is the relative margin added to every geometric bound before it is
// used to discard a point. Distances are computed in float64 from exact
// coordinate differences, so their relative error is a few ulps times the
// dimension; 1e-9 keeps every comparison on the safe side (a discarded point
// is provably not an answer) at the price of rarely examining a few more.
const slack = 1e-9

// DefaultBase is the level base of the papers.
const DefaultBase = 2.0

// scale converts between levels and distances for a base.
type scale struct {
	base float64
	rho  float64 // 1/(base-1): subtree radius of a level-i node is rho*base^(i+1)
}

func newScale(base float64) scale { return scale{base: base, rho: 1 / (base - 1)} }

// pow returns base^i.
func (s scale) pow(i int32) float64 {
	if s.base == 2 {
		if i >= -1022 && i <= 1023 {
			// A normal power of two, built from its exponent (as
			// math.Ldexp makes it, for less).
			return math.Float64frombits(uint64(int64(i)+1023) << 52)
		}
		return math.Ldexp(1, int(i))
	}
	return math.Pow(s.base, float64(i))
}

// ceilLog returns the smallest integer j with d <= base^j, for finite d > 0.
// Trees keep every distance finite; an infinite d gets the highest level.
func (s scale) ceilLog(d float64) int32 {
	if math.IsInf(d, 1) {
		return levelInf - 1
	}
	if s.base == 2 {
		if b := math.Float64bits(d); b>>52 >= 1 && b>>52 <= 2046 {
			// Positive and normal, d = 1.m * 2^(e-1023): the exponent
			// when m is 0, else the next.
			e := int32(b>>52) - 1023
			if b&(1<<52-1) == 0 {
				return e
			}
			return e + 1
		}
		frac, exp := math.Frexp(d) // d = frac * 2^exp, frac in [0.5, 1)
		if frac == 0.5 {
			return int32(exp - 1)
		}
		return int32(exp)
	}
	j := int32(math.Ceil(math.Log(d) / math.Log(s.base)))
	for s.pow(j) < d {
		j++
	}
	for s.pow(j-1) >= d {
		j--
	}
	return j
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
