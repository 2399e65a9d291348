//go:build cuda

package gpu

import (
	_ "embed"
	"errors"
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// ptx is the kernels, compiled by nvcc at build time (gpu/cudabuild.py).
//
//go:embed kernels/pcct.ptx
var ptx string

// kernelNames lists every kernel the host launches.
var kernelNames = []string{
	"pcct_dist_f32", "pcct_dist_f64", "pcct_sqnorm_f32", "pcct_sqnorm_f64",
	"pcct_kth", "pcct_count", "pcct_fill", "pcct_rows_dist_f32", "pcct_rows_dist_f64",
}

// Built reports whether the package was built with CUDA support.
const Built = true

// Probe returns the number of CUDA devices, or why there are none. The
// driver was initialised when the library was loaded (gorgonia.org/cu's
// init calls cuInit and exits the process if it fails: load a CUDA build
// only where a driver works, as the Python package checks first).
func Probe() (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("gpu: probing devices: %v", r)
		}
	}()
	n, err = cu.NumDevices()
	if err != nil {
		return 0, fmt.Errorf("gpu: counting CUDA devices: %w", err)
	}
	if n == 0 {
		return 0, errors.New("gpu: the CUDA driver reports no device")
	}
	return n, nil
}

// Open creates a context on device ordinal, on its own OS thread, and
// loads the kernels.
func Open(ordinal int) (d *Device, err error) {
	defer func() {
		// cu.NewContext panics when the context cannot be made.
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("gpu: creating a CUDA context on device %d: %v", ordinal, r)
		}
	}()
	n, err := Probe()
	if err != nil {
		return nil, err
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("gpu: no CUDA device %d (the driver reports %d)", ordinal, n)
	}
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return nil, fmt.Errorf("gpu: device %d: %w", ordinal, err)
	}
	be := &cudaBackend{fns: map[string]cu.Function{}}
	be.inf.Ordinal = ordinal
	if be.inf.Name, err = dev.Name(); err != nil {
		return nil, fmt.Errorf("gpu: device %d: %w", ordinal, err)
	}
	if be.inf.Memory, err = dev.TotalMem(); err != nil {
		return nil, fmt.Errorf("gpu: device %d: %w", ordinal, err)
	}
	if be.inf.Compute[0], err = dev.Attribute(cu.ComputeCapabilityMajor); err != nil {
		return nil, fmt.Errorf("gpu: device %d: %w", ordinal, err)
	}
	if be.inf.Compute[1], err = dev.Attribute(cu.ComputeCapabilityMinor); err != nil {
		return nil, fmt.Errorf("gpu: device %d: %w", ordinal, err)
	}
	be.inf.Driver = cu.Version()
	be.ctx = cu.NewContext(dev, cu.SchedBlockingSync)
	err = be.ctx.Do(func() error {
		mod, err := cu.LoadData(ptx)
		if err != nil {
			return fmt.Errorf("gpu: loading the kernels' PTX (built for CUDA 13.0, compute 7.5) on %s: %w", be.inf.Name, err)
		}
		be.mod = mod
		for _, name := range kernelNames {
			fn, err := mod.Function(name)
			if err != nil {
				return fmt.Errorf("gpu: kernel %s: %w", name, err)
			}
			be.fns[name] = fn
		}
		return nil
	})
	if err != nil {
		be.ctx.Close()
		return nil, err
	}
	return newDevice(be), nil
}

// cudaBackend drives one device through gorgonia.org/cu. Every driver
// call runs on the context's locked OS thread (cu.Ctx.Do).
type cudaBackend struct {
	ctx *cu.Ctx
	mod cu.Module
	fns map[string]cu.Function
	inf Info
}

func (b *cudaBackend) info() Info { return b.inf }

// devErr marks a driver call's failure as a device error.
func devErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %s: %v", ErrDevice, op, err)
}

func (b *cudaBackend) memInfo() (free, total int64, err error) {
	err = b.ctx.Do(func() error {
		var e error
		free, total, e = cu.MemInfo()
		return devErr("cuMemGetInfo", e)
	})
	return free, total, err
}

func (b *cudaBackend) alloc(size int64) (buf buffer, err error) {
	err = b.ctx.Do(func() error {
		p, e := cu.MemAlloc(size)
		buf = buffer{ptr: uint64(p), size: size}
		return devErr("cuMemAlloc", e)
	})
	return buf, err
}

func (b *cudaBackend) free(buf buffer) error {
	if buf.ptr == 0 {
		return nil
	}
	return b.ctx.Do(func() error { return devErr("cuMemFree", cu.MemFree(cu.DevicePtr(buf.ptr))) })
}

func (b *cudaBackend) upload(dst uint64, src unsafe.Pointer, size int64) error {
	return b.ctx.Do(func() error { return devErr("cuMemcpyHtoD", cu.MemcpyHtoD(cu.DevicePtr(dst), src, size)) })
}

func (b *cudaBackend) download(dst unsafe.Pointer, src uint64, size int64) error {
	return b.ctx.Do(func() error { return devErr("cuMemcpyDtoH", cu.MemcpyDtoH(dst, cu.DevicePtr(src), size)) })
}

func (b *cudaBackend) launch(kernel string, grid, block [3]int, args ...uint64) error {
	fn, ok := b.fns[kernel]
	if !ok {
		return fmt.Errorf("gpu: no kernel %q", kernel)
	}
	params := make([]unsafe.Pointer, len(args))
	for i := range args {
		params[i] = unsafe.Pointer(&args[i])
	}
	return b.ctx.Do(func() error {
		if err := fn.Launch(grid[0], grid[1], grid[2], block[0], block[1], block[2], 0, cu.Stream{}, params); err != nil {
			return devErr("launching "+kernel, err)
		}
		// Wait, so that a kernel's failure is reported by its launch.
		if err := cu.Synchronize(); err != nil {
			return devErr("running "+kernel, err)
		}
		return nil
	})
}

func (b *cudaBackend) close() error {
	err := b.ctx.Do(func() error { return b.mod.Unload() })
	if cerr := b.ctx.Close(); err == nil {
		err = cerr
	}
	return err
}
