package gpu

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"unsafe"
)

// ErrNoCUDA is returned by Open in a library built without the cuda tag.
var ErrNoCUDA = errors.New("gpu: pcct was built without CUDA (build tag cuda)")

// ErrDevice marks a failure of the device or its driver (as opposed to bad
// arguments): a failed copy, launch or kernel.
var ErrDevice = errors.New("gpu: device error")

// ErrOutOfMemory marks a search or index that does not fit in the device's
// memory.
var ErrOutOfMemory = errors.New("gpu: out of device memory")

// Info describes a device.
type Info struct {
	// Name is the device's name, e.g. "NVIDIA H200".
	Name string
	// Ordinal is the device's number, from 0.
	Ordinal int
	// Memory is the device's memory in bytes.
	Memory int64
	// Compute is the compute capability, major and minor.
	Compute [2]int
	// Driver is the CUDA version the driver supports, as the driver
	// reports it (1000*major + 10*minor, e.g. 13000 for CUDA 13.0).
	Driver int
}

// String returns e.g. "NVIDIA H200 (device 0, compute 9.0, 139.8 GiB, CUDA 13.0 driver)".
func (i Info) String() string {
	return fmt.Sprintf("%s (device %d, compute %d.%d, %.1f GiB, CUDA %d.%d driver)",
		i.Name, i.Ordinal, i.Compute[0], i.Compute[1], float64(i.Memory)/(1<<30), i.Driver/1000, i.Driver%1000/10)
}

// buffer is a span of device memory.
type buffer struct {
	ptr  uint64
	size int64
}

// at returns the device address off bytes into b.
func (b buffer) at(off int64) uint64 { return b.ptr + uint64(off) }

// backend is what a Device drives: the CUDA driver (cuda.go) or, in the
// tests, a simulation whose kernels are written in Go. Every argument of
// launch is 8 bytes: a device address, an int64 or a float64's bits.
type backend interface {
	info() Info
	memInfo() (free, total int64, err error)
	alloc(size int64) (buffer, error)
	free(b buffer) error
	upload(dst uint64, src unsafe.Pointer, size int64) error
	download(dst unsafe.Pointer, src uint64, size int64) error
	launch(kernel string, grid, block [3]int, args ...uint64) error
	close() error
}

// Device is one GPU. Its methods are safe for concurrent use; searches
// take turns on it.
type Device struct {
	be backend
	// mu serialises searches: each holds the device's memory budget
	// while it runs.
	mu sync.Mutex
}

func newDevice(be backend) *Device { return &Device{be: be} }

// Info describes the device.
func (d *Device) Info() Info { return d.be.info() }

// Close releases the device's context. Indexes and engine sets made on it
// must not be used afterwards.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.be.close()
}

// i64 and f64 encode kernel arguments.
func i64(v int) uint64     { return uint64(int64(v)) }
func f64(v float64) uint64 { return math.Float64bits(v) }
func bytesOf[T any](n int) int64 {
	var zero T
	return int64(n) * int64(unsafe.Sizeof(zero))
}

// uploadSlice copies s to device memory at dst.
func uploadSlice[T any](be backend, dst buffer, s []T) error {
	if len(s) == 0 {
		return nil
	}
	return be.upload(dst.ptr, unsafe.Pointer(&s[0]), bytesOf[T](len(s)))
}

// downloadSlice copies len(s) values from device memory at src into s.
func downloadSlice[T any](be backend, s []T, src buffer) error {
	if len(s) == 0 {
		return nil
	}
	return be.download(unsafe.Pointer(&s[0]), src.ptr, bytesOf[T](len(s)))
}

// allocs frees a set of buffers together.
type allocs struct {
	be   backend
	bufs []buffer
	err  error
}

// get allocates size bytes (at least 8), remembering the first error.
func (a *allocs) get(size int64) buffer {
	if a.err != nil {
		return buffer{}
	}
	b, err := a.be.alloc(max(size, 8))
	if err != nil {
		a.err = fmt.Errorf("%w: allocating %d bytes: %w", ErrOutOfMemory, size, err)
		return buffer{}
	}
	a.bufs = append(a.bufs, b)
	return b
}

// release frees every buffer.
func (a *allocs) release() {
	for _, b := range a.bufs {
		a.be.free(b)
	}
	a.bufs = nil
}

// Kernel launch shapes.
const (
	tile        = 64  // queries and points per block of the distance kernel
	rowThreads  = 256 // threads per block of the row kernels
	maxGridY    = 65535
	maxQueryRow = maxGridY * tile // queries per distance launch
)

func ceilDiv(a, b int) int { return (a + b - 1) / b }
