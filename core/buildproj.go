package core

import (
	"math"
	"math/rand/v2"
)

// A projection screen for the batch construction in many Euclidean
// dimensions.
//
// There the construction's distance loop reads every row of a call's set
// for every new child (a 784-float row is 3 KiB: on 10,000 points of 30
// clusters in 784 dimensions, one thread, 252 ns a distance, 71% of the
// build in the row kernel, and a single-precision version of that kernel
// was no faster: the loop waits on memory). Every row is also projected
// once onto k orthonormal directions that follow the data (a randomized
// range finder on a sample), and a row whose projection lies farther from
// the child's than the call's far radius (with a bound on the rounding) is
// farther from the child itself, since an orthonormal projection shortens
// every vector: it is settled from k numbers instead of dim. Only the rows
// left are measured, by the same kernel as before, so the same points are
// placed with the same distances and the tree does not change.
//
// The sets carry their points' projections (k single-precision numbers a
// point, moved with the points as a lower-dimensional build moves their
// coordinates), and the screen runs the row kernel over them a block at a
// time: below a bound common to the block (blockBound) a row is left to
// the screen's own test, above it settled. Read at random from the rows'
// projections, one at a time, the screen had taken 22% of a build of
// Fashion-MNIST's first 10,000 images; carried, the same rows are settled
// and measured (918 distances a point) in 3.5-3.8 s instead of 4.8 (20,000
// images: 16.5 against 23.0 s; one thread, load about 1.5). 64 directions
// instead of 32, carried, measured 20% fewer distances and 3.1-3.5 s on
// those 10,000 images, but took 30-40% longer on 10,000 points of the
// 784-D clusters (the projections of every row cost more than the screen
// saves there, 66 distances a point): not kept.

// buildProj holds the rows' projections and their rounding bounds.
type buildProj struct {
	k int
	// p holds row r's projection at p[r*k:(r+1)*k], rounded to single
	// precision (half the reads); e[r] bounds the error of the stored
	// projection (Euclidean norm).
	p []float32
	e []float64
	// emax is the largest of e.
	emax float64
	// The rows again, a byte a coordinate (see quantizeRows; u is nil where
	// the projections capture nearly all of the rows): row r's centred
	// coordinates are within qe[r] of qs[r] times u[r*dim:(r+1)*dim] (each
	// product rounded to single precision), and mu is the centre.
	dim int
	u   []int8
	qs  []float32
	qe  []float64
	mu  []float64
	// stretch bounds ||P v|| / ||v|| above for the computed directions P
	// (1 up to the rounding of their orthonormalisation).
	stretch float64
}

// Projection screen parameters: rows of at least projMinDims coordinates,
// sets of at least projMinRows points, projDims directions (at most a
// quarter of the coordinates), found from projSample rows. When a screened
// row cost about 20 ns (its projection read at random, the bound, the
// loop) and a row of the row kernel about a quarter of a nanosecond a
// coordinate, on 10,000 points of 30 clusters (one thread), the screen
// built 32 and 64 dimensions 1.5 to 2 times slower, 128 about as fast and
// 256 1.3 to 2.4 times faster; the threshold was not measured again since
// the sets carry the projections.
const (
	projMinDims = 192
	projMinRows = 2048
	projDims    = 32
	projSample  = 512
	// A builder drops the screen once it has left more than projKeep of
	// projCheck rows or more to measure (batchBuilder.projUseful).
	projCheck = 1 << 16
	projKeep  = 0.7
)

