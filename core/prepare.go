package core

import (
	"fmt"
	"math"
)

// Metrics served through a transformation: a Cosine tree stores its points
// normalised to unit length and searches with the Euclidean distance e,
// which on unit vectors is monotone in the cosine distance, c = e^2/2. These
// helpers apply the transformation at the edges: to points coming in, to
// distances going out, and to radii coming in.

// checkDim reports whether the metric accepts points of dimension dim.
func checkDim(m Metric, dim int) error {
	if err := m.checkParams(dim); err != nil {
		return err
	}
	if m.Kind == Haversine && dim != 2 {
		return fmt.Errorf("core: the haversine metric needs points of dimension 2 (latitude, longitude in radians), got %d", dim)
	}
	return nil
}

// maxLatitude is the largest latitude, in radians, a Haversine tree
// accepts: pi/2 and a relative 1e-6 of rounding.
const maxLatitude = math.Pi / 2 * (1 + 1e-6)

// prepare returns the points as the tree stores and searches them: for a
// Cosine metric, a normalised copy; otherwise the points themselves. It
// returns an error for a zero vector under Cosine.
func prepare[T Float](m Metric, points []T, dim int) ([]T, error) {
	if m.Kind == Haversine {
		// Beyond the poles the formula is not a metric. The bound allows
		// a relative 1e-6 of rounding (float32(pi/2) exceeds pi/2 by 4e-8);
		// haversine treats such a latitude as the pole itself.
		for i := 0; i < len(points); i += dim {
			if lat := float64(points[i]); !(math.Abs(lat) <= maxLatitude) {
				return nil, fmt.Errorf("point %d has latitude %v, outside [-pi/2, pi/2] (haversine takes radians)", i/dim, lat)
			}
		}
		return points, nil
	}
	if m.Kind.boolean() {
		return booleans(points), nil
	}
	if err := checkCustom[T](m); err != nil {
		return nil, err
	}
	if m.Kind != Cosine {
		return points, nil
	}
	out := make([]T, len(points))
	for i := 0; i < len(points); i += dim {
		row := points[i : i+dim]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		norm := math.Sqrt(ss)
		if ss > 0x1p900 || ss < 0x1p-900 { // the sum overflowed or underflowed (to 0, perhaps)
			norm = scaledNorm(row, make([]T, dim), 2)
		}
		if norm == 0 {
			return nil, fmt.Errorf("point %d is the zero vector, which has no cosine distance", i/dim)
		}
		for j, v := range row {
			out[i+j] = T(float64(v) / norm)
		}
	}
	return out, nil
}

// outDist converts a search distance to the metric's distance.
func (t *Tree[T]) outDist(d float64) float64 { return outDist(t.metric, d) }

// inRadius converts a radius in the metric's distance to a search radius.
func (t *Tree[T]) inRadius(r float64) float64 { return inRadius(t.metric, r) }

// outDist converts a search distance of an index with metric m to the
// metric's distance.
func outDist(m Metric, d float64) float64 {
	if m.Kind == Cosine {
		return min(d*d/2, 2)
	}
	return d
}

// inRadius converts a radius in metric m's distance to a search radius.
func inRadius(m Metric, r float64) float64 {
	if m.Kind == Cosine {
		return math.Sqrt(2 * r)
	}
	return r
}
