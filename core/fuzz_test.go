package core

import (
	"slices"
	"testing"
)

// FuzzUpdates drives a tree through a sequence of inserts, deletes and
// queries decoded from the fuzzer's bytes, on small integer coordinates
// (so duplicates and ties abound), and checks after every step that the
// invariants hold and that k-NN and radius answers equal brute force over
// the live points. Run it with
//
//	go test ./core -run '^$' -fuzz FuzzUpdates -fuzztime 1m
//
// Without -fuzz it runs the seed corpus.
func FuzzUpdates(f *testing.F) {
	f.Add([]byte{0, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 3, 2, 0, 9})
	f.Add([]byte{0, 12, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 1, 255, 0, 3, 1, 1, 2, 7})
	f.Add([]byte{2, 40, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 1, 7, 0, 2, 1, 170, 2, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		const dim = 2
		rd := func() byte {
			if len(ops) == 0 {
				return 0
			}
			b := ops[0]
			ops = ops[1:]
			return b
		}
		live := map[int][]float64{}
		var tr *Tree[float64]
		for step := 0; len(ops) > 0 && step < 12; step++ {
			switch op := rd() % 3; {
			case op == 0 || tr == nil: // insert
				m := 1 + int(rd()%24)
				pts := make([]float64, m*dim)
				for i := range pts {
					pts[i] = float64(rd() % 7)
				}
				var first int
				var err error
				if tr == nil {
					tr, err = Build(pts, dim, Options{Seed: uint64(step)})
				} else {
					tr, first, err = tr.Insert(pts, UpdateOptions{Jobs: 2})
				}
				if err != nil {
					t.Fatal(err)
				}
				for i := range m {
					live[first+i] = pts[i*dim : (i+1)*dim]
				}
			case op == 1: // delete a subset chosen by a mask byte
				mask := rd()
				var ids []int64
				for _, id := range tr.LiveIDs(nil) {
					if (mask>>(id%8))&1 == 1 {
						ids = append(ids, id)
					}
				}
				nt, err := tr.Delete(ids, UpdateOptions{Jobs: 2})
				if err != nil {
					t.Fatal(err)
				}
				tr = nt
				for _, id := range ids {
					delete(live, int(id))
				}
			default: // query
				q := []float64{float64(rd()%9) - 1, float64(rd()%9) - 1}
				checkQuery(t, tr, live, q)
			}
			if err := tr.Check(); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		if tr != nil {
			checkQuery(t, tr, live, []float64{3, 3})
		}
	})
}

// checkQuery compares k-NN (every k, both strategies) and radius answers
// of q with brute force over the live points.
func checkQuery(t *testing.T, tr *Tree[float64], live map[int][]float64, q []float64) {
	t.Helper()
	if tr.Len() != len(live) {
		t.Fatalf("tree holds %d points, want %d", tr.Len(), len(live))
	}
	if len(live) == 0 {
		return
	}
	want := bruteLive(tr, live, q, len(live), -1)
	for k := 1; k <= len(live); k++ {
		for _, st := range []Strategy{DepthFirst, Corrected} {
			dist := make([]float64, k)
			idx := make([]int64, k)
			if err := tr.KNearestBatch(Batch[float64]{Points: q, Strategy: st}, k, dist, idx); err != nil {
				t.Fatal(err)
			}
			for j := range k {
				if int(idx[j]) != want[j].Index || dist[j] != want[j].Dist {
					t.Fatalf("%v k=%d: got %v %v, want %v", st, k, idx, dist, want[:k])
				}
			}
		}
	}
	for _, r := range []float64{0, 1, 2.5, 100} {
		got, err := tr.Within(q, r)
		if err != nil {
			t.Fatal(err)
		}
		var in []Neighbor
		for _, w := range want {
			if w.Dist <= r {
				in = append(in, w)
			}
		}
		if !slices.Equal(got, in) {
			t.Fatalf("radius %v: got %v, want %v", r, got, in)
		}
	}
}