// newBuildProj projects the n rows of data (dim columns) for the batch
// construction, on the team's goroutines, or returns nil where the screen
// does not apply (few dimensions or points). The directions depend on the
// data and seed alone.
func newBuildProj[T Float](data []T, dim int, seed uint64, tm *team) *buildProj {
	n := len(data) / dim
	if dim < projMinDims || n < projMinRows {
		return nil
	}
	k := min(projDims, dim/4)
	// The centre: any fixed vector would do (it cancels between two
	// rows); the mean keeps the projected numbers small.
	mean := make([]float64, dim)
	for r := range n {
		for j, v := range data[r*dim : (r+1)*dim] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e0f))
	m := min(n, projSample)
	sample := make([]float64, m*dim)
	for i, r := range rng.Perm(n)[:m] {
		for j, v := range data[r*dim : (r+1)*dim] {
			sample[i*dim+j] = float64(v) - mean[j]
		}
	}
	// Range finder with one power step: Y = S^T (S Omega), columns
	// orthonormalised twice by Gram-Schmidt.
	omega := make([]float64, dim*k)
	for i := range omega {
		omega[i] = rng.NormFloat64()
	}
	so := make([]float64, m*k) // S Omega
	for i := range m {
		row := sample[i*dim : (i+1)*dim]
		for c := range k {
			var s float64
			for j, v := range row {
				s += v * omega[j*k+c]
			}
			so[i*k+c] = s
		}
	}
	dirs := make([][]float64, k) // Y's columns, then the directions
	for c := range k {
		y := make([]float64, dim)
		for i := range m {
			w := so[i*k+c]
			for j, v := range sample[i*dim : (i+1)*dim] {
				y[j] += v * w
			}
		}
		dirs[c] = y
	}
	dirs = orthonormal(dirs)
	k = len(dirs)
	if k == 0 {
		return nil
	}
	// stretch: ||P v||^2 <= lambda_max(P P^T) ||v||^2, and by
	// Gershgorin lambda_max <= 1 + k * max |P P^T - I|.
	var off float64
	for a := range k {
		for c := range k {
			d := dot(dirs[a], dirs[c])
			if a == c {
				d--
			}
			off = max(off, math.Abs(d))
		}
	}
	pr := &buildProj{k: k, p: make([]float32, n*k), e: make([]float64, n),
		stretch: math.Sqrt(1+float64(k)*off) * (1 + 1e-12)}
	// A computed coordinate of the projection, the sum of dim products of
	// a unit direction and the centred row c, is within
	// gamma_dim * ||c|| of the exact one (Cauchy-Schwarz), and centring
	// adds at most 2^-53 ||c||: the projection's error is within
	// sqrt(k) * (dim+2) * 2^-52 * ||c||, doubled here for safety. Rounding
	// the projection p to single precision moves it by at most 2^-24 ||p||.
	errScale := math.Sqrt(float64(k)) * float64(dim+2) * 0x1p-51
	// The share of the centred rows' squared norms the directions
	// capture, summed per goroutine.
	norms := make([][2]float64, tm.size())
	tm.forRange(n, func(w, lo, hi int) {
		c := make([]float64, dim)
		var sum [2]float64
		defer func() { norms[w][0] += sum[0]; norms[w][1] += sum[1] }()
		for r := lo; r < hi; r++ {
			var norm float64
			for j, v := range data[r*dim : (r+1)*dim] {
				c[j] = float64(v) - mean[j]
				norm += c[j] * c[j]
			}
			p := pr.p[r*k : (r+1)*k]
			var pn float64
			for a, d := range dirs {
				v := dot(d, c)
				p[a] = float32(v)
				pn += v * v
			}
			pr.e[r] = (errScale*math.Sqrt(norm) + 0x1p-23*math.Sqrt(pn)) * (1 + 1e-9)
			sum[0] += pn
			sum[1] += norm
		}
	})
	for _, e := range pr.e {
		pr.emax = max(pr.emax, e)
	}
	var captured, total float64
	for _, s := range norms {
		captured, total = captured+s[0], total+s[1]
	}
	if captured < quantCaptured*total {
		quantizeRows(pr, data, dim, mean, tm)
	}
	return pr
}

// quantCaptured is the share of the centred rows' squared norms beyond
// which the projections settle nearly every row the byte screen would,
// and the rows are not stored a byte a coordinate (quantizeRows): 784-D
// clusters of intrinsic dimension 20 put 99.97% in 32 directions, and the
// bytes only cost their making there (0.47 -> 0.64-0.71 s, one thread,
// 10,000 points); Fashion-MNIST's images put 78% there.
const quantCaptured = 0.99

