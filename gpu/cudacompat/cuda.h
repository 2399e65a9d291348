/* cuda.h for gorgonia.org/cu v0.9.6 against CUDA 13 headers.
 *
 * CUDA 13's cuda.h maps cuCtxCreate to cuCtxCreate_v4 and gives
 * cuMemAdvise, cuMemPrefetchAsync, cuGraphGetEdges and
 * cuGraphAddDependencies new signatures; gorgonia.org/cu calls them with
 * the old ones, which the driver still exports. This header comes first on
 * the include path (CGO_CFLAGS=-I.../gpu/cudacompat), includes the real
 * cuda.h, and restores the old names and prototypes. With older headers it
 * changes nothing.
 */
#ifndef PCCT_CUDA_COMPAT_H
#define PCCT_CUDA_COMPAT_H

#include_next <cuda.h>

#if defined(CUDA_VERSION) && CUDA_VERSION >= 13000
#ifdef __cplusplus
extern "C" {
#endif

#undef cuCtxCreate
#define cuCtxCreate cuCtxCreate_v2
CUresult CUDAAPI cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev);

#undef cuMemAdvise
CUresult CUDAAPI cuMemAdvise(CUdeviceptr devPtr, size_t count, CUmem_advise advice, CUdevice device);

#undef cuMemPrefetchAsync
CUresult CUDAAPI cuMemPrefetchAsync(CUdeviceptr devPtr, size_t count, CUdevice dstDevice, CUstream hStream);

#undef cuGraphGetEdges
CUresult CUDAAPI cuGraphGetEdges(CUgraph hGraph, CUgraphNode *from, CUgraphNode *to, size_t *numEdges);

#undef cuGraphAddDependencies
CUresult CUDAAPI cuGraphAddDependencies(CUgraph hGraph, const CUgraphNode *from, const CUgraphNode *to, size_t numDependencies);

#ifdef __cplusplus
}
#endif
#endif /* CUDA_VERSION >= 13000 */

#endif /* PCCT_CUDA_COMPAT_H */
