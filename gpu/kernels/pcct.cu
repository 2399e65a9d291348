// pcct's CUDA kernels: brute-force distances, k-th smallest selection and
// candidate gathering for exact k-NN and radius search, and the batch
// distances of the build engine.
//
// Compiled to PTX at build time (nvcc -ptx, see gpu/build.py) and embedded
// in the Go library; the driver compiles the PTX for the GPU it finds.
// Every kernel parameter is 8 bytes wide (a pointer, long long or double):
// gorgonia.org/cu passes each argument as 8 bytes.
//
// The distances these kernels compute are approximations of core's; the
// host (gpu/margin.go) bounds their error and selects with a margin, and
// core re-ranks every candidate with its own kernel.

// Distance modes: which quantity the distance kernels compute.
#define MODE_SQEUCLID 0  // sum (a-b)^2: Euclidean distance squared (and cosine on unit vectors)
#define MODE_MANHATTAN 1 // sum |a-b|
#define MODE_CHEBYSHEV 2 // max |a-b|
#define MODE_DOT 3       // |q|^2 - 2 q.x + |x|^2: Euclidean squared by the GEMM expansion

#define TILE 64    // queries (and points) per block of the distance kernel
#define KCHUNK 16  // dimensions loaded into shared memory at a time
#define THREADS 256

#ifndef PCCT_EMULATION
#define PCCT_WARP_AGGREGATE 1
#endif

template <typename T>
__device__ __forceinline__ T absdiff(T a, T b) {
    T d = a - b;
    return d < T(0) ? -d : d;
}

// clean turns an accumulated quantity into a stored distance: negative
// (rounding in the GEMM expansion) becomes 0, NaN (inf - inf) becomes +inf.
__device__ __forceinline__ float clean(float v) {
    if (v != v) return __int_as_float(0x7f800000);
    return v > 0.0f ? v : 0.0f;
}

// dist_tile computes D[i*n + j] for queries i of Q (m x d) and points j of
// X (n x d), one 64 x 64 tile per block of 16 x 16 threads, each thread a
// 4 x 4 block of pairs, over chunks of 16 dimensions staged in shared
// memory (qs and xs, KCHUNK x (TILE+1) each). qn and xn are the squared
// norms (MODE_DOT only). D is float32 whatever T: the host's bound
// includes that rounding.
template <typename T, int MODE>
__device__ void dist_tile(const T* __restrict__ Q, const T* __restrict__ X,
                          const T* __restrict__ qn, const T* __restrict__ xn,
                          float* __restrict__ D, long long m, long long n, long long d,
                          T (*qs)[TILE + 1], T (*xs)[TILE + 1]) {
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int tid = ty * 16 + tx;
    const long long q0 = (long long)blockIdx.y * TILE;
    const long long x0 = (long long)blockIdx.x * TILE;
    T acc[4][4];
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) acc[a][b] = T(0);

    for (long long k0 = 0; k0 < d; k0 += KCHUNK) {
        for (int r = 0; r < (TILE * KCHUNK) / THREADS; r++) {
            int e = tid + r * THREADS;
            int row = e / KCHUNK, col = e % KCHUNK;
            long long kk = k0 + col;
            long long qi = q0 + row, xj = x0 + row;
            qs[col][row] = (qi < m && kk < d) ? Q[qi * d + kk] : T(0);
            xs[col][row] = (xj < n && kk < d) ? X[xj * d + kk] : T(0);
        }
        __syncthreads();
        for (int c = 0; c < KCHUNK; c++) {
            T qa[4], xb[4];
            for (int a = 0; a < 4; a++) qa[a] = qs[c][ty + 16 * a];
            for (int b = 0; b < 4; b++) xb[b] = xs[c][tx + 16 * b];
            if (MODE == MODE_SQEUCLID) {
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) {
                        T t = qa[a] - xb[b];
                        acc[a][b] += t * t;
                    }
            } else if (MODE == MODE_MANHATTAN) {
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) acc[a][b] += absdiff(qa[a], xb[b]);
            } else if (MODE == MODE_CHEBYSHEV) {
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) {
                        T t = absdiff(qa[a], xb[b]);
                        acc[a][b] = t > acc[a][b] ? t : acc[a][b];
                    }
            } else {
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) acc[a][b] += qa[a] * xb[b];
            }
        }
        __syncthreads();
    }
    for (int a = 0; a < 4; a++) {
        long long i = q0 + ty + 16 * a;
        if (i >= m) continue;
        for (int b = 0; b < 4; b++) {
            long long j = x0 + tx + 16 * b;
            if (j >= n) continue;
            T v = acc[a][b];
            if (MODE == MODE_DOT) v = qn[i] - T(2) * v + xn[j];
            D[i * n + j] = clean((float)v);
        }
    }
}

