// emu.h: runs pcct's CUDA kernels (../pcct.cu) on the CPU, compiled as
// C++, to test their logic without a GPU.
//
// Each CUDA thread of a block is a fiber (ucontext) with its own stack, so
// its registers and local arrays are its own; the fibers of a block run on
// one OS thread, one after another, and switch only at __syncthreads().
// __shared__ variables are function-level statics, shared by the fibers
// of the block that runs (blocks run one at a time). A block whose threads
// do not all reach the same __syncthreads() (some return early while
// others wait) is reported as an error, as it is undefined on a GPU.
// Atomics are plain read-modify-writes: fibers never switch inside one.
//
// Warp-level intrinsics are not emulated: pcct.cu uses them only when
// PCCT_EMULATION is not defined (its fallback is a plain atomicAdd).
#ifndef PCCT_EMU_H
#define PCCT_EMU_H

#define PCCT_EMULATION 1

#include <ucontext.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

struct dim3 {
    unsigned int x = 1, y = 1, z = 1;
};

namespace emu {

enum State { RUNNING, AT_BARRIER, DONE };

struct Fiber {
    ucontext_t ctx;
    std::vector<char> stack;
    dim3 tid;
    State state;
};

inline dim3 block_idx, block_dim, grid_dim;
inline Fiber* cur = nullptr;
inline ucontext_t scheduler;
inline std::function<void()> body;
inline long long barriers = 0;

inline void trampoline() {
    body();
    cur->state = DONE;
    swapcontext(&cur->ctx, &scheduler);
}

inline void syncthreads() {
    cur->state = AT_BARRIER;
    swapcontext(&cur->ctx, &scheduler);
}

// launch runs body once per thread of a grid of blocks.
inline void launch(dim3 grid, dim3 block, std::function<void()> fn) {
    body = std::move(fn);
    grid_dim = grid;
    block_dim = block;
    const int nthreads = block.x * block.y * block.z;
    // Fibers and their stacks are kept from one launch to the next.
    static std::vector<Fiber> pool;
    if ((int)pool.size() < nthreads) pool.resize(nthreads);
    std::vector<Fiber*> fibers;
    for (int i = 0; i < nthreads; i++) {
        if (pool[i].stack.empty()) pool[i].stack.resize(64 * 1024);
        fibers.push_back(&pool[i]);
    }
    for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
            for (unsigned bx = 0; bx < grid.x; bx++) {
                block_idx = dim3{bx, by, bz};
                int t = 0;
                for (unsigned z = 0; z < block.z; z++)
                    for (unsigned y = 0; y < block.y; y++)
                        for (unsigned x = 0; x < block.x; x++, t++) {
                            Fiber& f = *fibers[t];
                            f.tid = dim3{x, y, z};
                            f.state = RUNNING;
                            getcontext(&f.ctx);
                            f.ctx.uc_stack.ss_sp = f.stack.data();
                            f.ctx.uc_stack.ss_size = f.stack.size();
                            f.ctx.uc_link = nullptr;
                            makecontext(&f.ctx, trampoline, 0);
                        }
                for (;;) {
                    for (Fiber* f : fibers) {
                        if (f->state != RUNNING) continue;
                        cur = f;
                        swapcontext(&scheduler, &f->ctx);
                    }
                    int at = 0, done = 0;
                    for (Fiber* f : fibers) {
                        at += f->state == AT_BARRIER;
                        done += f->state == DONE;
                    }
                    if (done == nthreads) break;
                    if (at != nthreads) {
                        std::fprintf(stderr,
                                     "emu: block (%u,%u,%u): %d threads wait at __syncthreads() "
                                     "while %d have returned\n",
                                     bx, by, bz, at, done);
                        std::exit(2);
                    }
                    barriers++;
                    for (Fiber* f : fibers) f->state = RUNNING;
                }
            }
    cur = nullptr;
}

}  // namespace emu

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__
#define threadIdx (emu::cur->tid)
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)

inline void __syncthreads() { emu::syncthreads(); }

inline unsigned int atomicAdd(unsigned int* p, unsigned int v) {
    unsigned int old = *p;
    *p = old + v;
    return old;
}

inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    unsigned long long old = *p;
    *p = old + v;
    return old;
}

inline float __int_as_float(int v) {
    float f;
    std::memcpy(&f, &v, sizeof f);
    return f;
}

inline float __uint_as_float(unsigned int v) {
    float f;
    std::memcpy(&f, &v, sizeof f);
    return f;
}

using std::sqrt;

#endif
