// Package gpu is pcct's CUDA backend: exact k-nearest-neighbour and
// radius search by brute force on an NVIDIA GPU, and a core.Engine that
// computes the build's large distance batches there.
//
// The GPU computes every query-point distance of a chunk of queries in
// float32 (or float64 for float64 data), selects each query's k-th
// smallest with a radix select, and gathers the points that may belong to
// the answer: those whose GPU distance is within a proven error bound of
// it (see margin.go). Core then measures these candidates with its own
// kernel (core.Tree.KNearestAmong, WithinAmong), so the answer is the CPU
// search's, bit for bit: same indices, same distances, ties by index.
//
// The kernels are CUDA C (kernels/pcct.cu), compiled to PTX at build time
// and embedded in the library. The CUDA code is behind the build tag cuda
// and uses gorgonia.org/cu; without the tag, Open reports ErrNoCUDA and
// nothing links against the driver. The search logic itself (chunking,
// margins, gathering) does not depend on the tag: the tests run it on a
// simulated device whose kernels are written in Go.
//
// A CUDA context is current on one OS thread: each Device runs its own
// goroutine locked to a thread, and every driver call is made there.
// Devices are safe for concurrent use; searches on one device take turns.
package gpu
