package core

import (
	"math/rand/v2"
	"testing"
)

// shape describes a tree independently of slot numbering: for each caller
// index, its node's level, its parent's first caller index and distance.
func shape(t *Tree[float64]) [][3]float64 {
	var out [][3]float64
	for id := range t.IDs() {
		if !t.Has(id) {
			continue
		}
		u := t.s.nodeOf(int32(id))
		n := t.node(u)
		parentID := -1.0
		if n.parent >= 0 {
			parentID = float64(t.node(n.parent).idList()[0])
		}
		out = append(out, [3]float64{float64(n.level), parentID, n.pdist})
	}
	return out
}

func TestBuildDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	dim := 3
	data := make([]float64, 3000*dim)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	var ref [][3]float64
	for _, jobs := range []int{1, 2, 7} {
		for rep := 0; rep < 2; rep++ {
			tr, err := Build(data, dim, Options{Seed: 11, Jobs: jobs})
			if err != nil {
				t.Fatal(err)
			}
			s := shape(tr)
			if ref == nil {
				ref = s
				continue
			}
			for i := range ref {
				if s[i] != ref[i] {
					t.Fatalf("jobs=%d rep=%d: caller index %d has (level, parent, distance) %v, first build %v", jobs, rep, i, s[i], ref[i])
				}
			}
		}
	}
	other, err := Build(data, dim, Options{Seed: 12, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	same := true
	for i, s := range shape(other) {
		same = same && s == ref[i]
	}
	if same {
		t.Fatal("a different seed gave the same tree; the seed is not used")
	}
}
