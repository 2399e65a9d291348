package core

import "sync/atomic"

// navNode is what a traversal reads of a child before deciding whether to
// measure it and whether to keep it: the node's distance to its parent,
// its radius and reach, and its first child group's level and radius
// (level levelNegInf when it has no children). A node keeps these in its
// own 120-byte record and its groups in a separate allocation, so reading
// them costs two or three cache lines a child; the table packs them into
// 40 bytes, children of a node next to each other as their slots are.
type navNode struct {
	pdist, rad, reach, g0rad float64
	g0level                  int32
}

// navTable holds the navNodes of a tree version, made a chunk of slots at
// a time by the first traversal that reads the chunk: a large batch reads
// most chunks many times over, and a small one makes only those it reads.
// Workers that race to make a chunk each make their own copy and one of
// them is kept, so no write is shared.
type navTable[T Float] struct {
	t      *Tree[T]
	chunks []atomic.Pointer[[chunkSize]navNode]
}

func newNavTable[T Float](t *Tree[T]) *navTable[T] {
	return &navTable[T]{t: t, chunks: make([]atomic.Pointer[[chunkSize]navNode], len(t.s.chunks))}
}

// get returns slot u's entry.
func (v *navTable[T]) get(u int32) *navNode {
	c := v.chunks[u>>chunkBits].Load()
	if c == nil {
		c = v.make(u >> chunkBits)
	}
	return &c[u&chunkMask]
}

// make fills and publishes chunk i's entries.
func (v *navTable[T]) make(i int32) *[chunkSize]navNode {
	c := new([chunkSize]navNode)
	src := &v.t.s.chunks[i].nodes
	for j := range src {
		n := &src[j]
		e := &c[j]
		e.pdist, e.rad, e.reach = n.pdist, n.rad, n.reach
		e.g0level = levelNegInf
		if len(n.grp) > 0 {
			e.g0level, e.g0rad = n.grp[0].level, n.grp[0].rad
		}
	}
	if v.chunks[i].CompareAndSwap(nil, c) {
		return c
	}
	return v.chunks[i].Load()
}

// navOf returns node n's entry, made on the spot.
func navOf(n *node) navNode {
	e := navNode{pdist: n.pdist, rad: n.rad, reach: n.reach, g0level: levelNegInf}
	if len(n.grp) > 0 {
		e.g0level, e.g0rad = n.grp[0].level, n.grp[0].rad
	}
	return e
}

// navMinBatch is the smallest batch located with a navTable.
const navMinBatch = 1024
