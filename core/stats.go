package core

import (
	"slices"
	"unsafe"
)

// Stats describes a tree's shape and the work spent on it.
type Stats struct {
	Points     int // caller points, duplicates included
	Nodes      int // distinct points
	Dim        int
	MinLevel   int // lowest level of any node
	MaxLevel   int // the root's level: one above its highest child
	Levels     int // distinct levels in use
	Depth      int // edges on the longest root-to-leaf path
	MaxFanout  int // most children of one node at one level
	BuildEvals int64
	QueryEvals int64
	// NodesPerLevel maps each level in use to its number of nodes.
	NodesPerLevel map[int]int
}

// rootLevel returns the level reported for the root: one above its
// highest child, or 0 for a lone root.
func (t *Tree[T]) rootLevel() int32 {
	if rn := t.node(t.root); len(rn.groups()) > 0 {
		return rn.groups()[0].level + 1
	}
	return 0
}

// Stats returns the tree's shape and distance-evaluation counts.
func (t *Tree[T]) Stats() Stats {
	s := Stats{
		Points:        t.n,
		Nodes:         t.nodes,
		Dim:           t.s.dim,
		BuildEvals:    t.buildEvals,
		QueryEvals:    t.queryEvals.Load(),
		NodesPerLevel: map[int]int{},
	}
	if t.root < 0 {
		return s
	}
	rl := t.rootLevel()
	s.MaxLevel, s.MinLevel = int(rl), int(rl)
	type entry struct {
		u     int32
		depth int
	}
	stack := []entry{{t.root, 0}}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := t.node(e.u)
		l := n.level
		if e.u == t.root {
			l = rl
		}
		s.NodesPerLevel[int(l)]++
		s.MinLevel = min(s.MinLevel, int(l))
		s.Depth = max(s.Depth, e.depth)
		for g := range n.groups() {
			s.MaxFanout = max(s.MaxFanout, int(n.groups()[g].end-n.groupStart(g)))
		}
		for _, c := range n.children() {
			stack = append(stack, entry{c, e.depth + 1})
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

// NodeInfo describes one node for inspection and drawing.
type NodeInfo struct {
	ID     int // the node's smallest caller index, which names it
	Count  int // the caller points it holds (more than one for duplicates)
	Level  int // its level; the root's is one above its highest child
	Parent int // the ID of its parent, or -1 for the root
}

// Structure returns every node, parents before children.
func (t *Tree[T]) Structure() []NodeInfo {
	if t.root < 0 {
		return nil
	}
	rl := t.rootLevel()
	order := t.preorder()
	out := make([]NodeInfo, 0, len(order))
	for _, u := range order {
		n := t.node(u)
		info := NodeInfo{ID: int(n.id[0]), Count: int(n.nid), Level: int(n.level), Parent: -1}
		if u == t.root {
			info.Level = int(rl)
		} else {
			info.Parent = int(t.node(n.parent).id[0])
		}
		out = append(out, info)
	}
	return out
}

// Memory counts the bytes a tree version refers to, by what they hold. A
// version shares unchanged chunks with the versions it was made from or
// that were made from it, so the memories of two versions overlap; each
// counts everything it can reach. Slices count their capacity; the
// allocator's rounding and the Go runtime's own overhead are not included.
type Memory struct {
	Nodes  int64 // node records, a fixed size each, in chunks of 256 slots
	Points int64 // coordinates, in the same chunks
	Kids   int64 // child lists, with the record each node with children keeps them and its groups in
	Groups int64 // per-level summaries of the child lists
	IDs    int64 // caller indices of the nodes that hold several (a node of one holds it in its record)
	IDMap  int64 // the map from caller index to node, in chunks of 256
	// SearchLayout is the size of the version's search layout: a copy of
	// the coordinates in the search's order, per node its bounds and child
	// ranges, the caller indices, and in up to four Euclidean dimensions
	// bounding boxes. The version makes it when the k-nearest queries
	// asked of it reach 1/64 as many as its nodes (in one batch or
	// several) and keeps it while it lives; 0 until then (see
	// SearchLayoutBuilt).
	SearchLayout int64
	// SearchLayoutBuilt reports whether the version holds its search
	// layout.
	SearchLayoutBuilt bool
}

// Total returns the bytes of every kind together, the search layout
// included once built.
func (m Memory) Total() int64 {
	return m.Nodes + m.Points + m.Kids + m.Groups + m.IDs + m.IDMap + m.SearchLayout
}

// Memory returns the bytes the tree refers to.
func (t *Tree[T]) Memory() Memory {
	var m Memory
	var zero T
	s := t.s
	nodeSize := int64(unsafe.Sizeof(node{}))
	for _, c := range s.chunks {
		m.Nodes += int64(len(c.nodes)) * nodeSize
		m.Points += int64(cap(c.pts)) * int64(unsafe.Sizeof(zero))
		for i := range c.nodes {
			n := &c.nodes[i]
			if n.fam != nil {
				dups := 0 // a node of one caller index holds it in its record
				if n.nid > 1 {
					dups = int(n.nid)
				}
				m.Kids += int64(unsafe.Sizeof(family{})) + int64(cap(n.fam.list)-dups)*int64(unsafe.Sizeof(int32(0)))
				m.Groups += int64(cap(n.groups())) * int64(unsafe.Sizeof(group{}))
				m.IDs += int64(dups) * int64(unsafe.Sizeof(int32(0)))
			}
		}
	}
	m.IDMap = int64(cap(s.idc)) * int64(unsafe.Sizeof((*idChunk)(nil)))
	for _, c := range s.idc {
		if c != nil {
			m.IDMap += int64(unsafe.Sizeof(*c))
		}
	}
	if f := t.flat.f.Load(); f != nil {
		m.SearchLayout, m.SearchLayoutBuilt = f.bytes(), true
	}
	return m
}
