package core

import "slices"

// Stats describes a tree's shape and the work spent on it.
type Stats struct {
	Points     int // caller points, duplicates included
	Nodes      int // distinct points
	Dim        int
	MinLevel   int // lowest level of any node
	MaxLevel   int // the root's level
	Levels     int // distinct levels in use
	Depth      int // edges on the longest root-to-leaf path
	MaxFanout  int // most children of one node at one level
	BuildEvals int64
	QueryEvals int64
	// NodesPerLevel maps each level in use to its number of nodes.
	NodesPerLevel map[int]int
}

// Stats returns the tree's shape and distance-evaluation counts.
func (t *Tree[T]) Stats() Stats {
	nn := len(t.level)
	s := Stats{
		Points:        t.n,
		Nodes:         nn,
		Dim:           t.dim,
		MinLevel:      int(t.minLevel),
		MaxLevel:      int(t.level[0]),
		BuildEvals:    t.buildEvals,
		QueryEvals:    t.queryEvals.Load(),
		NodesPerLevel: map[int]int{},
	}
	depth := make([]int32, nn)
	for v := range nn {
		s.NodesPerLevel[int(t.level[v])]++
		if v > 0 {
			depth[v] = depth[t.parent[v]] + 1
			s.Depth = max(s.Depth, int(depth[v]))
		}
		for g := t.grpOff[v]; g < t.grpOff[v+1]; g++ {
			s.MaxFanout = max(s.MaxFanout, int(t.grpEnd[g]-t.grpFirst[g]))
		}
	}
	s.Levels = len(s.NodesPerLevel)
	return s
}

// LevelHistogram returns the levels in use, ascending, and the number of
// nodes at each.
func (s Stats) LevelHistogram() (levels, counts []int) {
	for l := range s.NodesPerLevel {
		levels = append(levels, l)
	}
	slices.Sort(levels)
	for _, l := range levels {
		counts = append(counts, s.NodesPerLevel[l])
	}
	return levels, counts
}
