package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
)

// The binary format of a tree (little-endian):
//
//	magic        8 bytes "PCCTTREE"
//	version      uint32 (formatVersion)
//	dtype        uint32: 4 for float32, 8 for float64
//	dim          uint32
//	metric       uint32 kind, float64 p
//	base         float64
//	seed         uint64
//	ids issued   uint32
//	nodes        uint32
//	evaluations  int64 (distance evaluations spent building)
//	parameters   version 2 only: uint32 count, then count float64, the
//	             metric's V, VI or W (Metric.params); a tree whose metric
//	             has none is written as version 1, without this field
//	then each node, parents before children (node 0 is the root):
//	  parent     uint32 (the parent's position; 0xFFFFFFFF for the root)
//	  level      int32 (ignored for the root)
//	  ids        uint32 count, then count uint32 caller indices, ascending
//	  point      dim values of the dtype
//	checksum     uint32, CRC-32 (IEEE) of everything before it
//
// Only the structure is stored. Decode recomputes every distance to a
// parent (checking the cover condition), the radius bounds, weights and
// groups, so a decoded tree answers exactly whatever the file holds, and a
// damaged file is an error, never a wrong tree.

const (
	magic         = "PCCTTREE"
	formatVersion = 1
	// paramsVersion is the format of a tree whose metric has parameters.
	paramsVersion = 2
	noParent      = math.MaxUint32
)

// Encode returns the tree in pcct's versioned binary format, which Decode
// reads back into an identical tree (same structure, caller indices, points,
// metric and level base).
func (t *Tree[T]) Encode() []byte {
	le := binary.LittleEndian
	var zero T
	size := binary.Size(zero)
	buf := make([]byte, 0, 64+t.nodes*(12+t.s.dim*size)+t.n*4)
	buf = append(buf, magic...)
	params := t.metric.params()
	buf = le.AppendUint32(buf, versionFor(params))
	buf = le.AppendUint32(buf, uint32(size))
	buf = le.AppendUint32(buf, uint32(t.s.dim))
	buf = le.AppendUint32(buf, uint32(t.metric.Kind))
	buf = le.AppendUint64(buf, math.Float64bits(t.metric.P))
	buf = le.AppendUint64(buf, math.Float64bits(t.scale.base))
	buf = le.AppendUint64(buf, t.seed)
	buf = le.AppendUint32(buf, uint32(t.s.nids))
	buf = le.AppendUint32(buf, uint32(t.nodes))
	buf = le.AppendUint64(buf, uint64(t.buildEvals))
	buf = appendParams(buf, params)
	order := t.preorder()
	pos := make(map[int32]uint32, len(order))
	for i, u := range order {
		pos[u] = uint32(i)
	}
	for _, u := range order {
		n := t.node(u)
		parent := uint32(noParent)
		if n.parent >= 0 {
			parent = pos[n.parent]
		}
		buf = le.AppendUint32(buf, parent)
		buf = le.AppendUint32(buf, uint32(n.level))
		buf = le.AppendUint32(buf, uint32(n.nid))
		for _, id := range n.idList() {
			buf = le.AppendUint32(buf, uint32(id))
		}
		for _, v := range t.point(u) {
			if size == 4 {
				buf = le.AppendUint32(buf, math.Float32bits(float32(v)))
			} else {
				buf = le.AppendUint64(buf, math.Float64bits(float64(v)))
			}
		}
	}
	return le.AppendUint32(buf, crc32.ChecksumIEEE(buf))
}

// Decode reads a tree written by Encode. The element type T must be the
// one the tree was encoded with. It returns an error for a file that is not
// a pcct tree, is truncated or damaged (checksum), has another dtype, or
// whose structure is inconsistent (a parent after its child, levels not
// decreasing, the cover condition broken, an index held twice, a
// non-finite coordinate).
func Decode[T Float](data []byte) (*Tree[T], error) { return decode[T](data, nil) }

// DecodeWith is Decode for a tree built with a Custom metric: m is that
// metric again (NewCustom), which the encoding cannot hold.
func DecodeWith[T Float](data []byte, m Metric) (*Tree[T], error) { return decode[T](data, &m) }

