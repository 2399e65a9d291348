package core

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRadiiBound checks that the branch-and-bound radii equal, bit for
// bit, the maxima of walking every node up to every ancestor, on trees of
// both constructions, with duplicates and ties, in both precisions, and
// whatever the number of goroutines; that they measure fewer points; and
// that the weights and groups a build stores are those the same walk
// gives.
func TestRadiiBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cases := []struct {
		name   string
		dim    int
		data   []float64
		metric Metric
	}{
		{"uniform-2", 2, uniformRows(rng, 6000, 2), Metric{}},
		{"grid-ties-3", 3, gridRows(rng, 5000, 3), Metric{}},
		{"surface-3-manhattan", 3, surfaceRows(rng, 5000, 3), Metric{Kind: Manhattan}},
		{"gaussian-8", 8, gaussianRows(rng, 3000, 8), Metric{}},
		{"clusters-16-cosine", 16, clusterRows(rng, 2000, 16), Metric{Kind: Cosine}},
		{"near-duplicates-8", 8, nearNeighbours8(rng, 2000, 1e-7), Metric{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{Seed: 3, Jobs: 1, Metric: c.metric}
			for _, jobs := range []int{1, 3} {
				opts.Jobs = jobs
				tr, err := Build(c.data, c.dim, opts)
				if err != nil {
					t.Fatal(err)
				}
				checkRadiiBound(t, tr)
			}
			d32 := make([]float32, len(c.data))
			for i, x := range c.data {
				d32[i] = float32(x)
			}
			t32, err := Build(d32, c.dim, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkRadiiBound(t, t32)
		})
	}
}

// checkRadiiBound compares tr's radii by both methods, with 1 and 4
// goroutines, and the radii its build stored (computed on the
// generations its assembly passed, radiiOf) with the paths' too.
func checkRadiiBound[T Float](t *testing.T, tr *Tree[T]) {
	t.Helper()
	wantRad, wantReach, pathEvals := radiiByPaths(tr)
	for u := range wantRad {
		if n := tr.node(int32(u)); n.rad != wantRad[u] || n.reach != wantReach[u] {
			t.Fatalf("built, slot %d: rad %v reach %v, walking the paths gives %v and %v",
				u, n.rad, n.reach, wantRad[u], wantReach[u])
		}
	}
	// The weights and groups by the same walk of every path: a node's
	// caller indices counted at it and every ancestor, and each group's
	// weight and radius summed over its children and the later groups'.
	weight := make([]int64, tr.s.slots)
	for x := range tr.s.slots {
		for a := x; a >= 0; a = tr.node(a).parent {
			weight[a] += int64(tr.node(x).nid)
		}
	}
	for u := range tr.s.slots {
		n := tr.node(u)
		if n.weight != weight[u] {
			t.Fatalf("built, slot %d: weight %d, walking the paths gives %d", u, n.weight, weight[u])
		}
		kids := n.children()
		var want []group
		for i, c := range kids {
			if l := tr.node(c).level; i == 0 || l != want[len(want)-1].level {
				want = append(want, group{level: l})
			}
			want[len(want)-1].end = int32(i + 1)
		}
		for g := range want {
			for _, c := range kids[n.groupStartIn(want, g):] {
				want[g].w += weight[c]
				want[g].rad = max(want[g].rad, wantReach[c])
			}
		}
		if !slices.Equal(n.groups(), want) {
			t.Fatalf("built, slot %d: groups %v, walking the paths gives %v", u, n.groups(), want)
		}
	}
	for _, jobs := range []int{1, 4} {
		tm := newTeam(jobs)
		rad, reach, _, evals := tr.radiiBound(tm)
		tm.stop()
		for u := range wantRad {
			if rad[u] != wantRad[u] || reach[u] != wantReach[u] {
				t.Fatalf("jobs %d, slot %d: rad %v reach %v, walking the paths gives %v and %v",
					jobs, u, rad[u], reach[u], wantRad[u], wantReach[u])
			}
		}
		if evals > pathEvals {
			t.Errorf("jobs %d: %d evaluations, walking the paths takes %d", jobs, evals, pathEvals)
		}
	}
}

// radiiByPaths computes what radiiBound does by walking every node up to
// every ancestor (the reference).
func radiiByPaths[T Float](t *Tree[T]) (rad, reach []float64, evals int64) {
	rad = make([]float64, t.s.slots)
	reach = make([]float64, t.s.slots)
	for x := range t.s.slots {
		px := t.point(x)
		for c, a := x, t.node(x).parent; a >= 0; c, a = a, t.node(a).parent {
			d := t.node(x).pdist
			if c != x {
				d = t.dist(px, t.point(a))
				evals++
			}
			rad[a] = max(rad[a], d)
			reach[c] = max(reach[c], d)
		}
	}
	return rad, reach, evals
}
