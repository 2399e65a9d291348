package core

import "slices"

// Nodes and caller indices live in fixed-size chunks shared between tree
// versions. A version may write a chunk in place only if it owns it; any
// other write copies the chunk first. An update therefore copies just the
// chunks it touches (the path copying of persistent trees, at chunk
// granularity), and every earlier version keeps reading its own chunks.
// The coordinates of a chunk's slots are written once, when a slot is
// added, and stay shared when its nodes are copied: a 10% insertion into
// letter's tree had copied 2 MB of rows it never changed, and every
// snapshot kept its own copy.

const (
	chunkBits = 8
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
)

// owner identifies the version allowed to write a chunk in place.
type owner struct{ _ byte }

// node is one distinct point of the tree.
type node struct {
	level  int32    // levelInf for the root
	parent int32    // -1 for the root and for free slots
	id     [1]int32 // the least caller index held
	nid    int32    // caller indices held: 0 for a free slot; see idList
	pdist  float64  // distance to the parent
	// reach bounds the distance from the parent to any node of this node's
	// subtree, itself included; rad bounds the distance from this node to
	// any of its descendants. Both are exact after a build and stay valid
	// upper bounds through updates.
	reach  float64
	rad    float64
	weight int64   // caller points in the subtree, this node's included
	fam    *family // children and duplicates, nil for a leaf with one caller index
}

// family holds what only some nodes have: children and their groups, and
// the caller indices of a node that holds several (duplicate points). Versions
// share it with the node record: it is never modified once a node refers
// to it, and any change makes a new one (node.setFamily). A node record
// is 56 bytes, where three slice headers in it had made it 112.
type family struct {
	// list holds the children, by level descending, then, where the node
	// holds more than one caller index (nid > 1), all of them, ascending.
	list []int32
	grp  []group // one per distinct child level, descending
}

// children returns the node's children, by level descending (nil for a
// leaf).
func (n *node) children() []int32 {
	if n.fam == nil {
		return nil
	}
	l := n.fam.list
	if n.nid > 1 {
		l = l[: len(l)-int(n.nid) : len(l)-int(n.nid)]
	}
	return l
}

// groups returns the node's child groups, one per distinct child level,
// descending (nil for a leaf).
func (n *node) groups() []group {
	if n.fam == nil {
		return nil
	}
	return n.fam.grp
}

// idList returns the caller indices the node holds, ascending (none for a
// free slot). The slice is the node's own: callers must not modify it.
func (n *node) idList() []int32 {
	if n.nid > 1 {
		l := n.fam.list
		return l[len(l)-int(n.nid):]
	}
	return n.id[:n.nid]
}

// setKids makes kids the node's children, keeping its groups (which the
// caller rebuilds: see Tree.regroup) and caller indices.
func (n *node) setKids(kids []int32) { n.setFamily(kids, n.groups(), n.idList()) }

// setGroups makes grp the node's child groups, keeping the rest.
func (n *node) setGroups(grp []group) { n.setGroupsIn(nil, grp) }

// setGroupsIn is setGroups with the new family written into f, a record
// no node refers to yet (a new one if f is nil). The family shares the
// node's list of children and caller indices, which no version changes,
// where setFamily would copy it for a node of several indices.
func (n *node) setGroupsIn(f *family, grp []group) {
	var list []int32
	if n.fam != nil {
		list = n.fam.list
	}
	n.useFamily(f, list, grp)
}

// useFamily gives n the family of list and grp, written into f (a new
// record if f is nil), or none if both are empty.
func (n *node) useFamily(f *family, list []int32, grp []group) {
	if len(list) == 0 && len(grp) == 0 {
		n.fam = nil
		return
	}
	if f == nil {
		f = new(family)
	}
	*f = family{list: list, grp: grp}
	n.fam = f
}

// setIDs makes ids (ascending) the node's caller indices, keeping the
// rest; a node of one index keeps its family.
func (n *node) setIDs(ids []int32) {
	if len(ids) <= 1 && n.nid <= 1 {
		first := int32(0)
		if len(ids) == 1 {
			first = ids[0]
		}
		n.id[0], n.nid = first, int32(len(ids))
		return
	}
	n.setFamily(n.children(), n.groups(), ids)
}

// setFamily makes kids, grp and ids the node's children, groups and caller
// indices, in a new family where it needs one: the one it referred to is
// left as it was, since other versions may share it.
func (n *node) setFamily(kids []int32, grp []group, ids []int32) { n.setFamilyIn(nil, kids, grp, ids) }

