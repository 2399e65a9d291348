package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
)

// The binary format of a SparseIndex (little-endian):
//
//	magic        8 bytes "PCCTSPRS"
//	version      uint32 (sparseVersion)
//	float size   uint32 (4 or 8)
//	metric kind  uint32 (Euclidean, Manhattan or Cosine)
//	algorithm    uint32 (CoverTree or Brute)
//	columns      uint64
//	ids issued   uint64
//	live rows    uint64
//	seed         uint64
//	then per live row, by ascending caller index:
//	  caller index uint64, stored values uint32, columns (int32 each),
//	  values (floats, as stored: unit length under Cosine)
//	crc32        uint32 (IEEE) of everything before it
//
// It holds the rows, not the tree: DecodeSparse builds the index again,
// with the same caller indices, as exact as the one encoded.
const (
	sparseMagic   = "PCCTSPRS"
	sparseVersion = 1
	sparseHeader  = 8 + 4*4 + 4*8
)

// IsSparseEncoding reports whether data begins as an encoded SparseIndex.
func IsSparseEncoding(data []byte) bool {
	return len(data) >= len(sparseMagic) && string(data[:len(sparseMagic)]) == sparseMagic
}

// Encode returns the index in the format DecodeSparse reads.
func (x *SparseIndex[T]) Encode() []byte {
	le := binary.LittleEndian
	var zero T
	size := binary.Size(zero)
	buf := append([]byte(nil), sparseMagic...)
	buf = le.AppendUint32(buf, sparseVersion)
	buf = le.AppendUint32(buf, uint32(size))
	buf = le.AppendUint32(buf, uint32(x.metric.Kind))
	buf = le.AppendUint32(buf, uint32(x.Algorithm()))
	buf = le.AppendUint64(buf, uint64(x.space.cols))
	buf = le.AppendUint64(buf, uint64(x.nids))
	buf = le.AppendUint64(buf, uint64(x.n))
	buf = le.AppendUint64(buf, x.seed)
	for _, id := range x.LiveIDs(nil) {
		r := x.row(int32(id))
		buf = le.AppendUint64(buf, uint64(id))
		buf = le.AppendUint32(buf, uint32(len(r.idx)))
		for _, c := range r.idx {
			buf = le.AppendUint32(buf, uint32(c))
		}
		for _, v := range r.val {
			if size == 4 {
				buf = le.AppendUint32(buf, math.Float32bits(float32(v)))
			} else {
				buf = le.AppendUint64(buf, math.Float64bits(float64(v)))
			}
		}
	}
	return le.AppendUint32(buf, crc32.ChecksumIEEE(buf))
}