// The rows a byte a coordinate: a second screen for the rows the
// projections leave. Each centred row c = x - mu is stored as a scale s
// (single precision) and 127 or fewer steps u_j of it, with e bounding
// ||c - fl(s u)|| (computed in double precision from the products as the
// kernel forms them). For a child q, centred and rounded to single
// precision as q' (within eq of q - mu), ||fl(s u) - q'|| is at least the
// computed sum's root shrunk by the kernel's rounding bound, so the
// distance from x to q is at least that less e and eq: a row whose bound
// exceeds the far radius is settled reading dim bytes instead of dim
// floats, and the rest are measured as before, four rows at a time (their
// loads in flight together; each row's sum has the one-row kernel's bits).
// The tree does not change; the distances measured do. Fashion-MNIST's
// first 20,000 images (one thread, old and new alternated, load average
// falling from 2.6 as other work ended): 13.8 -> 10.5 s, 1,614
// -> 676 distances a point; the first 10,000: 918 -> 419. Where the
// directions capture 99% of the centred rows' squared norms the bytes are
// not made (quantCaptured).

// quantizeRows fills pr's byte rows from data (dim columns) centred on
// mean.
func quantizeRows[T Float](pr *buildProj, data []T, dim int, mean []float64, tm *team) {
	n := len(data) / dim
	pr.dim, pr.mu = dim, mean
	pr.u, pr.qs, pr.qe = make([]int8, n*dim), make([]float32, n), make([]float64, n)
	tm.forRange(n, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			x, u := data[r*dim:(r+1)*dim], pr.u[r*dim:(r+1)*dim]
			var m float64
			for j, v := range x {
				m = max(m, math.Abs(float64(v)-mean[j]))
			}
			sc := float32(m / 127)
			if !(sc > 0) || math.IsInf(float64(sc), 0) {
				// One point at the centre, or beyond single precision:
				// no bound that settles anything.
				pr.qs[r], pr.qe[r] = 0, math.Inf(1)
				continue
			}
			// e bounds ||c - fl(s u)|| from the computed c; c itself is
			// within 2^-53 ||c|| of x - mu (one rounding a coordinate).
			var e, norm float64
			inv := 1 / float64(sc)
			for j, v := range x {
				c := float64(v) - mean[j]
				// The nearest step or one next to it: e accounts for
				// whichever is stored.
				k := int64(c*inv + math.Copysign(0.5, c))
				u[j] = int8(max(-127, min(127, k)))
				d := c - float64(quantStep(sc, u[j]))
				e += d * d
				norm += c * c
			}
			pr.qs[r], pr.qe[r] = sc, (math.Sqrt(e)+0x1p-52*math.Sqrt(norm))*(1+1e-9)
		}
	})
}

// quantStep returns scale s times step u rounded to single precision, as
// the kernel forms it.
func quantStep(s float32, u int8) float32 { return float32(s * float32(u)) }

// quantQuery is a child centred and rounded to single precision for the
// byte screen (q), and the bound on its rounding (e).
type quantQuery struct {
	q []float32
	e float64
}

// quantQueryOf returns row qc centred and rounded for the byte screen, in buf's
// storage.
func quantQueryOf[T Float](pr *buildProj, qc []T, buf []float32) quantQuery {
	buf = buf[:0]
	var e, norm float64
	for j, v := range qc {
		c := float64(v) - pr.mu[j]
		f := float32(c)
		buf = append(buf, f)
		d := c - float64(f)
		e += d * d
		norm += c * c
	}
	return quantQuery{q: buf, e: (math.Sqrt(e) + 0x1p-52*math.Sqrt(norm)) * (1 + 1e-9)}
}

// bytes returns row x's steps.
func (pr *buildProj) bytes(x int32) []int8 {
	return pr.u[int(x)*pr.dim : int(x+1)*pr.dim]
}

