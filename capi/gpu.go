package main

/*
#include <stdint.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/pcct-dev/pcct/core"
	"github.com/pcct-dev/pcct/gpu"
)

// Device codes of the query exports that take one.
const (
	deviceCPU  = 0 // the tree's search on the CPU (the exports without a device)
	deviceCUDA = 1 // brute force on the GPU; an error if there is none
	deviceAuto = 2 // the GPU when there is one and the search is large enough
)

// gpuState is the process's GPU: device 0, opened on first use and kept
// for the life of the process (its context lives on its own locked OS
// thread). In a library built without CUDA it reports gpu.ErrNoCUDA.
type gpuState struct {
	once sync.Once
	dev  *gpu.Device
	err  error
}

var gpus gpuState

func (g *gpuState) device() (*gpu.Device, error) {
	g.once.Do(func() {
		g.dev, g.err = gpu.Open(0)
	})
	return g.dev, g.err
}

// gpuIndex is a tree handle's copy of its points on the GPU, made on the
// first GPU search and freed with the handle.
type gpuIndex struct {
	mu  sync.Mutex
	f32 *gpu.Index[float32]
	f64 *gpu.Index[float64]
}

// release frees the device memory of the handle's index, if any.
func (t *tree) releaseGPU() {
	t.gpu.mu.Lock()
	defer t.gpu.mu.Unlock()
	if t.gpu.f32 != nil {
		t.gpu.f32.Close()
	}
	if t.gpu.f64 != nil {
		t.gpu.f64.Close()
	}
	t.gpu.f32, t.gpu.f64 = nil, nil
}

// gpuSource is an index whose points a GPU searches: a cover tree or a
// brute-force index (its Flat, and its queries prepared for it).
type gpuSource[T core.Float] interface {
	Len() int
	Dim() int
	Flat() *core.Flat[T]
	Queries(b core.Batch[T]) (core.Query[T], error)
	QuerySeconds(k, jobs int) (float64, error)
}

// indexOf returns the GPU index of w's index ct, making it on first use.
func indexOf[T core.Float](w *tree, ct gpuSource[T], dev *gpu.Device) (*gpu.Index[T], error) {
	w.gpu.mu.Lock()
	defer w.gpu.mu.Unlock()
	switch p := any(ct.Flat).(type) {
	case func() *core.Flat[float32]:
		if w.gpu.f32 == nil {
			ix, err := gpu.NewIndex(dev, p())
			if err != nil {
				return nil, err
			}
			w.gpu.f32 = ix
		}
		return any(w.gpu.f32).(*gpu.Index[T]), nil
	case func() *core.Flat[float64]:
		if w.gpu.f64 == nil {
			ix, err := gpu.NewIndex(dev, p())
			if err != nil {
				return nil, err
			}
			w.gpu.f64 = ix
		}
		return any(w.gpu.f64).(*gpu.Index[T]), nil
	}
	return nil, fmt.Errorf("pcct: no GPU index for %T", ct)
}

// onGPU returns the GPU index that answers src's nq queries on w's index ct,
// or nil when the CPU answers them: for deviceCPU, for per-query radii, and
// for deviceAuto when there is no usable GPU, the metric has no GPU kernel,
// or the CPU is expected to answer sooner (gpu.Prefer, with the index's
// cost of a query for k neighbours; radius searches weigh as k = 10). deviceCUDA without a
// usable GPU is an argument error that says why.
func onGPU[T core.Float](w *tree, ct gpuSource[T], src source, nq int64, k int) (*gpu.Index[T], error) {
	if src.radii != nil {
		return nil, nil // per-query radii: the index's own search
	}
	switch src.device {
	case deviceCPU:
		return nil, nil
	case deviceCUDA, deviceAuto:
	default:
		return nil, argErrorf("pcct: unknown device code %d", src.device)
	}
	auto := src.device == deviceAuto
	if auto {
		// Asked only for a search large enough to matter: the device
		// (its first use starts the driver's context) and the index's
		// cost of a query (a tree's first measures a sample).
		cpu := func() (float64, error) {
			if _, err := gpus.device(); err != nil {
				return 0, nil // no usable GPU: the CPU, at any cost
			}
			return ct.QuerySeconds(k, int(src.jobs))
		}
		if ok, err := gpu.Prefer(ct.Len(), int(nq), ct.Dim(), k, int(src.jobs), cpu); err != nil || !ok {
			return nil, err
		}
	}
	dev, err := gpus.device()
	if err != nil {
		if auto {
			return nil, nil
		}
		return nil, argErrorf("device='cuda', but no GPU is usable: %v", err)
	}
	ix, err := indexOf(w, ct, dev)
	if err != nil {
		if auto && (errors.Is(err, gpu.ErrUnsupportedMetric) || errors.Is(err, gpu.ErrOutOfMemory)) {
			return nil, nil
		}
		if errors.Is(err, gpu.ErrUnsupportedMetric) {
			return nil, argErrorf("device='cuda': %v; use device='cpu' or 'auto'", err)
		}
		return nil, err
	}
	return ix, nil
}

// cpuAfter reports whether a GPU search that ended with err should be
// redone on the CPU: under deviceAuto, when the GPU ran out of memory.
func cpuAfter(src source, err error) bool {
	return err != nil && src.device == deviceAuto && errors.Is(err, gpu.ErrOutOfMemory)
}

// gpuError classifies the error of a GPU search: a stop request and bad
// arguments (which the tree words) are the caller's, anything else the
// device's.
func gpuError(err error) error {
	if err == nil || errors.Is(err, core.ErrStopped) {
		return err
	}
	if errors.Is(err, gpu.ErrDevice) {
		return err
	}
	return argError{err}
}

// pcct_gpu_info writes a description of the GPU that device 'cuda' uses
// ("NVIDIA H200 (device 0, compute 9.0, 139.8 GiB, CUDA 13.0 driver)")
// into buf (at most capacity-1 bytes and a NUL), and its full length into
// *length; or, when there is none, fails with an argument error that says
// why (a library built without CUDA, no device, a context that could not
// be made). *built is set to 1 in a library built with CUDA, else 0,
// whatever the outcome.
//
//export pcct_gpu_info
func pcct_gpu_info(buf *C.char, capacity C.int64_t, length *C.int64_t, built *C.int32_t) C.int64_t {
	return guard(func() error {
		if built != nil {
			*built = 0
			if gpu.Built {
				*built = 1
			}
		}
		dev, err := gpus.device()
		if err != nil {
			return argError{err}
		}
		s := dev.Info().String()
		if length != nil {
			*length = C.int64_t(len(s))
		}
		if buf != nil && capacity > 0 {
			dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(capacity))
			n := copy(dst[:len(dst)-1], s)
			dst[n] = 0
		}
		return nil
	})
}

// pcct_kneighbors_on is pcct_kneighbors on a device (0 cpu, 1 cuda, 2
// auto: the GPU where one is usable and the search is large enough). The
// GPU's answers are the CPU's: same indices, same distances. eps >= 0
// allows approximate neighbours on the CPU: the j-th returned is at most
// 1+eps times as far as the true j-th (0 is exact; eps > 0 needs the
// depth-first strategy; the GPU and a brute-force index answer exactly).
//
//export pcct_kneighbors_on
func pcct_kneighbors_on(h C.uintptr_t, device C.int32_t, q unsafe.Pointer, nq, d, k C.int64_t, jobs, strategy C.int32_t, eps C.double, control *C.int64_t, dist unsafe.Pointer, ind *C.int64_t) C.int64_t {
	if q == nil && nq > 0 {
		return status(argErrorf("pcct: null query buffer"))
	}
	return kneighborsExport(h, source{q: q, n: int64(nq), d: int64(d), jobs: jobs, strategy: strategy, eps: float64(eps), control: control, device: device}, k, dist, ind)
}

// pcct_kneighbors_fitted_on is pcct_kneighbors_fitted on a device (see
// pcct_kneighbors_on).
//
//export pcct_kneighbors_fitted_on
func pcct_kneighbors_fitted_on(h C.uintptr_t, device C.int32_t, first, count, k C.int64_t, jobs, strategy C.int32_t, eps C.double, control *C.int64_t, dist unsafe.Pointer, ind *C.int64_t) C.int64_t {
	return kneighborsExport(h, source{first: int64(first), n: int64(count), jobs: jobs, strategy: strategy, eps: float64(eps), control: control, device: device}, k, dist, ind)
}

// pcct_kneighbors_ids_on is pcct_kneighbors_ids on a device (see
// pcct_kneighbors_on).
//
//export pcct_kneighbors_ids_on
func pcct_kneighbors_ids_on(h C.uintptr_t, device C.int32_t, ids *C.int64_t, count, k C.int64_t, jobs, strategy C.int32_t, eps C.double, control *C.int64_t, dist unsafe.Pointer, ind *C.int64_t) C.int64_t {
	if ids == nil && count > 0 {
		return status(argErrorf("pcct: null index buffer"))
	}
	return kneighborsExport(h, source{ids: ids, n: int64(count), jobs: jobs, strategy: strategy, eps: float64(eps), control: control, device: device}, k, dist, ind)
}

// pcct_radius_on is pcct_radius on a device (see pcct_kneighbors_on).
//
//export pcct_radius_on
func pcct_radius_on(h C.uintptr_t, device C.int32_t, q unsafe.Pointer, nq, d C.int64_t, r C.double, sorted, jobs C.int32_t, control *C.int64_t, limit C.int64_t, counts *C.int64_t, result *C.uintptr_t, total *C.int64_t) C.int64_t {
	if q == nil && nq > 0 {
		return status(argErrorf("pcct: null query buffer"))
	}
	return radiusExport(h, source{q: q, n: int64(nq), d: int64(d), jobs: jobs, control: control, limit: int64(limit), device: device}, r, sorted, counts, result, total)
}

// pcct_radius_fitted_on is pcct_radius_fitted on a device (see
// pcct_kneighbors_on).
//
//export pcct_radius_fitted_on
func pcct_radius_fitted_on(h C.uintptr_t, device C.int32_t, first, count C.int64_t, r C.double, sorted, jobs C.int32_t, control *C.int64_t, limit C.int64_t, counts *C.int64_t, result *C.uintptr_t, total *C.int64_t) C.int64_t {
	return radiusExport(h, source{first: int64(first), n: int64(count), jobs: jobs, control: control, limit: int64(limit), device: device}, r, sorted, counts, result, total)
}

// pcct_radius_ids_on is pcct_radius_ids on a device (see
// pcct_kneighbors_on).
//
//export pcct_radius_ids_on
func pcct_radius_ids_on(h C.uintptr_t, device C.int32_t, ids *C.int64_t, count C.int64_t, r C.double, sorted, jobs C.int32_t, control *C.int64_t, limit C.int64_t, counts *C.int64_t, result *C.uintptr_t, total *C.int64_t) C.int64_t {
	if ids == nil && count > 0 {
		return status(argErrorf("pcct: null index buffer"))
	}
	return radiusExport(h, source{ids: ids, n: int64(count), jobs: jobs, control: control, limit: int64(limit), device: device}, r, sorted, counts, result, total)
}