// dist dispatches on the mode once, so that each mode's inner loop is
// compiled without branches.
// The tiles in shared memory are declared here, once: declared in each
// instantiation of dist_tile, they would take four times the room.
template <typename T>
__device__ void dist(const T* Q, const T* X, const T* qn, const T* xn, float* D, long long m,
                     long long n, long long d, long long mode) {
    __shared__ T qs[KCHUNK][TILE + 1];
    __shared__ T xs[KCHUNK][TILE + 1];
    switch (mode) {
    case MODE_SQEUCLID:
        dist_tile<T, MODE_SQEUCLID>(Q, X, qn, xn, D, m, n, d, qs, xs);
        break;
    case MODE_MANHATTAN:
        dist_tile<T, MODE_MANHATTAN>(Q, X, qn, xn, D, m, n, d, qs, xs);
        break;
    case MODE_CHEBYSHEV:
        dist_tile<T, MODE_CHEBYSHEV>(Q, X, qn, xn, D, m, n, d, qs, xs);
        break;
    default:
        dist_tile<T, MODE_DOT>(Q, X, qn, xn, D, m, n, d, qs, xs);
    }
}

extern "C" __global__ void pcct_dist_f32(const float* Q, const float* X, const float* qn,
                                         const float* xn, float* D, long long m, long long n,
                                         long long d, long long mode) {
    dist<float>(Q, X, qn, xn, D, m, n, d, mode);
}

extern "C" __global__ void pcct_dist_f64(const double* Q, const double* X, const double* qn,
                                         const double* xn, float* D, long long m, long long n,
                                         long long d, long long mode) {
    dist<double>(Q, X, qn, xn, D, m, n, d, mode);
}

// sqnorm writes out[i] = |X_i|^2 for the n rows of X (n x d), one thread a row.
template <typename T>
__device__ void sqnorm(const T* __restrict__ X, T* __restrict__ out, long long n, long long d) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    T s = T(0);
    for (long long k = 0; k < d; k++) {
        T v = X[i * d + k];
        s += v * v;
    }
    out[i] = s;
}

extern "C" __global__ void pcct_sqnorm_f32(const float* X, float* out, long long n, long long d) {
    sqnorm<float>(X, out, n, d);
}

extern "C" __global__ void pcct_sqnorm_f64(const double* X, double* out, long long n, long long d) {
    sqnorm<double>(X, out, n, d);
}

// pcct_kth writes to out[r] the k-th smallest value (1-based) of row r of
// D (m rows of n non-negative floats; k <= n), one block of 256 threads a
// row. A radix select on the float bits, which order like the values for
// non-negative floats (+inf included): four passes of 8 bits, each a
// histogram of the keys that match the prefix found so far.
extern "C" __global__ void pcct_kth(const float* D, long long n, long long k, float* out) {
    __shared__ unsigned int hist[256];
    __shared__ unsigned int s_prefix, s_mask;
    __shared__ long long s_k;
    const unsigned int* row = (const unsigned int*)(D + (long long)blockIdx.x * n);
    const int tid = threadIdx.x;
    if (tid == 0) {
        s_prefix = 0;
        s_mask = 0;
        s_k = k;
    }
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = tid; b < 256; b += blockDim.x) hist[b] = 0;
        __syncthreads();
        const unsigned int prefix = s_prefix, mask = s_mask;
        // Every thread runs the same number of iterations, so that the
        // warp-wide aggregation below sees full warps.
        for (long long base = 0; base < n; base += blockDim.x) {
            long long j = base + tid;
            unsigned int key = j < n ? row[j] : 0u;
            bool active = j < n && (key & mask) == prefix;
            unsigned int bin = (key >> shift) & 255u;
#ifdef PCCT_WARP_AGGREGATE
            const int lane = tid & 31;
            unsigned int peers = __match_any_sync(0xffffffffu, active ? bin : 256u + lane);
            if (active && lane == __ffs(peers) - 1) atomicAdd(&hist[bin], (unsigned int)__popc(peers));
#else
            if (active) atomicAdd(&hist[bin], 1u);
#endif
        }
        __syncthreads();
        if (tid == 0) {
            unsigned long long cum = 0;
            long long kk = s_k;
            for (int b = 0; b < 256; b++) {
                unsigned long long h = hist[b];
                if ((long long)(cum + h) >= kk) {
                    s_prefix = prefix | ((unsigned int)b << shift);
                    s_mask = mask | (255u << shift);
                    s_k = kk - (long long)cum;
                    break;
                }
                cum += h;
            }
        }
        __syncthreads();
    }
    if (tid == 0) out[blockIdx.x] = __uint_as_float(s_prefix);
}