// DecodeSparse returns the index encoded in data by Encode, built again:
// the same rows, caller indices, metric and algorithm. Of opts it uses
// Jobs and Monitor. It returns an error if data is damaged or holds
// another float type.
func DecodeSparse[T Float](data []byte, opts Options) (x *SparseIndex[T], err error) {
	defer catch(&err)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("core: decode: "+format, args...)
	}
	le := binary.LittleEndian
	if _, err := checkEnvelope(data, sparseMagic, "sparse index"); err != nil {
		return nil, err
	}
	if len(data) < sparseHeader+4 {
		return nil, bad("the header is truncated")
	}
	var zero T
	size := binary.Size(zero)
	h := data[8:sparseHeader]
	if v := le.Uint32(h); v != sparseVersion {
		return nil, bad("sparse format version %d, this library reads %d", v, sparseVersion)
	}
	if s := le.Uint32(h[4:]); int(s) != size {
		return nil, bad("the index holds %d-byte floats, not %d-byte", s, size)
	}
	kind, algo := MetricKind(le.Uint32(h[8:])), Algorithm(le.Uint32(h[12:]))
	cols, nids, nlive, seed := le.Uint64(h[16:]), le.Uint64(h[24:]), le.Uint64(h[32:]), le.Uint64(h[40:])
	m := Metric{Kind: kind}
	if err := checkSparseMetric(m); err != nil || (algo != CoverTree && algo != Brute) {
		return nil, bad("metric %d or algorithm %d is not a sparse index's", kind, algo)
	}
	if cols < 1 || cols > math.MaxInt32 || nids > math.MaxInt32 || nlive > nids {
		return nil, bad("%d columns, %d ids and %d rows are not an index's", cols, nids, nlive)
	}
	body := data[sparseHeader : len(data)-4]
	rows := make([]sparseRow[T], 0, min(nlive, uint64(len(body)/12)))
	ids := make([]int32, 0, cap(rows))
	for range nlive {
		if len(body) < 12 {
			return nil, bad("the rows are truncated")
		}
		id, nnz := le.Uint64(body), uint64(le.Uint32(body[8:]))
		body = body[12:]
		if id >= nids || (len(ids) > 0 && int64(id) <= int64(ids[len(ids)-1])) {
			return nil, bad("caller index %d is out of order or range", id)
		}
		if uint64(len(body)) < nnz*uint64(4+size) {
			return nil, bad("the rows are truncated")
		}
		idx, val := make([]int32, nnz), make([]T, nnz)
		for j := range idx {
			idx[j] = int32(le.Uint32(body[4*j:]))
			if idx[j] < 0 || uint64(idx[j]) >= cols || (j > 0 && idx[j] <= idx[j-1]) {
				return nil, bad("the columns of caller index %d are out of order or range", id)
			}
		}
		body = body[4*nnz:]
		for j := range val {
			var f float64
			if size == 4 {
				f = float64(math.Float32frombits(le.Uint32(body[4*j:])))
			} else {
				f = math.Float64frombits(le.Uint64(body[8*j:]))
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, bad("caller index %d has a non-finite value", id)
			}
			val[j] = T(f)
		}
		body = body[uint64(size)*nnz:]
		rows = append(rows, newSparseRow(idx, val))
		ids = append(ids, int32(id))
	}
	if len(body) != 0 {
		return nil, bad("%d bytes after the rows", len(body))
	}
	x = &SparseIndex[T]{metric: m, space: newSparseSpace[T](kind, int(cols)), seed: seed}
	first, err := x.space.store.append(rows)
	if err != nil {
		return nil, err
	}
	pos := make([]int32, len(rows))
	for i := range pos {
		pos[i] = first + int32(i)
	}
	if algo == Brute {
		if len(ids) > 0 {
			x.segs = []*sparseSeg{newSparseSeg(&x.space.store, ids, pos)}
		}
		x.n, x.nids = len(ids), int32(nids)
		return x, nil
	}
	return x, x.rebuildTree(ids, pos, int32(nids), opts)
}

// rebuildTree builds the index's cover tree holding the rows at positions
// pos with the caller indices ids (ascending, below nids): over all nids
// indices, the missing ones held by stand-ins (a copy of a live row, which
// joins its node, or an empty row), which are then deleted.
func (x *SparseIndex[T]) rebuildTree(ids, pos []int32, nids int32, opts Options) error {
	if nids == 0 {
		return errors.New("core: decode: an index without ids")
	}
	all := make([]int32, nids)
	var gone []int64
	stand := int32(-1)
	if len(pos) > 0 {
		stand = pos[0]
	} else {
		p, err := x.space.store.append([]sparseRow[T]{{}})
		if err != nil {
			return err
		}
		stand = p
	}
	j := 0
	for id := range nids {
		if j < len(ids) && ids[j] == id {
			all[id] = pos[j]
			j++
			continue
		}
		all[id] = stand
		gone = append(gone, int64(id))
	}
	if err := x.buildTree(all, opts, 0); err != nil {
		return err
	}
	if len(gone) == 0 {
		return nil
	}
	t, err := x.tree.Delete(slices.Clip(gone), UpdateOptions{Jobs: opts.Jobs, Monitor: opts.Monitor})
	if err != nil {
		return err
	}
	x.setTree(t)
	return nil
}
