package gpu

import (
	"fmt"
	"math"
	"sort"
	"unsafe"

	"github.com/pcct-dev/pcct/core"
)

// simBackend is a device simulated in Go: memory is Go slices at made-up
// addresses, and each kernel of kernels/pcct.cu has a Go twin below with
// the same arguments and the same arithmetic precision (float32 sums for
// float32 data), block by block. It tests everything the host does:
// chunking, arguments, buffer sizes, thresholds and gathering.
type simBackend struct {
	mem      map[uint64][]uint64
	next     uint64
	free_    int64
	launches map[string]int
	closed   bool
}

func newSim(free int64) *simBackend {
	return &simBackend{mem: map[uint64][]uint64{}, next: 1 << 20, free_: free, launches: map[string]int{}}
}

func (s *simBackend) info() Info {
	return Info{Name: "simulated", Memory: s.free_, Compute: [2]int{9, 0}, Driver: 13000}
}

func (s *simBackend) memInfo() (int64, int64, error) { return s.free_, s.free_, nil }

func (s *simBackend) alloc(size int64) (buffer, error) {
	if size <= 0 {
		return buffer{}, fmt.Errorf("sim: alloc of %d bytes", size)
	}
	p := s.next
	s.mem[p] = make([]uint64, (size+7)/8)
	s.next += uint64(size+7)/8*8 + 4096
	return buffer{ptr: p, size: size}, nil
}

func (s *simBackend) free(b buffer) error {
	if _, ok := s.mem[b.ptr]; !ok {
		return fmt.Errorf("sim: free of unknown buffer %#x", b.ptr)
	}
	delete(s.mem, b.ptr)
	return nil
}

// bytes returns the memory at device address p, to the end of its buffer.
func (s *simBackend) bytes(p uint64) []byte {
	for base, m := range s.mem {
		end := base + uint64(len(m))*8
		if p >= base && p < end {
			b := unsafe.Slice((*byte)(unsafe.Pointer(&m[0])), len(m)*8)
			return b[p-base:]
		}
	}
	panic(fmt.Sprintf("sim: address %#x is not allocated", p))
}

func (s *simBackend) upload(dst uint64, src unsafe.Pointer, size int64) error {
	d := s.bytes(dst)
	if int64(len(d)) < size {
		return fmt.Errorf("sim: upload of %d bytes overruns its buffer (%d left)", size, len(d))
	}
	copy(d, unsafe.Slice((*byte)(src), size))
	return nil
}

func (s *simBackend) download(dst unsafe.Pointer, src uint64, size int64) error {
	b := s.bytes(src)
	if int64(len(b)) < size {
		return fmt.Errorf("sim: download of %d bytes overruns its buffer (%d left)", size, len(b))
	}
	copy(unsafe.Slice((*byte)(dst), size), b)
	return nil
}

func (s *simBackend) close() error { s.closed = true; return nil }

// view returns n values of type E at device address p (nil for p == 0).
func view[E any](s *simBackend, p uint64, n int) []E {
	if p == 0 {
		return nil
	}
	b := s.bytes(p)
	var zero E
	if uintptr(len(b)) < uintptr(n)*unsafe.Sizeof(zero) {
		panic(fmt.Sprintf("sim: %d values at %#x overrun the buffer", n, p))
	}
	return unsafe.Slice((*E)(unsafe.Pointer(&b[0])), n)
}