// pcct_count writes to counts[r] the number of values of row r of D that
// are <= thr[r], one block a row.
extern "C" __global__ void pcct_count(const float* D, long long n, const float* thr, long long* counts) {
    __shared__ unsigned long long total;
    const float* row = D + (long long)blockIdx.x * n;
    const float t = thr[blockIdx.x];
    if (threadIdx.x == 0) total = 0;
    __syncthreads();
    unsigned long long c = 0;
    for (long long j = threadIdx.x; j < n; j += blockDim.x)
        if (row[j] <= t) c++;
    atomicAdd(&total, c);
    __syncthreads();
    if (threadIdx.x == 0) counts[blockIdx.x] = (long long)total;
}

// pcct_fill writes the column of every value of row r of D that is <=
// thr[r] to ids[offsets[r]], ids[offsets[r]+1], ..., in no set order, one
// block a row. offsets comes from pcct_count's counts.
extern "C" __global__ void pcct_fill(const float* D, long long n, const float* thr,
                                     const long long* offsets, int* ids) {
    __shared__ unsigned long long cursor;
    const float* row = D + (long long)blockIdx.x * n;
    const float t = thr[blockIdx.x];
    int* dst = ids + offsets[blockIdx.x];
    if (threadIdx.x == 0) cursor = 0;
    __syncthreads();
    for (long long j = threadIdx.x; j < n; j += blockDim.x)
        if (row[j] <= t) dst[atomicAdd(&cursor, 1ull)] = (int)j;
}

// rows_dist writes out[j*nr + i] = the distance (not squared) between
// point rows[i] of X (d columns; row i when rows is NULL) and centre j of
// C, for the build engine; one thread a pair, blockIdx.y the centre. MODE_SQEUCLID gives the
// Euclidean distance.
template <typename T>
__device__ void rows_dist(const T* __restrict__ X, const int* __restrict__ rows, long long nr,
                          const T* __restrict__ C, long long d, long long mode,
                          double* __restrict__ out) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long j = blockIdx.y;
    if (i >= nr) return;
    const T* x = X + (rows ? (long long)rows[i] : i) * d;
    const T* c = C + j * d;
    T acc = T(0);
    for (long long k = 0; k < d; k++) {
        T t = absdiff(x[k], c[k]);
        if (mode == MODE_SQEUCLID)
            acc += t * t;
        else if (mode == MODE_MANHATTAN)
            acc += t;
        else
            acc = t > acc ? t : acc;
    }
    if (mode == MODE_SQEUCLID) acc = sqrt(acc);
    out[j * nr + i] = (double)acc;
}

extern "C" __global__ void pcct_rows_dist_f32(const float* X, const int* rows, long long nr,
                                              const float* C, long long d, long long mode,
                                              double* out) {
    rows_dist<float>(X, rows, nr, C, d, mode, out);
}

extern "C" __global__ void pcct_rows_dist_f64(const double* X, const int* rows, long long nr,
                                              const double* C, long long d, long long mode,
                                              double* out) {
    rows_dist<double>(X, rows, nr, C, d, mode, out);
}
