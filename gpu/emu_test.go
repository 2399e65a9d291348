package gpu

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestKernelsEmulated compiles the CUDA kernels (kernels/pcct.cu) as C++
// with kernels/emu/emu.h, which runs each CUDA thread as a fiber and each
// __syncthreads() as a barrier of its block, and checks every kernel
// against reference computations (kernels/emu/emu_main.cc): the kernels'
// own code, indexing, tiling, barriers and selection, on the CPU. What
// this cannot check (warp intrinsics, the driver's JIT of the PTX, speed)
// is left to the GPU tests.
func TestKernelsEmulated(t *testing.T) {
	cxx := os.Getenv("CXX")
	if cxx == "" {
		for _, c := range []string{"c++", "g++", "clang++"} {
			if p, err := exec.LookPath(c); err == nil {
				cxx = p
				break
			}
		}
	}
	if cxx == "" {
		t.Skip("no C++ compiler (c++, g++ or clang++; or set CXX): the kernels' emulation needs one")
	}
	exe := filepath.Join(t.TempDir(), "emu")
	// -O0: the emulated threads switch stacks inside __syncthreads(), which
	// an optimiser would not expect of the function-level statics that
	// stand for shared memory.
	cmd := exec.Command(cxx, "-std=c++17", "-O0", "-o", exe, filepath.Join("kernels", "emu", "emu_main.cc"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compiling the emulated kernels with %s: %v\n%s", cxx, err, out)
	}
	out, err := exec.Command(exe).CombinedOutput()
	if err != nil {
		t.Fatalf("emulated kernels: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), ", 0 failed,") {
		t.Fatalf("emulated kernels: unexpected report:\n%s", out)
	}
	t.Log(strings.TrimSpace(string(out)))
}
