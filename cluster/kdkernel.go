package cluster

// The k-d tree's distance kernels. A leaf's points are also kept column
// by column ("lanes": coordinate a of the leaf's points j = 0, 1, ... at
// a*w+j, w the leaf's size rounded up to a multiple of 4, the padding
// zero), so that one query's squared distances to all of a leaf's points
// are computed together, four points to a vector, with no early exit.
// Each point's sum is still the sequential sum of its squared
// differences in column order, multiplies and adds unfused: the bits
// sqDist sums, so every decision stays scikit-learn's. The tests of a
// point against a box sum in another order, with a margin (kdBoxMargin)
// outside which the order cannot change the decision.

// kdLaneWidth returns the number of lanes a leaf of m points takes.
func kdLaneWidth(m int) int { return (m + 3) &^ 3 }

// kdSquaresScalar sets out[j], for j < w, to the sum over a of
// (q[a] - block[a*w+j])^2, summed in order of a from 0.
func kdSquaresScalar(block []float64, w int, q []float64, out []float64) {
	out = out[:w]
	clear(out)
	for a, x := range q {
		row := block[a*w : a*w+w]
		for j, y := range row {
			d := x - y
			out[j] += float64(d * d)
		}
	}
}

// kdBoxSumsScalar returns the sums of the squared gaps from q to the box
// [lo, hi] (near) and of the squared distances to its farthest corner
// (far, only if wantFar), in column order.
func kdBoxSumsScalar(lo, hi, q []float64, wantFar bool) (near, far float64) {
	lo, hi = lo[:len(q)], hi[:len(q)]
	for a, x := range q {
		l, h := lo[a], hi[a]
		var dn float64
		if x < l {
			dn = l - x
		} else if x > h {
			dn = x - h
		}
		near += float64(dn * dn)
		if wantFar {
			df := max(x-l, h-x)
			far += float64(df * df)
		}
	}
	return near, far
}

// kdBoxMargin bounds the relative difference between two sums of the
// same at most 64 non-negative terms in different orders (each within
// 63 units of rounding, 2^-53 each, of the exact sum), with room to
// spare: a sum in another order that exceeds e2 by more than this
// fraction proves the column-order sum exceeds e2 too, and one below
// e2 by more proves it is at most e2.
const kdBoxMargin = 1e-13

// kdBoxGap returns the sum of the squared gaps between the boxes [la, ha]
// and [lb, hb], in column order, and the largest gap, stopping as soon as
// the sum exceeds limit (the largest gap is then of the columns summed).
func kdBoxGap(la, ha, lb, hb []float64, limit float64) (sum, largest float64) {
	lb, hb = lb[:len(la)], hb[:len(la)]
	ha = ha[:len(la)]
	for a := range la {
		var g float64
		if lb[a] > ha[a] {
			g = lb[a] - ha[a]
		} else if la[a] > hb[a] {
			g = la[a] - hb[a]
		}
		sum += float64(g * g) // rounded before the sum, as sqDist does (no fused multiply-add)
		largest = max(largest, g)
		if sum > limit {
			break
		}
	}
	return sum, largest
}