func decode[T Float](data []byte, custom *Metric) (t *Tree[T], err error) {
	defer catch(&err)
	r, version, err := openEncoding(data, magic, "tree")
	if err != nil {
		return nil, err
	}
	var zero T
	if size := r.u32(); int(size) != binary.Size(zero) {
		return nil, fmt.Errorf("core: decode: the tree holds %d-byte floats, not %d-byte ones", size, binary.Size(zero))
	}
	dim := int(r.u32())
	m := Metric{Kind: MetricKind(r.u32()), P: r.f64()}
	base := r.f64()
	seed := r.u64()
	nids := r.u32()
	nodes := r.u32()
	evals := int64(r.u64())
	if m, err = r.params(m, version); err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	if m, err = decodingMetric(m, custom, "tree", "Decode"); err != nil {
		return nil, err
	}
	if err := checkCustom[T](m); err != nil {
		return nil, fmt.Errorf("core: decode: %w", err)
	}
	if dim < 1 {
		return nil, fmt.Errorf("core: decode: dimension %d", dim)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("core: decode: %w", err)
	}
	if err := checkDim(m, dim); err != nil {
		return nil, fmt.Errorf("core: decode: %w", err)
	}
	b, err := Options{Base: base}.base()
	if err != nil {
		return nil, fmt.Errorf("core: decode: %w", err)
	}
	if nids > math.MaxInt32 || nodes > nids {
		return nil, fmt.Errorf("core: decode: %d nodes for %d caller indices", nodes, nids)
	}
	// Each node takes at least 12 bytes and a point.
	if need := uint64(nodes) * uint64(12+dim*binary.Size(zero)); need > uint64(len(r.b)) {
		return nil, fmt.Errorf("core: decode: %d nodes cannot fit in %d bytes", nodes, len(r.b))
	}
	t = newTree[T](dim, m, newScale(b), seed)
	s := t.s
	s.newIDs(int32(nids))
	pt := make([]T, dim)
	// Each node's children, gathered here and given to it once they are
	// all read (a family record a child would cost an allocation each).
	kidsOf := make([][]int32, nodes)
	for i := range nodes {
		parent := r.u32()
		level := int32(r.u32())
		count := r.u32()
		if r.err != nil {
			return nil, r.err
		}
		if uint64(count)*4 > uint64(len(r.b)) {
			return nil, fmt.Errorf("core: decode: node %d claims %d caller indices", i, count)
		}
		ids := make([]int32, count)
		for j := range ids {
			ids[j] = int32(r.u32())
		}
		for j := range pt {
			pt[j] = readFloat[T](r)
		}
		if r.err != nil {
			return nil, r.err
		}
		if count == 0 {
			return nil, fmt.Errorf("core: decode: node %d holds no caller index", i)
		}
		for j, v := range pt {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("core: decode: node %d has a non-finite coordinate at column %d", i, j)
			}
		}
		u := s.add(pt)
		n := s.mut(u)
		n.setIDs(ids)
		for j, id := range ids {
			if id < 0 || uint32(id) >= nids || (j > 0 && ids[j-1] >= id) || s.nodeOf(id) >= 0 {
				return nil, fmt.Errorf("core: decode: node %d holds caller index %d out of order, out of range or twice", i, id)
			}
			s.setNodeOf(id, u)
		}
		if i == 0 {
			if parent != noParent {
				return nil, errors.New("core: decode: the first node is not the root")
			}
			n.level = levelInf
			t.root = u
		} else {
			if parent >= i || parent == noParent {
				return nil, fmt.Errorf("core: decode: node %d has parent %d, not an earlier node", i, parent)
			}
			p := int32(parent)
			if level >= s.node(p).level {
				return nil, fmt.Errorf("core: decode: node %d has level %d, not below its parent's %d", i, level, s.node(p).level)
			}
			d := t.dist(pt, t.point(p))
			t.buildEvals++
			if d == 0 || !within(d, t.scale.pow(level+1)) {
				return nil, fmt.Errorf("core: decode: node %d at level %d is %v from its parent: the cover condition fails", i, level, d)
			}
			n.level, n.parent, n.pdist = level, p, d
			kidsOf[p] = append(kidsOf[p], u)
		}
		t.n += len(ids)
		t.nodes++
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("core: decode: %d bytes left after the last node", len(r.b))
	}
	if held := t.n; held > int(nids) {
		return nil, fmt.Errorf("core: decode: %d points for %d caller indices", held, nids)
	}
	for u, kids := range kidsOf {
		if len(kids) > 0 {
			t.sortKids(kids)
			s.mut(int32(u)).setKids(slices.Clip(kids))
		}
	}
	if err := t.setBox(); err != nil {
		return nil, fmt.Errorf("core: decode: %w", err)
	}
	// Lay the children of each node out in consecutive slots, as a build
	// does, then compute the radii.
	t = t.compact()
	t.buildEvals = evals
	t.exactRadii()
	return t, nil
}

