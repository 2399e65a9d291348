package core

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// The binary format of a BruteForce (little-endian):
//
//	magic        8 bytes "PCCTBRUT"
//	version      uint32 (formatVersion, or paramsVersion: see below)
//	dtype        uint32: 4 for float32, 8 for float64
//	dim          uint32
//	metric       uint32 kind, float64 p
//	ids issued   uint32
//	points       uint32
//	parameters   version 2 only: uint32 count, then count float64, the
//	             metric's V, VI or W (Metric.params); an index whose metric
//	             has none is written as version 1, without this field
//	then each point, by ascending caller index:
//	  index      uint32
//	  point      dim values of the dtype, as the index holds them
//	checksum     uint32, CRC-32 (IEEE) of everything before it

// bruteMagic starts an encoded BruteForce. Its versions are a Tree's:
// formatVersion, or paramsVersion for a metric with parameters.
const bruteMagic = "PCCTBRUT"

// IsBruteForceEncoding reports whether data starts like an encoded BruteForce (rather
// than an encoded Tree).
func IsBruteForceEncoding(data []byte) bool {
	return len(data) >= len(bruteMagic) && string(data[:len(bruteMagic)]) == bruteMagic
}

// Encode returns the index in pcct's versioned binary format, which
// DecodeBruteForce reads back into an index with the same points, caller indices
// and metric, giving the same answers.
func (f *BruteForce[T]) Encode() []byte {
	le := binary.LittleEndian
	var zero T
	size := binary.Size(zero)
	buf := make([]byte, 0, 48+f.n*(4+f.dim*size))
	buf = append(buf, bruteMagic...)
	params := f.metric.params()
	buf = le.AppendUint32(buf, versionFor(params))
	buf = le.AppendUint32(buf, uint32(size))
	buf = le.AppendUint32(buf, uint32(f.dim))
	buf = le.AppendUint32(buf, uint32(f.metric.Kind))
	buf = le.AppendUint64(buf, math.Float64bits(f.metric.P))
	buf = le.AppendUint32(buf, uint32(f.nids))
	buf = le.AppendUint32(buf, uint32(f.n))
	buf = appendParams(buf, params)
	for _, id := range f.LiveIDs(nil) {
		buf = le.AppendUint32(buf, uint32(id))
		for _, v := range f.Point(int(id)) {
			if size == 4 {
				buf = le.AppendUint32(buf, math.Float32bits(float32(v)))
			} else {
				buf = le.AppendUint64(buf, math.Float64bits(float64(v)))
			}
		}
	}
	return le.AppendUint32(buf, crc32.ChecksumIEEE(buf))
}

// DecodeBruteForce reads an index written by BruteForce.Encode. The element type T
// must be the one it was encoded with. It returns an error for data that is
// not an encoded BruteForce, is truncated or damaged (checksum), has another
// dtype, or is inconsistent (indices out of order or range, a non-finite
// coordinate).
func DecodeBruteForce[T Float](data []byte) (*BruteForce[T], error) {
	return decodeBrute[T](data, nil)
}

// DecodeBruteForceWith is DecodeBruteForce for an index built with a
// Custom metric: m is that metric again (NewCustom), which the encoding
// cannot hold.
func DecodeBruteForceWith[T Float](data []byte, m Metric) (*BruteForce[T], error) {
	return decodeBrute[T](data, &m)
}

func decodeBrute[T Float](data []byte, custom *Metric) (f *BruteForce[T], err error) {
	defer catch(&err)
	r, version, err := openEncoding(data, bruteMagic, "brute-force index")
	if err != nil {
		return nil, err
	}
	var zero T
	if size := r.u32(); int(size) != binary.Size(zero) {
		return nil, fmt.Errorf("core: decode: the index holds %d-byte floats, not %d-byte ones", size, binary.Size(zero))
	}
	dim := int(r.u32())
	m := Metric{Kind: MetricKind(r.u32()), P: r.f64()}
	nids := r.u32()
	n := r.u32()
	if m, err = r.params(m, version); err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	if m, err = decodingMetric(m, custom, "index", "DecodeBruteForce"); err != nil {
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
	if nids > math.MaxInt32 || n > nids {
		return nil, fmt.Errorf("core: decode: %d points for %d caller indices", n, nids)
	}
	if need := uint64(n) * uint64(4+dim*binary.Size(zero)); need != uint64(len(r.b)) {
		return nil, fmt.Errorf("core: decode: %d points of dimension %d do not take %d bytes", n, dim, len(r.b))
	}
	m = m.Canonical()
	f = &BruteForce[T]{dim: dim, metric: m, dist: fastKernel[T](m, dim), nids: int32(nids), n: int(n)}
	// Chunks that hold no live point stay nil, as Delete leaves them.
	f.chunks = make([]*bruteChunk[T], (int(nids)+bruteRows-1)/bruteRows)
	live := make([]T, 0, int(n)*dim)
	prev := int64(-1)
	for i := range n {
		id := int64(r.u32())
		if id <= prev || id >= int64(nids) {
			return nil, fmt.Errorf("core: decode: point %d has caller index %d, out of order or range", i, id)
		}
		prev = id
		ci := int(id / bruteRows)
		if f.chunks[ci] == nil {
			used := min(bruteRows, int(nids)-ci*bruteRows)
			f.chunks[ci] = &bruteChunk[T]{used: used, rows: make([]T, used*dim), live: make([]uint64, bruteRows/64)}
		}
		c, j := f.chunks[ci], int(id%bruteRows)
		row := c.rows[j*dim : (j+1)*dim]
		for k := range row {
			v := readFloat[T](r)
			if x := float64(v); math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("core: decode: caller index %d has a non-finite coordinate at column %d", id, k)
			}
			row[k] = v
		}
		c.live[j/64] |= 1 << (j % 64)
		c.nlive++
		live = append(live, row...)
	}
	if n > 0 {
		f.lo, f.hi = emptyBox(dim)
		extendBox(f.lo, f.hi, live)
		if err := checkSpan(m, f.lo, f.hi); err != nil {
			return nil, fmt.Errorf("core: decode: %w", err)
		}
	}
	if m.Kind == Euclidean || m.Kind == Cosine {
		f.screen = centre(live, dim, 1)
	}
	for _, c := range f.chunks {
		if c != nil {
			f.pack(c)
		}
	}
	return f, nil
}
