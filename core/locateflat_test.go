package core

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLocLayoutMatchesTraversal checks that locating by the layout lists
// exactly the nodes the traversal lists, with the same levels and the same
// distances bit for bit, and so gives the same location, on the update
// tests' sets (synthetic sets with duplicates and ties under several
// metrics, letter and bunny), float64 and float32: for new points (some
// duplicating tree points, some far away) and, as a deletion locates its
// orphans, for the children of removed nodes with their floors, their own
// slots skipped and the removed nodes routing but not counted.
func TestLocLayoutMatchesTraversal(t *testing.T) {
	n := 1200
	if raceEnabled || testing.Short() {
		n = 400
	}
	for _, set := range updateSets() {
		t.Run(set.name, func(t *testing.T) {
			rows, err := set.rows(rand.New(rand.NewPCG(5, uint64(set.dim))), n)
			if err != nil {
				t.Skipf("data set not available: %v", err)
			}
			t.Run("float64", func(t *testing.T) { checkLocLayout(t, rows, set.dim, set.metric) })
			t.Run("float32", func(t *testing.T) { checkLocLayout(t, toFloat32(rows), set.dim, set.metric) })
		})
	}
}

func checkLocLayout[T Float](t *testing.T, rows []T, dim int, metric Metric) {
	n := len(rows) / dim
	cut := n * 6 / 10
	tr, err := Build(rows[:cut*dim], dim, Options{Seed: 3, Metric: metric})
	if err != nil {
		t.Fatal(err)
	}
	// A tree changed by updates too, whose nodes are no longer in build
	// order.
	up, _, err := tr.Insert(rows[cut*dim:(cut+n/10)*dim], UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if up, err = up.Delete([]int64{0, 5, 7, int64(cut + 3)}, UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, uint64(dim)))
	for name, tr := range map[string]*Tree[T]{"built": tr, "updated": up} {
		// New points: the rest of the rows, tree points (duplicates),
		// and far points.
		var pts [][]T
		for i := cut; i < n; i++ {
			pts = append(pts, rows[i*dim:(i+1)*dim])
		}
		for range 40 {
			i := rng.IntN(cut)
			p := slices.Clone(rows[i*dim : (i+1)*dim])
			if rng.IntN(2) == 0 {
				for j := range p {
					p[j] = T(float64(p[j])*(1+rng.Float64()) + 50*rng.NormFloat64())
				}
			}
			pts = append(pts, p)
		}
		lay := tr.locLayout(2)
		for k, p := range pts {
			if metric.Kind == Cosine {
				if p, err = tr.PreparePoint(p); err != nil {
					t.Fatal(err)
				}
			}
			sameLocation(t, tr, lay, p, levelNegInf, -1, nil, fmt.Sprintf("%s point %d", name, k))
		}
		// Orphans: remove a quarter of the nodes with children (never
		// the root) and locate each live child of a removed node.
		ghost := make([]bool, tr.s.slots)
		var orphans []int32
		for u := range tr.s.slots {
			if u != tr.root && tr.node(u).live() && len(tr.node(u).children()) > 0 && rng.IntN(4) == 0 {
				ghost[u] = true
			}
		}
		for u := range tr.s.slots {
			if ghost[u] {
				for _, c := range tr.node(u).children() {
					if !ghost[c] {
						orphans = append(orphans, c)
					}
				}
			}
		}
		if len(orphans) == 0 {
			t.Fatalf("%s: no orphans to locate", name)
		}
		for _, c := range orphans {
			sameLocation(t, tr, lay, tr.point(c), tr.node(c).level, c, ghost, fmt.Sprintf("%s orphan %d", name, c))
		}
	}
}

// sameLocation fails t unless the layout and the traversal list the same
// nodes for y and resolve them to the same location.
func sameLocation[T Float](t *testing.T, tr *Tree[T], lay *locLayout[T], y []T, floor, skip int32, ghost []bool, label string) {
	t.Helper()
	var q, q2 []locCand
	want, _, _, _ := tr.traverse(y, floor, nil, q, q2)
	got, _ := lay.list(tr, y, floor, nil, &locScan{})
	// Each in its own order: the location must not depend on it.
	var a, b located
	tr.resolve(floor, skip, ghost, want, &a)
	tr.resolve(floor, skip, ghost, got, &b)
	byNode := func(a, b listed) int { return cmp.Compare(a.node, b.node) }
	slices.SortFunc(want, byNode)
	slices.SortFunc(got, byNode)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: the layout lists %d nodes, the traversal %d (or they differ)", label, len(got), len(want))
	}
	if a.bound != b.bound || a.parent != b.parent || a.pdist != b.pdist || a.dup != b.dup ||
		!slices.Equal(a.seen, b.seen) || !slices.Equal(a.seenD, b.seenD) || !slices.Equal(a.seenL, b.seenL) {
		t.Fatalf("%s: locations differ", label)
	}
}