func (s *simBackend) launch(kernel string, grid, block [3]int, a ...uint64) error {
	s.launches[kernel]++
	switch kernel {
	case "pcct_dist_f32":
		simDist[float32](s, grid, block, a)
	case "pcct_dist_f64":
		simDist[float64](s, grid, block, a)
	case "pcct_sqnorm_f32":
		simSqnorm[float32](s, grid, block, a)
	case "pcct_sqnorm_f64":
		simSqnorm[float64](s, grid, block, a)
	case "pcct_kth":
		m, n, k := grid[0], int(a[1]), int(a[2])
		d := view[float32](s, a[0], m*n)
		out := view[float32](s, a[3], m)
		for r := range m {
			row := append([]float32(nil), d[r*n:(r+1)*n]...)
			sort.Slice(row, func(i, j int) bool { return row[i] < row[j] })
			out[r] = row[k-1]
		}
	case "pcct_count":
		m, n := grid[0], int(a[1])
		d := view[float32](s, a[0], m*n)
		thr := view[float32](s, a[2], m)
		cnt := view[int64](s, a[3], m)
		for r := range m {
			cnt[r] = 0
			for _, v := range d[r*n : (r+1)*n] {
				if v <= thr[r] {
					cnt[r]++
				}
			}
		}
	case "pcct_fill":
		m, n := grid[0], int(a[1])
		d := view[float32](s, a[0], m*n)
		thr := view[float32](s, a[2], m)
		off := view[int64](s, a[3], m)
		var total int64
		for r := range m {
			for _, v := range d[r*n : (r+1)*n] {
				if v <= thr[r] {
					total++
				}
			}
		}
		ids := view[int32](s, a[4], int(total))
		for r := range m {
			// The GPU writes in no set order: reverse, to show it.
			c := off[r]
			for j := n - 1; j >= 0; j-- {
				if d[r*n+j] <= thr[r] {
					ids[c] = int32(j)
					c++
				}
			}
		}
	case "pcct_rows_dist_f32":
		simRowsDist[float32](s, grid, a)
	case "pcct_rows_dist_f64":
		simRowsDist[float64](s, grid, a)
	default:
		return fmt.Errorf("sim: no kernel %q", kernel)
	}
	return nil
}

// clean32 is the kernels' clean().
func clean32(v float32) float32 {
	if v != v {
		return float32(math.Inf(1))
	}
	if v > 0 {
		return v
	}
	return 0
}

func simDist[T core.Float](s *simBackend, grid, block [3]int, a []uint64) {
	m, n, d, md := int(a[5]), int(a[6]), int(a[7]), mode(a[8])
	if block != [3]int{16, 16, 1} || grid[0] != ceilDiv(n, tile) || grid[1] != ceilDiv(m, tile) {
		panic(fmt.Sprintf("sim: pcct_dist launched with grid %v block %v for %d x %d", grid, block, m, n))
	}
	q := view[T](s, a[0], m*d)
	x := view[T](s, a[1], n*d)
	var qn, xn []T
	if md == modeDot {
		qn, xn = view[T](s, a[2], m), view[T](s, a[3], n)
	}
	out := view[float32](s, a[4], m*n)
	for i := range m {
		for j := range n {
			var acc T
			for k := range d {
				t := q[i*d+k] - x[j*d+k]
				switch md {
				case modeSqEuclid:
					acc += t * t
				case modeManhattan:
					acc += T(math.Abs(float64(t)))
				case modeChebyshev:
					acc = max(acc, T(math.Abs(float64(t))))
				case modeDot:
					acc += q[i*d+k] * x[j*d+k]
				}
			}
			if md == modeDot {
				acc = qn[i] - 2*acc + xn[j]
			}
			out[i*n+j] = clean32(float32(acc))
		}
	}
}

func simSqnorm[T core.Float](s *simBackend, grid, block [3]int, a []uint64) {
	n, d := int(a[2]), int(a[3])
	if grid[0]*block[0] < n {
		panic("sim: pcct_sqnorm grid too small")
	}
	x := view[T](s, a[0], n*d)
	out := view[T](s, a[1], n)
	for i := range n {
		var acc T
		for _, v := range x[i*d : (i+1)*d] {
			acc += v * v
		}
		out[i] = acc
	}
}

func simRowsDist[T core.Float](s *simBackend, grid [3]int, a []uint64) {
	nr, d, md := int(a[2]), int(a[4]), mode(a[5])
	nc := grid[1]
	c := view[T](s, a[3], nc*d)
	var rows []int32
	if a[1] != 0 {
		rows = view[int32](s, a[1], nr)
	}
	out := view[float64](s, a[6], nc*nr)
	pts := s.bytes(a[0])
	var zero T
	x := unsafe.Slice((*T)(unsafe.Pointer(&pts[0])), uintptr(len(pts))/unsafe.Sizeof(zero))
	for j := range nc {
		for i := range nr {
			r := i
			if rows != nil {
				r = int(rows[i])
			}
			var acc T
			for k := range d {
				t := T(math.Abs(float64(x[r*d+k] - c[j*d+k])))
				switch md {
				case modeSqEuclid:
					acc += t * t
				case modeManhattan:
					acc += t
				default:
					acc = max(acc, t)
				}
			}
			if md == modeSqEuclid {
				acc = T(math.Sqrt(float64(acc)))
			}
			out[j*nr+i] = float64(acc)
		}
	}
}