// setFamilyIn is setFamily with the family, where the node needs one,
// written into f, a record no node refers to yet (a new one if f is nil):
// a build places its families in one allocation this way.
func (n *node) setFamilyIn(f *family, kids []int32, grp []group, ids []int32) {
	list := kids
	if len(ids) > 1 {
		list = make([]int32, 0, len(kids)+len(ids))
		list = append(append(list, kids...), ids...)
	}
	// ids may be n.id itself (idList's slice): read before written.
	first := int32(0)
	if len(ids) > 0 {
		first = ids[0]
	}
	n.id[0], n.nid = first, int32(len(ids))
	n.useFamily(f, list, grp)
}

// copyPoint copies the coordinates src to dst: one by one where there are
// a few, since copy calls memmove and the call cost more than the copy
// (the assembly's node loop copying bunny's points: 190 -> 130 ms in a
// profile of 80 builds), else by copy.
func copyPoint[T Float](dst, src []T) {
	if len(src) <= 4 {
		for k, v := range src {
			dst[k] = v
		}
		return
	}
	copy(dst, src)
}

// familyWith returns a new family record and room for k groups, in one
// allocation where k is at most 4 (of the same size as the two apart):
// an update makes both for every node on the paths it changes (Tree.
// regroup), half of a 10% insertion's 24,000 allocations into bunny.
func familyWith(k int) (*family, []group) {
	switch {
	case k <= 1:
		x := new(struct {
			f family
			g [1]group
		})
		return &x.f, x.g[:0]
	case k <= 2:
		x := new(struct {
			f family
			g [2]group
		})
		return &x.f, x.g[:0]
	case k <= 4:
		x := new(struct {
			f family
			g [4]group
		})
		return &x.f, x.g[:0]
	}
	return new(family), make([]group, 0, k)
}

// group describes the children of one level and those after it:
// kids[start:end] with start the previous group's end (0 for the first)
// have the level; w and rad are the caller points in, and the largest reach
// of, the children of this group and all later (lower) groups.
type group struct {
	level int32
	end   int32
	w     int64
	rad   float64
}

// live reports whether the slot holds a node.
func (n *node) live() bool { return n.nid > 0 }

// groupStart returns the index into kids where group g starts.
func (n *node) groupStart(g int) int32 {
	if g == 0 {
		return 0
	}
	return n.groups()[g-1].end
}

// subWeight returns |S_i(v)| for the node, where g is its first group of
// level < i: the node's own caller points and those below groups g, ....
func (n *node) subWeight(g int32) int64 {
	w := int64(n.nid)
	if int(g) < len(n.groups()) {
		w += n.groups()[g].w
	}
	return w
}

// subRad bounds the distance from the node to S_i(v) minus itself, where g
// is its first group of level < i.
func (n *node) subRad(g int32) float64 {
	if int(g) < len(n.groups()) {
		return n.groups()[g].rad
	}
	return 0
}

type nodeChunk[T Float] struct {
	owner *owner
	nodes [chunkSize]node
	// pts holds chunkSize rows. A slot's coordinates are written once, when
	// the slot is added, so a version that copies the chunk's nodes keeps
	// sharing its rows; ptsOwner is the version that may write rows in
	// place (see store.add).
	pts      []T
	ptsOwner *owner
}

type idChunk struct {
	owner *owner
	node  [chunkSize]int32 // caller index -> node, -1 when absent
}

// store is one version's view of the chunks.
type store[T Float] struct {
	dim    int
	own    *owner
	chunks []*nodeChunk[T]
	slots  int32 // node slots in use or freed: 0..slots-1
	idc    []*idChunk
	nids   int32 // caller indices issued: 0..nids-1
}

// fork returns a new version sharing every chunk with s; writes to either
// copy what they touch.
func (s *store[T]) fork() *store[T] {
	return &store[T]{
		dim:    s.dim,
		own:    &owner{},
		chunks: slices.Clone(s.chunks),
		slots:  s.slots,
		idc:    slices.Clone(s.idc),
		nids:   s.nids,
	}
}

func newStore[T Float](dim int) *store[T] {
	return &store[T]{dim: dim, own: &owner{}}
}

// node returns slot u for reading.
func (s *store[T]) node(u int32) *node {
	return &s.chunks[u>>chunkBits].nodes[u&chunkMask]
}