// reader reads little-endian values, remembering the first shortfall.
type reader struct {
	b   []byte
	err error
}

// versionFor returns the format version of an encoding whose metric has
// the given parameters: paramsVersion if it has any, else formatVersion.
func versionFor(params []float64) uint32 {
	if params == nil {
		return formatVersion
	}
	return paramsVersion
}

// appendParams appends a metric's parameters as the paramsVersion header
// field (a uint32 count, then the float64 values); nothing without any.
func appendParams(buf []byte, params []float64) []byte {
	if params == nil {
		return buf
	}
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(params)))
	for _, x := range params {
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(x))
	}
	return buf
}

// openEncoding checks an encoding's magic (that of a what) and checksum,
// and returns a reader over what follows the magic, past the format
// version, which it also returns (formatVersion or paramsVersion).
func openEncoding(data []byte, magic, what string) (*reader, uint32, error) {
	body, err := checkEnvelope(data, magic, what)
	if err != nil {
		return nil, 0, err
	}
	r := &reader{b: body[len(magic):]}
	version := r.u32()
	if version != formatVersion && version != paramsVersion {
		return nil, 0, fmt.Errorf("core: decode: format version %d, this library reads %d and %d", version, formatVersion, paramsVersion)
	}
	return r, version, nil
}

// checkEnvelope checks an encoding's magic and trailing checksum and
// returns the data before the checksum (the magic included).
func checkEnvelope(data []byte, magic, what string) ([]byte, error) {
	if len(data) < len(magic)+4 || string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("core: decode: not a pcct %s (bad magic)", what)
	}
	body := data[:len(data)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, errors.New("core: decode: checksum mismatch: the data is truncated or damaged")
	}
	return body, nil
}

// params reads the metric parameters that a paramsVersion header holds
// into m (nothing for formatVersion).
func (r *reader) params(m Metric, version uint32) (Metric, error) {
	if version != paramsVersion {
		return m, nil
	}
	count := r.u32()
	if uint64(count)*8 > uint64(len(r.b)) {
		return m, fmt.Errorf("core: decode: %d metric parameters cannot fit in %d bytes", count, len(r.b))
	}
	params := make([]float64, count)
	for i := range params {
		params[i] = r.f64()
	}
	return m.withParams(params), nil
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return make([]byte, n)
	}
	if len(r.b) < n {
		r.err = errors.New("core: decode: unexpected end of data")
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32  { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64  { return binary.LittleEndian.Uint64(r.take(8)) }
func (r *reader) f64() float64 { return math.Float64frombits(r.u64()) }

// readFloat reads one value of T's size.
func readFloat[T Float](r *reader) T {
	var zero T
	if binary.Size(zero) == 4 {
		return T(math.Float32frombits(r.u32()))
	}
	return T(r.f64())
}

// decodingMetric returns the metric an encoding of a what (tree or index)
// is read with: m, the one it names, or custom, the caller's, when m is
// Custom (whose Distancer no encoding holds). decode names the call for
// encodings without a custom metric; decode+"With" is the call for those
// with one.
func decodingMetric(m Metric, custom *Metric, what, decode string) (Metric, error) {
	switch {
	case m.Kind == Custom && (custom == nil || custom.Kind != Custom):
		return m, fmt.Errorf("core: decode: the %s was built with a custom metric: decode it with %sWith and that metric", what, decode)
	case m.Kind == Custom:
		return *custom, nil
	case custom != nil:
		return m, fmt.Errorf("core: decode: the %s's metric is %v, not a custom one: decode it with %s", what, m, decode)
	}
	return m, nil
}