// quantSettles reports whether row x is settled farther than rFar from
// the child qq by its bytes (see quantizeRows), given s, quantSquares4's
// sum for the row. The kernel's sum of squares of
// single-precision differences, in lanes, is within (dim+3) units of
// single-precision rounding of the exact sum of the same differences (each
// difference and square rounded once, each lane summed in order, lanes
// added in double precision), widened here by 1%; sums so small that
// single precision would round them in its subnormal range settle nothing.
func (pr *buildProj) quantSettles(s float64, x int32, qq quantQuery, rFar float64) bool {
	e := pr.qe[x]
	if math.IsInf(e, 0) || !(s > 1e-20) || math.IsInf(s, 0) {
		return false
	}
	gamma := float64(pr.dim+3) * 0x1p-24 * 1.01
	lb := math.Sqrt(s/(1+gamma))*(1-1e-15) - e - qq.e
	return lb > rFar*(1+1e-9)
}

// quantScreen drops from cand (positions into es, ascending) the rows the
// bytes settle farther than rFar from qq, four rows at a time, and returns
// how many are left, in order, at the front of cand.
func (pr *buildProj) quantScreen(cand []int32, es []batchEntry, qq quantQuery, rFar float64) int {
	if pr.u == nil {
		return len(cand)
	}
	keep := 0
	var u [4][]int8
	var sc [4]float32
	var out [4]float64
	for a := 0; a < len(cand); a += 4 {
		m := min(4, len(cand)-a)
		for t := range 4 {
			x := es[cand[a+min(t, m-1)]].x
			u[t], sc[t] = pr.bytes(x), pr.qs[x]
		}
		quantSquares4(u, sc, qq.q, &out)
		for t := range m {
			j := cand[a+t]
			if pr.quantSettles(out[t], es[j].x, qq, rFar) {
				continue
			}
			cand[keep] = j
			keep++
		}
	}
	return keep
}

// orthonormal returns orthonormal vectors spanning those of vs (modified
// Gram-Schmidt, each vector twice), leaving out those that lose nearly all
// their length to the earlier ones.
func orthonormal(vs [][]float64) [][]float64 {
	var out [][]float64
	for _, v := range vs {
		before := math.Sqrt(dot(v, v))
		for range 2 {
			for _, u := range out {
				d := dot(u, v)
				for j := range v {
					v[j] -= d * u[j]
				}
			}
		}
		norm := math.Sqrt(dot(v, v))
		if !(norm > 1e-6*before) {
			continue
		}
		for j := range v {
			v[j] /= norm
		}
		out = append(out, v)
	}
	return out
}

// dot returns the dot product of a and b.
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// beyond reports whether row x is settled farther than rFar from row q by
// their projections: the computed distance between the projections, less
// both rows' rounding bounds, over the directions' stretch, exceeds rFar
// with a margin for the rounding of the sum of squares and of the tree's
// own kernel.
func (pr *buildProj) beyond(q, x int32, rFar float64) bool {
	k := pr.k
	return pr.beyondSquare(vecSquare(pr.p[int(x)*k:int(x)*k+k], pr.p[int(q)*k:int(q)*k+k]), q, x, rFar)
}

// beyondSquare is beyond given s, the sum of squares of the difference
// between the two rows' stored projections (vecSquare's, or the row
// kernel's: the same bits).
func (pr *buildProj) beyondSquare(s float64, q, x int32, rFar float64) bool {
	lb := math.Sqrt(s)*(1-float64(pr.k+2)*0x1p-52) - pr.e[q] - pr.e[x]
	return lb > pr.stretch*rFar*(1+1e-9)
}

// blockBound returns a square of projections' difference beyond which
// beyondSquare holds for row q and every row: the bound of beyondSquare
// with the largest rounding bound of any row, widened by a millionth,
// far more than the rounding of the comparison's own terms.
func (pr *buildProj) blockBound(q int32, rFar float64) float64 {
	a := (pr.stretch*rFar*(1+1e-9) + pr.e[q] + pr.emax) * (1 + 1e-6) / (1 - float64(pr.k+2)*0x1p-52)
	b := a * a
	if !(b < math.Inf(1)) {
		return math.Inf(1)
	}
	return b
}
