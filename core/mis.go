package core

import "golang.org/x/sync/errgroup"

// misScratch holds the buffers of the maximal independent set step.
type misScratch struct {
	local  map[int32]int32 // item -> vertex
	adj    [][]int32       // vertex -> neighbouring vertices
	state  []int8          // vertex: 0 active, 1 chosen, 2 removed
	chosen []int
}

// run returns a maximal independent set of the conflict graph over the
// items open, with an edge wherever two are within lim of each other. It
// runs Luby's rounds with the items' fixed priorities: an active vertex
// whose priority beats every active neighbour's joins the set, and it and
// its neighbours leave; so the result is the greedy set in priority order,
// the same for any number of workers.
func (m *misScratch) run(items []item, open []int, lim float64) []int {
	m.chosen = m.chosen[:0]
	if len(open) == 0 {
		return m.chosen
	}
	if m.local == nil {
		m.local = map[int32]int32{}
	}
	clear(m.local)
	for i, k := range open {
		m.local[int32(k)] = int32(i)
	}
	n := len(open)
	m.adj = m.adj[:0]
	m.state = m.state[:0]
	for i, k := range open {
		m.adj = append(m.adj, nil)
		m.state = append(m.state, 0)
		for _, nb := range items[k].nbr {
			if j, ok := m.local[nb.k]; ok && nb.d <= lim {
				m.adj[i] = append(m.adj[i], j)
			}
		}
	}
	// beats reports whether vertex j outranks vertex i: by priority, then
	// by item number, so ranks are distinct.
	beats := func(j, i int32) bool {
		pj, pi := items[open[j]].prio, items[open[i]].prio
		return pj > pi || (pj == pi && open[j] > open[i])
	}
	joins := make([]bool, n)
	for active := n; active > 0; {
		// Decide, in parallel for large graphs, who joins this round.
		decide := func(lo, hi int) {
			for i := lo; i < hi; i++ {
				joins[i] = false
				if m.state[i] != 0 {
					continue
				}
				win := true
				for _, j := range m.adj[i] {
					if m.state[j] == 0 && beats(j, int32(i)) {
						win = false
						break
					}
				}
				joins[i] = win
			}
		}
		const grain = 4096
		if n <= grain {
			decide(0, n)
		} else {
			var g errgroup.Group
			for lo := 0; lo < n; lo += grain {
				g.Go(func() error { decide(lo, min(lo+grain, n)); return nil })
			}
			g.Wait()
		}
		for i := range n {
			if !joins[i] {
				continue
			}
			m.state[i] = 1
			m.chosen = append(m.chosen, open[i])
			active--
			for _, j := range m.adj[i] {
				if m.state[j] == 0 {
					m.state[j] = 2
					active--
				}
			}
		}
	}
	return m.chosen
}