// point returns slot u's coordinates.
func (s *store[T]) point(u int32) []T {
	c := s.chunks[u>>chunkBits]
	o := int(u&chunkMask) * s.dim
	return c.pts[o : o+s.dim : o+s.dim]
}

// mut returns slot u for writing, copying its chunk if another version
// shares it.
func (s *store[T]) mut(u int32) *node {
	i := u >> chunkBits
	c := s.chunks[i]
	if c.owner != s.own {
		cc := *c
		cc.owner = s.own
		c = &cc
		s.chunks[i] = c
	}
	return &c.nodes[u&chunkMask]
}

// add appends a node slot holding point p and returns it. The node has no
// parent, children or caller indices yet.
func (s *store[T]) add(p []T) int32 {
	u := s.slots
	if u&chunkMask == 0 {
		s.chunks = append(s.chunks, &nodeChunk[T]{owner: s.own, pts: make([]T, chunkSize*s.dim), ptsOwner: s.own})
	}
	n := s.mut(u)
	*n = node{parent: -1}
	c := s.chunks[u>>chunkBits] // this version's, after mut
	if c.ptsOwner != s.own {
		// Another version shares the rows (and may add its own at this
		// slot): copy them first.
		c.pts, c.ptsOwner = slices.Clone(c.pts), s.own
	}
	copyPoint(c.pts[int(u&chunkMask)*s.dim:], p)
	s.slots++
	return u
}

// grow adds n node slots at once, with their coordinates zero and no
// parent, children or caller indices, and returns the first. The new
// chunks' rows are one allocation, cut into chunks (rows are shared
// between versions and copied only to add a point, so the chunks' rows
// live as long as one another), and the chunks are made one after
// another. Made in parallel the step was no faster on two threads (bunny:
// 1.2 to 2.4 ms against 1.2 to 1.4 one by one; one thread 0.55, and 0.42
// with the rows in one allocation). Distinct new slots may then be
// written concurrently through mut.
func (s *store[T]) grow(n int32) int32 {
	first := s.slots
	have := len(s.chunks)
	if need := (int(s.slots+n) + chunkSize - 1) / chunkSize; need > have {
		rows := make([]T, (need-have)*chunkSize*s.dim)
		for i := have; i < need; i++ {
			o := (i - have) * chunkSize * s.dim
			c := &nodeChunk[T]{owner: s.own, pts: rows[o : o+chunkSize*s.dim : o+chunkSize*s.dim], ptsOwner: s.own}
			for j := range c.nodes {
				c.nodes[j].parent = -1
			}
			s.chunks = append(s.chunks, c)
		}
	}
	s.slots += n
	return first
}

// holdAll allocates every chunk of the caller-index map, so that distinct
// indices may then be set concurrently through setNodeOf.
func (s *store[T]) holdAll() {
	s.reach(s.nids - 1)
	for i, c := range s.idc {
		if c == nil {
			s.idc[i] = newIDChunk(s.own)
		}
	}
}

// nodeOf returns the slot holding caller index id, or -1.
func (s *store[T]) nodeOf(id int32) int32 {
	if id < 0 || id >= s.nids {
		return -1
	}
	if int(id>>chunkBits) >= len(s.idc) {
		return -1
	}
	c := s.idc[id>>chunkBits]
	if c == nil {
		return -1
	}
	return c.node[id&chunkMask]
}

// setNodeOf records that caller index id is held by slot u (-1: absent).
func (s *store[T]) setNodeOf(id, u int32) {
	i := id >> chunkBits
	s.reach(id)
	c := s.idc[i]
	if c == nil {
		c = newIDChunk(s.own)
		s.idc[i] = c
	} else if c.owner != s.own {
		cc := *c
		cc.owner = s.own
		c = &cc
		s.idc[i] = c
	}
	c.node[id&chunkMask] = u
}

// newIDs issues n consecutive caller indices, initially absent, and
// returns the first. The index map grows only as indices are held
// (setNodeOf), so indices issued but never held -- or all deleted before
// the map reached them -- cost nothing.
func (s *store[T]) newIDs(n int32) int32 {
	first := s.nids
	s.nids += n
	return first
}

// reach makes the index map long enough to hold caller index id.
func (s *store[T]) reach(id int32) {
	for int(id>>chunkBits) >= len(s.idc) {
		s.idc = append(s.idc, nil)
	}
}

func newIDChunk(own *owner) *idChunk {
	c := &idChunk{owner: own}
	for j := range c.node {
		c.node[j] = -1
	}
	return c
}
